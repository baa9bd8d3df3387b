"""The information network: officer teams (join, leave), compound party groups (place a
party member in a building) and sentiment meetings (each item a report). Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.intake.domain import DomainError
from shared.contracts.intake_network import (
    FormInfoOfficerTeam,
    FormPartyGroup,
    HoldSentimentMeeting,
    InfoOfficerJoined,
    InfoOfficerLeft,
    InfoOfficerTeamFormed,
    MeetingItemRecord,
    ParticipantsRecord,
    PartyGroupFormed,
    PartyMemberPlaced,
    PlacePartyMember,
    SentimentMeetingHeld,
    meeting_document,
    party_group_document,
    team_document,
)
from shared.events import DomainEvent, Envelope


class NotFound(DomainError):
    code = "not_found"


class AlreadyRecorded(DomainError):
    """The Idempotency-Key (or the compound) already names a record with other content."""

    code = "version_conflict"


class IllegalTransition(DomainError):
    """409: the record is not in a state where this makes sense."""


class NotAResident(DomainError):
    code = "validation_failed"

    def __init__(self, resident_id: str):
        super().__init__(f"本社区没有编号为 {resident_id} 的居民", f"this community has no resident {resident_id}")


@dataclass(frozen=True)
class Record:
    """A team, party group or meeting as replayed from its stream (version 0: none yet)."""

    version: int = 0
    community_id: str | None = None
    first: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.version > 0

    def member(self, member_id: str) -> dict[str, Any] | None:
        return next((m for m in self.document.get("members", []) if m.get("member_id") == member_id), None)


_DOCUMENTS = {
    InfoOfficerTeamFormed.event_type: team_document,
    InfoOfficerJoined.event_type: team_document,
    InfoOfficerLeft.event_type: team_document,
    PartyGroupFormed.event_type: party_group_document,
    PartyMemberPlaced.event_type: party_group_document,
    SentimentMeetingHeld.event_type: lambda _document, envelope: meeting_document(envelope),
}


def evolve(state: Record, envelope: Envelope) -> Record:
    return Record(
        version=envelope.version,
        community_id=envelope.community_id,
        first=state.first or envelope.data,
        document=_DOCUMENTS[envelope.type](state.document or None, envelope),
    )


def replay(envelopes: list[Envelope]) -> Record:
    state = Record()
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def _check_found(state: Record, community_id: str, what_zh: str, what_en: str, record_id: str) -> None:
    if not state.exists or state.community_id != community_id:
        raise NotFound(f"找不到该{what_zh}", f"no such {what_en}: {record_id}")


# -- information-officer teams ------------------------------------------------------------


def form_team(state: Record, team_id: str, community_id: str, command: FormInfoOfficerTeam) -> list[DomainEvent]:
    formed = InfoOfficerTeamFormed(team_id=team_id, **command.model_dump())
    return _new_or_retry(state, community_id, formed)


def join_team(state: Record, team_id: str, community_id: str, joined: InfoOfficerJoined) -> list[DomainEvent]:
    """`joined` names the member; nothing when the same join is retried."""
    _check_found(state, community_id, "信息员小组", "information-officer team", team_id)
    existing = state.member(joined.member_id)
    if existing is not None:
        if _same_member(existing, joined):
            return []
        raise AlreadyRecorded("该成员已登记（Idempotency-Key 已用于另一份内容）", "this member is already recorded")
    for member in state.document["members"]:
        if member["left_on"] is None and _same_person(member, joined):
            raise IllegalTransition(
                f"{member['name'] or member['resident_id']} 已是本组信息员", "this person is already in the team"
            )
    return [joined]


def leave_team(state: Record, team_id: str, community_id: str, member_id: str, left_on: str, reason: str | None) -> list[DomainEvent]:
    _check_found(state, community_id, "信息员小组", "information-officer team", team_id)
    member = state.member(member_id)
    if member is None:
        raise NotFound("本组没有该信息员", f"no such member of the team: {member_id}")
    if member["left_on"] is not None:
        raise IllegalTransition(f"该信息员已于 {member['left_on']} 离组", f"this member already left on {member['left_on']}")
    if left_on < member["joined_on"]:
        raise IllegalTransition(
            f"离组日期早于入组日期 {member['joined_on']}", f"cannot leave before joining on {member['joined_on']}"
        )
    return [InfoOfficerLeft(team_id=team_id, member_id=member_id, left_on=left_on, reason=reason)]


def _same_person(member: dict[str, Any], joined: InfoOfficerJoined) -> bool:
    if joined.resident_id is not None:
        return member["resident_id"] == joined.resident_id
    return member["name"] == joined.name and member["phone_masked"] == joined.phone_masked


def _same_member(member: dict[str, Any], joined: InfoOfficerJoined) -> bool:
    return _same_person(member, joined) and (member["role"], member["joined_on"]) == (joined.role, joined.joined_on)


# -- party groups ---------------------------------------------------------------------


def form_party_group(state: Record, group_id: str, community_id: str, command: FormPartyGroup) -> list[DomainEvent]:
    """One group per compound: forming it again is a no-op (same name) or refused."""
    formed = PartyGroupFormed(group_id=group_id, compound=command.compound, name=command.name or f"{command.compound}党小组")
    if state.exists and state.community_id == community_id and state.first["name"] != formed.name:
        raise IllegalTransition(
            f"{command.compound}已有党小组：{state.first['name']}", f"{command.compound} already has a party group"
        )
    return _new_or_retry(state, community_id, formed)


def place_party_member(state: Record, group_id: str, community_id: str, command: PlacePartyMember) -> list[DomainEvent]:
    _check_found(state, community_id, "党小组", "party group", group_id)
    compound = state.first["compound"]
    if command.compound is not None and command.compound != compound:
        raise IllegalTransition(
            f"{compound}党小组的党员只能进本楼院的楼栋，不能进{command.compound}",
            f"a member of {compound}'s party group is placed in {compound}, not {command.compound}",
        )
    current = next((m for m in state.document["members"] if m["resident_id"] == command.resident_id), None)
    if current is not None and current["building"] == command.building:
        return []
    return [
        PartyMemberPlaced(
            group_id=group_id, resident_id=command.resident_id, building=command.building,
            placed_on=command.placed_on.isoformat(),
        )
    ]


# -- sentiment meetings -------------------------------------------------------------------


def hold_meeting(
    state: Record, meeting_id: str, community_id: str, command: HoldSentimentMeeting, report_ids: list[str]
) -> list[DomainEvent]:
    """The meeting with each item linked to its report; nothing when the same meeting is retried."""
    participants = command.participants
    held = SentimentMeetingHeld(
        meeting_id=meeting_id,
        held_on=command.held_on.isoformat(),
        place=command.place,
        participants=ParticipantsRecord(
            resident_ids=participants.resident_ids, names=participants.names,
            count=participants.count or len(participants.resident_ids) + len(participants.names),
        ),
        items=[
            MeetingItemRecord(text=item.text, place=item.place.model_dump(), resident_id=item.resident_id, report_id=report_id)
            for item, report_id in zip(command.items, report_ids, strict=True)
        ],
        remarks=command.remarks,
    )
    return _new_or_retry(state, community_id, held)


def _new_or_retry(state: Record, community_id: str, first: DomainEvent) -> list[DomainEvent]:
    if not state.exists:
        return [first]
    if state.community_id == community_id and state.first == first.model_dump(mode="json"):
        return []
    raise AlreadyRecorded("该记录已登记（Idempotency-Key 已用于另一份内容）", "already recorded with other content")
