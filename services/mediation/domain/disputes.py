"""Dispute cases: registered → accepted → investigating → in mediation → agreed (followed up)
→ closed; or transferred to the street centre → closed; a party's refusal closes the case at
once (art. 17). Pure, no I/O.

    registered ──accept──▶ accepted ──investigate──▶ investigating ──session──▶ in_mediation
                                                        (investigate again)      (session, investigate again)
    in_mediation ──agreement──▶ agreed ──follow-up…──▶ close (resolved)
    accepted / investigating / in_mediation ──transfer──▶ transferred ──▶ close (transferred)
    any state before an agreement ──refuse──▶ closed (refused)

The street centre (`shared.contracts.mediation_changes`): a street officer takes a
transferred case over (taken_over, then investigated, mediated, agreed and followed up by
the street; closed as resolved_by_street, or as street_mediation_failed with remarks) or
assigns it back to the community (registered again, to be accepted). Whoever does not
handle the case now — the community once the street took it over, the street before —
is refused (403).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.mediation.domain.dispute_rules import (
    COMMUNITY_ACTOR,
    Actor,
    DisputeAlreadyRegistered,
    DisputeNotFound,
    IllegalTransition,
    NotOfThisCase,
    NotYours,
    check_open,
    check_party,
)
from shared.contracts.mediation import (
    JUDICIAL_CONFIRMATION_WINDOW,
    STREET_CENTRE,
    AgreementFollowedUp,
    AgreementReached,
    ClauseRecord,
    DisputeAccepted,
    DisputeClosed,
    DisputeInvestigated,
    DisputeRegistered,
    DisputeTransferred,
    MediationRefused,
    MediationSessionHeld,
    PartyRecord,
    PlaceRecord,
    dispute_document,
)
from shared.contracts.mediation_changes import (
    COMMUNITY,
    STREET,
    DisputeAssignedBack,
    DisputeDetailsAmended,
    DisputeTakenOver,
)
from shared.contracts.mediation_requests import (
    AcceptDispute,
    CloseDispute,
    RecordAgreement,
    RecordFollowUp,
    RecordInvestigation,
    RecordSession,
    RefuseMediation,
    RegisterDispute,
    TransferDispute,
)
from shared.events import DomainEvent, Envelope


@dataclass
class Dispute:
    """A case as replayed from its stream (version 0: not registered)."""

    version: int = 0
    community_id: str | None = None
    status: str | None = None
    handled_by: str = COMMUNITY
    party_ids: tuple[str, ...] = ()
    last_party_no: int = 0
    investigations: int = 0
    sessions: int = 0
    follow_ups: int = 0
    clauses: tuple[int, ...] = ()
    fulfilled: frozenset[int] = frozenset()
    registered: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.version > 0

    @property
    def unfulfilled(self) -> list[int]:
        return [number for number in self.clauses if number not in self.fulfilled]


_STATUS_AFTER = {
    DisputeAccepted.event_type: "accepted",
    MediationSessionHeld.event_type: "in_mediation",
    AgreementReached.event_type: "agreed",
    DisputeTransferred.event_type: "transferred",
    DisputeClosed.event_type: "closed",
    DisputeTakenOver.event_type: "taken_over",
    DisputeAssignedBack.event_type: "registered",
}
_HANDLER_AFTER = {DisputeTakenOver.event_type: STREET, DisputeAssignedBack.event_type: COMMUNITY}


def evolve(state: Dispute, envelope: Envelope) -> Dispute:
    data, kind = envelope.data, envelope.type
    registered = kind == DisputeRegistered.event_type
    status = "registered" if registered else _STATUS_AFTER.get(kind, state.status)
    if kind == DisputeInvestigated.event_type and state.status in ("accepted", "taken_over"):
        status = "investigating"
    parties = data.get("parties") if registered or kind == DisputeDetailsAmended.event_type else None
    party_ids = tuple(party["party_id"] for party in parties) if parties else state.party_ids
    return Dispute(
        version=envelope.version,
        community_id=envelope.community_id,
        status=status,
        handled_by=_HANDLER_AFTER.get(kind, state.handled_by),
        party_ids=party_ids,
        last_party_no=max(state.last_party_no, *(int(party_id[1:]) for party_id in party_ids)) if party_ids else 0,
        investigations=state.investigations + (kind == DisputeInvestigated.event_type),
        sessions=state.sessions + (kind == MediationSessionHeld.event_type),
        follow_ups=state.follow_ups + (kind == AgreementFollowedUp.event_type),
        clauses=(
            tuple(clause["clause_no"] for clause in data["clauses"])
            if kind == AgreementReached.event_type
            else state.clauses
        ),
        fulfilled=(
            state.fulfilled | frozenset(data.get("fulfilled_clauses", ()))
            if kind == AgreementFollowedUp.event_type
            else state.fulfilled
        ),
        registered=data if registered else state.registered,
        document=dispute_document(state.document or None, envelope),
    )


def replay(envelopes: list[Envelope]) -> Dispute:
    state = Dispute()
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


# -- decide -----------------------------------------------------------------------------


def register(state: Dispute, dispute_id: str, community_id: str, command: RegisterDispute) -> list[DomainEvent]:
    """A new case; nothing when the same registration is retried (same Idempotency-Key)."""
    registered = DisputeRegistered(
        dispute_id=dispute_id,
        source=command.source,
        category=command.category,
        dispute_cause=command.dispute_cause,
        parties=[
            PartyRecord(party_id=f"p{number}", **party.model_dump())
            for number, party in enumerate(command.parties, start=1)
        ],
        place=PlaceRecord.model_validate(command.place.model_dump()) if command.place else None,
        referred_by=command.referred_by,
        report_id=command.report_id,
        public=command.public,
        remarks=command.remarks,
    )
    if not state.exists:
        return [registered]
    if state.community_id == community_id and state.registered == registered.model_dump(mode="json"):
        return []
    raise DisputeAlreadyRegistered(dispute_id)


def accept(
    state: Dispute, dispute_id: str, community_id: str, command: AcceptDispute, by: Actor = COMMUNITY_ACTOR
) -> list[DomainEvent]:
    check_open(state, dispute_id, community_id, "accept", by)
    return [DisputeAccepted(dispute_id=dispute_id, mediators=list(command.mediators), remarks=command.remarks)]


def investigate(
    state: Dispute, dispute_id: str, community_id: str, command: RecordInvestigation, by: Actor = COMMUNITY_ACTOR
) -> list[DomainEvent]:
    check_open(state, dispute_id, community_id, "investigate", by)
    return [
        DisputeInvestigated(
            dispute_id=dispute_id,
            record_no=state.investigations + 1,
            **command.model_dump(),
        )
    ]


def hold_session(
    state: Dispute, dispute_id: str, community_id: str, command: RecordSession, by: Actor = COMMUNITY_ACTOR
) -> list[DomainEvent]:
    check_open(state, dispute_id, community_id, "session", by)
    return [MediationSessionHeld(dispute_id=dispute_id, session_no=state.sessions + 1, **command.model_dump())]


def agree(
    state: Dispute, dispute_id: str, community_id: str, command: RecordAgreement, by: Actor = COMMUNITY_ACTOR
) -> list[DomainEvent]:
    check_open(state, dispute_id, community_id, "agreement", by)
    for number, clause in enumerate(command.clauses, start=1):
        check_party(state, clause.party_id, f"协议条款第 {number} 条", f"clause {number}")
        if clause.due_on < command.reached_on:
            raise NotOfThisCase(
                f"协议条款第 {number} 条的履行期限早于协议生效日期",
                f"clause {number} is due before the agreement took effect",
            )
    return [
        AgreementReached(
            dispute_id=dispute_id,
            form=command.form,
            reached_on=command.reached_on,
            terms=command.terms,
            clauses=[
                ClauseRecord(clause_no=number, **clause.model_dump())
                for number, clause in enumerate(command.clauses, start=1)
            ],
            judicial_confirmation_by=command.reached_on + JUDICIAL_CONFIRMATION_WINDOW,
            remarks=command.remarks,
        )
    ]


def follow_up(
    state: Dispute, dispute_id: str, community_id: str, command: RecordFollowUp, by: Actor = COMMUNITY_ACTOR
) -> list[DomainEvent]:
    check_open(state, dispute_id, community_id, "follow_up", by)
    unknown = [number for number in command.fulfilled_clauses if number not in state.clauses]
    if unknown:
        listed = "、".join(str(number) for number in unknown)
        raise NotOfThisCase(f"协议没有第 {listed} 条", f"the agreement has no clause {', '.join(map(str, unknown))}")
    return [
        AgreementFollowedUp(
            dispute_id=dispute_id,
            follow_up_no=state.follow_ups + 1,
            visited_on=command.visited_on,
            visited_by=list(command.visited_by),
            note=command.note,
            fulfilled_clauses=sorted(set(command.fulfilled_clauses)),
            remarks=command.remarks,
        )
    ]


def transfer(
    state: Dispute, dispute_id: str, community_id: str, command: TransferDispute, by: Actor = COMMUNITY_ACTOR
) -> list[DomainEvent]:
    check_open(state, dispute_id, community_id, "transfer", by)
    return [DisputeTransferred(dispute_id=dispute_id, to=STREET_CENTRE, reason=command.reason, remarks=command.remarks)]


def refuse(
    state: Dispute, dispute_id: str, community_id: str, command: RefuseMediation, by: Actor = COMMUNITY_ACTOR
) -> list[DomainEvent]:
    """A party's explicit refusal: mediation must not go ahead (art. 17), so the case closes."""
    check_open(state, dispute_id, community_id, "refuse", by)
    check_party(state, command.party_id, "拒绝调解的当事人", "the refusing party")
    return [
        MediationRefused(dispute_id=dispute_id, party_id=command.party_id, reason=command.reason),
        DisputeClosed(dispute_id=dispute_id, outcome="refused", report_id=state.registered.get("report_id")),
    ]


