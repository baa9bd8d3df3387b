"""The information network (信息网络) of pillar 1: information-officer teams and their members,
compound party groups with party members placed in buildings, and sentiment meetings
(民情恳谈会) whose items each become a sentiment report with channel `meeting`.

A team member who is not a registered resident is named with a phone; the phone is sealed
under the member's own subject `info-officer-<member id>` (`shared.sealing`) and the events
carry its masked form too. Residents are referred to by `resident_id` only.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from shared.contracts.intake_reports import Place, PlaceRecord, ReportText, ResidentId
from shared.contracts.intake_requests import BuildingName, Command, CompoundName, Name, Note, Phone
from shared.events import DomainEvent, event

# The book's information officers (信息员) are drawn from these.
OFFICER_ROLES: dict[str, tuple[str, str]] = {
    "party_member": ("社区党员", "community party member"),
    "cadre": ("干部", "cadre"),
    "organisation_head": ("辖区单位负责人", "head of a local organisation"),
    "retired_cadre": ("离退休干部", "retired cadre"),
    "property_manager": ("物业管理人员", "property manager"),
}
OfficerRole = Literal[tuple(OFFICER_ROLES)]  # type: ignore[valid-type]
TeamName = Annotated[str, Field(min_length=1, max_length=50)]
MAX_ITEMS = 50
MAX_PARTICIPANTS = 500


def derived_id(community_id: str, kind: str, key: str | None) -> str:
    """The id a retried request (same Idempotency-Key) names again; a fresh one without a key."""
    if key:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:{community_id}:{kind}:{key}"))
    return str(uuid.uuid4())


# -- requests -------------------------------------------------------------------------


class FormInfoOfficerTeam(Command):
    name: TeamName
    """e.g. 幸福楼院信息员小组"""
    compound: CompoundName
    """The 楼院 or 网格 the team covers."""
    leader: Name | None = None
    """The team leader's name (组长)."""


class JoinInfoOfficerTeam(Command):
    """A registered resident (`resident_id`), or a person named with a phone."""

    resident_id: ResidentId | None = None
    name: Name | None = None
    phone: Phone = None
    role: OfficerRole
    joined_on: date
    remarks: Note = None

    @model_validator(mode="after")
    def _resident_or_named_person(self) -> JoinInfoOfficerTeam:
        named = self.name is not None or self.phone is not None
        if (self.resident_id is None) == (not named) or (named and (self.name is None or self.phone is None)):
            raise PydanticCustomError("member_form", "give a resident_id, or a name with a phone")
        return self


class LeaveInfoOfficerTeam(Command):
    left_on: date
    reason: Note = None


class FormPartyGroup(Command):
    compound: CompoundName
    """One party group per compound (楼院党小组)."""
    name: TeamName | None = None


class PlacePartyMember(Command):
    resident_id: ResidentId
    building: BuildingName
    """The building (楼栋) the party member looks after."""
    compound: CompoundName | None = None
    """Must be the group's compound when given."""
    placed_on: date


class Participants(Command):
    resident_ids: Annotated[list[ResidentId], Field(max_length=MAX_PARTICIPANTS)] = []
    names: Annotated[list[Name], Field(max_length=MAX_PARTICIPANTS)] = []
    """Participants who are not registered residents (names only)."""
    count: Annotated[int, Field(ge=1, le=10000)] | None = None
    """Everyone present; at least the residents and names listed (default: their number)."""

    @model_validator(mode="after")
    def _count_covers_those_named(self) -> Participants:
        listed = len(self.resident_ids) + len(self.names)
        if self.count is not None and self.count < listed:
            raise PydanticCustomError("count_below_listed", "is below the {listed} participants listed", {"listed": listed})
        if self.count is None and listed == 0:
            raise PydanticCustomError("no_participants", "name participants or give their count")
        return self


class MeetingItem(Command):
    text: ReportText
    """What was raised, in the residents' words."""
    place: Place
    resident_id: ResidentId | None = None
    """Who raised it, when a registered resident (else the report is anonymous)."""


class HoldSentimentMeeting(Command):
    held_on: date
    place: Annotated[str, Field(min_length=1, max_length=100)]
    """Where it was held, e.g. 社区会议室"""
    participants: Participants
    items: Annotated[list[MeetingItem], Field(min_length=1, max_length=MAX_ITEMS)]
    remarks: Note = None


# -- events -----------------------------------------------------------------------------


@event
class InfoOfficerTeamFormed(DomainEvent):
    event_type = "intake.InfoOfficerTeamFormed"

    team_id: str
    name: str
    compound: str
    leader: str | None = None


@event
class InfoOfficerJoined(DomainEvent):
    """`phone` is sealed (a named person only); `phone_masked` is its masked form."""

    event_type = "intake.InfoOfficerJoined"

    team_id: str
    member_id: str
    role: str
    joined_on: str
    resident_id: str | None = None
    name: str | None = None
    phone: str | None = None
    phone_masked: str | None = None
    remarks: str | None = None


