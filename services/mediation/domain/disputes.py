"""Dispute cases: registered → accepted → investigating → in mediation → agreed (followed up)
→ closed; or transferred to the street centre → closed; a party's refusal closes the case at
once (art. 17). Pure, no I/O.

    registered ──accept──▶ accepted ──investigate──▶ investigating ──session──▶ in_mediation
                                                        (investigate again)      (session, investigate again)
    in_mediation ──agreement──▶ agreed ──follow-up…──▶ close (resolved)
    accepted / investigating / in_mediation ──transfer──▶ transferred ──▶ close (transferred)
    any state before an agreement ──refuse──▶ closed (refused)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.mediation.domain import DomainError
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


class DisputeNotFound(DomainError):
    code = "not_found"

    def __init__(self, dispute_id: str):
        super().__init__("找不到该纠纷", f"no such dispute: {dispute_id}")


class DisputeAlreadyRegistered(DomainError):
    code = "version_conflict"

    def __init__(self, dispute_id: str):
        super().__init__(
            "该纠纷已登记（Idempotency-Key 已用于另一份内容）",
            "this dispute is already registered (the Idempotency-Key was used for other content)",
        )


class IllegalTransition(DomainError):
    """409: the case is not in a state where this action makes sense."""


class NotOfThisCase(DomainError):
    """A party or clause the case does not have: a bad field, named in the detail."""

    code = "validation_failed"


@dataclass
class Dispute:
    """A case as replayed from its stream (version 0: not registered)."""

    version: int = 0
    community_id: str | None = None
    status: str | None = None
    party_ids: tuple[str, ...] = ()
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
}


def evolve(state: Dispute, envelope: Envelope) -> Dispute:
    data, kind = envelope.data, envelope.type
    registered = kind == DisputeRegistered.event_type
    status = "registered" if registered else _STATUS_AFTER.get(kind, state.status)
    if kind == DisputeInvestigated.event_type and state.status == "accepted":
        status = "investigating"
    return Dispute(
        version=envelope.version,
        community_id=envelope.community_id,
        status=status,
        party_ids=tuple(party["party_id"] for party in data["parties"]) if registered else state.party_ids,
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


def accept(state: Dispute, dispute_id: str, community_id: str, command: AcceptDispute) -> list[DomainEvent]:
    _check_open(state, dispute_id, community_id, "accept")
    return [DisputeAccepted(dispute_id=dispute_id, mediators=list(command.mediators), remarks=command.remarks)]


def investigate(
    state: Dispute, dispute_id: str, community_id: str, command: RecordInvestigation
) -> list[DomainEvent]:
    _check_open(state, dispute_id, community_id, "investigate")
    return [
        DisputeInvestigated(
            dispute_id=dispute_id,
            record_no=state.investigations + 1,
            **command.model_dump(),
        )
    ]


def hold_session(state: Dispute, dispute_id: str, community_id: str, command: RecordSession) -> list[DomainEvent]:
    _check_open(state, dispute_id, community_id, "session")
    return [MediationSessionHeld(dispute_id=dispute_id, session_no=state.sessions + 1, **command.model_dump())]


def agree(state: Dispute, dispute_id: str, community_id: str, command: RecordAgreement) -> list[DomainEvent]:
    _check_open(state, dispute_id, community_id, "agreement")
    for number, clause in enumerate(command.clauses, start=1):
        _check_party(state, clause.party_id, f"协议条款第 {number} 条", f"clause {number}")
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


def follow_up(state: Dispute, dispute_id: str, community_id: str, command: RecordFollowUp) -> list[DomainEvent]:
    _check_open(state, dispute_id, community_id, "follow_up")
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


def transfer(state: Dispute, dispute_id: str, community_id: str, command: TransferDispute) -> list[DomainEvent]:
    _check_open(state, dispute_id, community_id, "transfer")
    return [DisputeTransferred(dispute_id=dispute_id, to=STREET_CENTRE, reason=command.reason, remarks=command.remarks)]


def refuse(state: Dispute, dispute_id: str, community_id: str, command: RefuseMediation) -> list[DomainEvent]:
    """A party's explicit refusal: mediation must not go ahead (art. 17), so the case closes."""
    _check_open(state, dispute_id, community_id, "refuse")
    _check_party(state, command.party_id, "拒绝调解的当事人", "the refusing party")
    return [
        MediationRefused(dispute_id=dispute_id, party_id=command.party_id, reason=command.reason),
        DisputeClosed(dispute_id=dispute_id, outcome="refused", report_id=state.registered.get("report_id")),
    ]