def close(
    state: Dispute, dispute_id: str, community_id: str, command: CloseDispute, by: Actor = COMMUNITY_ACTOR
) -> list[DomainEvent]:
    check_open(state, dispute_id, community_id, "close", by)
    if state.status == "agreed":
        if state.follow_ups == 0:
            raise IllegalTransition(
                "须至少回访一次、督促履行协议，才能结案",
                "a case with an agreement closes only after a follow-up visit",
            )
        if state.unfulfilled and not command.remarks:
            listed = "、".join(map(str, state.unfulfilled))
            raise IllegalTransition(
                f"协议第 {listed} 条尚未履行：结案须在备注中说明原因（如已告知当事人可向人民法院起诉）",
                f"clause {', '.join(map(str, state.unfulfilled))} is not fulfilled yet: say why in the remarks"
                " to close (a party may sue over it, art. 32)",
            )
    if state.handled_by == STREET and state.status != "agreed" and not command.remarks:
        raise IllegalTransition(
            "街道调解不成而结案的，须在备注中说明（如已告知当事人可依法通过仲裁、行政、司法等途径维护权利）",
            "a case the street centre could not resolve closes with remarks saying so"
            " (e.g. the parties were told of arbitration, administrative or judicial remedies, art. 26)",
        )
    outcome = _OUTCOMES[(state.handled_by, state.status == "agreed")]
    return [
        DisputeClosed(
            dispute_id=dispute_id,
            outcome=outcome,
            archive_no=command.archive_no,
            remarks=command.remarks,
            report_id=state.registered.get("report_id"),
        )
    ]


_OUTCOMES = {
    (COMMUNITY, True): "resolved",
    (COMMUNITY, False): "transferred",
    (STREET, True): "resolved_by_street",
    (STREET, False): "street_mediation_failed",
}

__all__ = [
    "Actor", "COMMUNITY_ACTOR", "Dispute", "DisputeAlreadyRegistered", "DisputeNotFound", "IllegalTransition",
    "NotOfThisCase", "NotYours", "evolve", "replay",
]