@event
class InfoOfficerLeft(DomainEvent):
    event_type = "intake.InfoOfficerLeft"

    team_id: str
    member_id: str
    left_on: str
    reason: str | None = None


@event
class PartyGroupFormed(DomainEvent):
    event_type = "intake.PartyGroupFormed"

    group_id: str
    compound: str
    name: str


@event
class PartyMemberPlaced(DomainEvent):
    """Placed in a building of the group's compound (党员进楼栋); placing again moves them."""

    event_type = "intake.PartyMemberPlaced"

    group_id: str
    resident_id: str
    building: str
    placed_on: str


class ParticipantsRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    resident_ids: list[str]
    names: list[str]
    count: int


class MeetingItemRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    place: PlaceRecord
    resident_id: str | None = None
    report_id: str
    """The sentiment report this item became (channel `meeting`)."""


@event
class SentimentMeetingHeld(DomainEvent):
    event_type = "intake.SentimentMeetingHeld"

    meeting_id: str
    held_on: str
    place: str
    participants: ParticipantsRecord
    items: list[MeetingItemRecord]
    remarks: str | None = None


TEAM_EVENTS = (InfoOfficerTeamFormed, InfoOfficerJoined, InfoOfficerLeft)
PARTY_GROUP_EVENTS = (PartyGroupFormed, PartyMemberPlaced)
MEETING_EVENTS = (SentimentMeetingHeld,)


def team_stream(team_id: str) -> str:
    return f"info-team-{team_id}"


def party_group_stream(group_id: str) -> str:
    return f"party-group-{group_id}"


def meeting_stream(meeting_id: str) -> str:
    return f"meeting-{meeting_id}"


def officer_subject(member_id: str) -> str:
    """The data subject a named (non-resident) officer's phone is sealed for."""
    return f"info-officer-{member_id}"


def party_group_id(community_id: str, compound: str) -> str:
    """One group per compound: forming it twice names the same group."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:{community_id}:party-group:{compound}"))


def item_report_id(meeting_id: str, index: int) -> str:
    """The report of the meeting's `index`-th item: the same on every retry."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:meeting:{meeting_id}:item:{index}"))


# -- the documents ----------------------------------------------------------------------


def team_document(document: dict[str, Any] | None, envelope: Any) -> dict[str, Any]:
    """The team as a client sees it after `envelope`; members' phones stay sealed here."""
    data, kind = envelope.data, envelope.type
    if kind == InfoOfficerTeamFormed.event_type:
        document = {
            "id": data["team_id"], "community_id": envelope.community_id, "name": data["name"],
            "compound": data["compound"], "leader": data.get("leader"), "members": [],
            "created_at": envelope.occurred_at.isoformat(),
        }
    elif document is None:
        return {}
    elif kind == InfoOfficerJoined.event_type:
        member = {
            "member_id": data["member_id"], "resident_id": data.get("resident_id"), "name": data.get("name"),
            "phone": data.get("phone"), "phone_masked": data.get("phone_masked"), "role": data["role"],
            "role_label": OFFICER_ROLES[data["role"]][0], "joined_on": data["joined_on"], "left_on": None,
            "remarks": data.get("remarks"),
        }
        document = {**document, "members": [*document["members"], member]}
    elif kind == InfoOfficerLeft.event_type:
        members = [
            {**m, "left_on": data["left_on"]} if m["member_id"] == data["member_id"] else m for m in document["members"]
        ]
        document = {**document, "members": members}
    document["member_count"] = sum(1 for m in document["members"] if m["left_on"] is None)
    document["version"] = envelope.version
    document["updated_at"] = envelope.occurred_at.isoformat()
    return document


def party_group_document(document: dict[str, Any] | None, envelope: Any) -> dict[str, Any]:
    data, kind = envelope.data, envelope.type
    if kind == PartyGroupFormed.event_type:
        document = {
            "id": data["group_id"], "community_id": envelope.community_id, "compound": data["compound"],
            "name": data["name"], "members": [], "created_at": envelope.occurred_at.isoformat(),
        }
    elif document is None:
        return {}
    elif kind == PartyMemberPlaced.event_type:
        others = [m for m in document["members"] if m["resident_id"] != data["resident_id"]]
        placed = {"resident_id": data["resident_id"], "building": data["building"], "placed_on": data["placed_on"]}
        document = {**document, "members": [*others, placed]}
    buildings: dict[str, list[str]] = {}
    for member in document["members"]:
        buildings.setdefault(member["building"], []).append(member["resident_id"])
    document["by_building"] = dict(sorted(buildings.items()))
    document["member_count"] = len(document["members"])
    document["version"] = envelope.version
    document["updated_at"] = envelope.occurred_at.isoformat()
    return document


def meeting_document(envelope: Any) -> dict[str, Any]:
    data = envelope.data
    return {
        "id": data["meeting_id"], "community_id": envelope.community_id, "held_on": data["held_on"],
        "place": data["place"], "participants": data["participants"], "items": data["items"],
        "remarks": data.get("remarks"), "version": envelope.version,
        "created_at": envelope.occurred_at.isoformat(), "updated_at": envelope.occurred_at.isoformat(),
    }