def close(state: Dispute, dispute_id: str, community_id: str, command: CloseDispute) -> list[DomainEvent]:
    _check_open(state, dispute_id, community_id, "close")
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
    outcome = "resolved" if state.status == "agreed" else "transferred"
    return [
        DisputeClosed(
            dispute_id=dispute_id,
            outcome=outcome,
            archive_no=command.archive_no,
            remarks=command.remarks,
            report_id=state.registered.get("report_id"),
        )
    ]


# -- the rules of the workflow ------------------------------------------------------------

_ALLOWED: dict[str, tuple[str, ...]] = {
    "accept": ("registered",),
    "investigate": ("accepted", "investigating", "in_mediation"),
    "session": ("investigating", "in_mediation"),
    "agreement": ("in_mediation",),
    "follow_up": ("agreed",),
    "transfer": ("accepted", "investigating", "in_mediation"),
    "refuse": ("registered", "accepted", "investigating", "in_mediation"),
    "close": ("agreed", "transferred"),
}

_TRANSFERRED = ("该纠纷已移送街道调处", "this case was transferred to the street centre")

# (action, status) → why the action is refused in that status, in Chinese and English.
_WHY_NOT: dict[tuple[str, str], tuple[str, str]] = {
    ("accept", "accepted"): ("该纠纷已受理", "this dispute was already accepted"),
    ("investigate", "registered"): ("须先受理纠纷，再调查收集情况", "a dispute is investigated only after it is accepted"),
    ("investigate", "agreed"): ("已达成调解协议，调查已结束", "an agreement was reached: the investigation is over"),
    ("session", "registered"): ("须先受理纠纷，再正式调解", "a dispute is mediated only after it is accepted"),
    ("session", "accepted"): ("须先调查收集情况，再正式调解", "a mediation session comes after the investigation"),
    ("session", "agreed"): ("已达成调解协议，不再调解", "an agreement was reached: mediation is over"),
    ("agreement", "agreed"): ("已达成调解协议", "an agreement was already reached"),
    ("follow_up", "transferred"): _TRANSFERRED,
    ("transfer", "registered"): ("须先受理纠纷，才能移送", "a dispute is transferred only after it is accepted"),
    ("transfer", "agreed"): (
        "已达成调解协议，应回访督促履行，不能移送（对履行有争议的，当事人可向人民法院起诉）",
        "an agreement was reached: it is followed up, not transferred (a party may sue over its performance, art. 32)",
    ),
    ("refuse", "agreed"): ("调解已达成协议，不能再拒绝调解", "mediation already ended in an agreement"),
    ("close", "registered"): ("纠纷尚未受理，不能结案（当事人拒绝调解的，请登记拒绝）",
                              "a dispute not yet accepted cannot be closed (record a party's refusal instead)"),
}
_AGREEMENT_FIRST = ("须至少正式调解一次，才能达成协议", "an agreement needs at least one mediation session")
_FOLLOW_UP_AFTER_AGREEMENT = ("须先达成调解协议，才能回访", "follow-up visits come after an agreement")
_STILL_MEDIATING = (
    "调解尚未结束：达成协议并回访后，或移送街道后，才能结案",
    "mediation is still under way: a case closes after an agreement and its follow-up, or after a transfer",
)


def _why_not(action: str, status: str) -> tuple[str, str]:
    if (action, status) in _WHY_NOT:
        return _WHY_NOT[(action, status)]
    if status == "transferred":
        return _TRANSFERRED
    if action == "accept":
        return _WHY_NOT[("accept", "accepted")]
    if action == "agreement":
        return _AGREEMENT_FIRST
    if action == "follow_up":
        return _FOLLOW_UP_AFTER_AGREEMENT
    if action == "close":
        return _STILL_MEDIATING
    return ("此时不能这样操作", "this action is not allowed in the case's current state")


def _check_open(state: Dispute, dispute_id: str, community_id: str, action: str) -> None:
    if not state.exists or state.community_id != community_id:
        raise DisputeNotFound(dispute_id)
    if state.status == "closed":
        raise IllegalTransition("该纠纷已结案归档，不能再操作", "this case is closed and filed")
    if state.status not in _ALLOWED[action]:
        raise IllegalTransition(*_why_not(action, state.status or ""))


def _check_party(state: Dispute, party_id: str, what_zh: str, what_en: str) -> None:
    if party_id not in state.party_ids:
        raise NotOfThisCase(
            f"{what_zh}的当事人 {party_id} 不在本案中（本案当事人：{'、'.join(state.party_ids)}）",
            f"{what_en}: {party_id} is not a party of this case (its parties: {', '.join(state.party_ids)})",
        )
