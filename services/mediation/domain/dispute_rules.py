"""The rules of a case's workflow: which action each status allows, who may act (the
community, or the street centre once it took the case over), and why not, in Chinese and
English. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from services.mediation.domain import DomainError
from shared.contracts.mediation_changes import COMMUNITY, STREET


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


class NotYours(DomainError):
    """403: the case is handled by the community, or by the street centre, and not by the caller."""

    code = "forbidden"


class NotOfThisCase(DomainError):
    """A party or clause the case does not have: a bad field, named in the detail."""

    code = "validation_failed"


@dataclass(frozen=True)
class Actor:
    """Who acts: `hat` says for whom (the community's workers and mediators, or a street
    officer for the street centre), `name` how the case records them."""

    hat: Literal["community", "street"]
    name: str


COMMUNITY_ACTOR = Actor(COMMUNITY, "")
"""A community worker or mediator, where the decision records no name."""


class CaseState(Protocol):
    exists: bool
    community_id: str | None
    status: str | None
    handled_by: str
    party_ids: tuple[str, ...]


_BEFORE_AGREEMENT = ("registered", "accepted", "investigating", "in_mediation", "taken_over")
_ALLOWED: dict[str, tuple[str, ...]] = {
    "accept": ("registered",),
    "investigate": ("accepted", "taken_over", "investigating", "in_mediation"),
    "session": ("investigating", "in_mediation"),
    "agreement": ("in_mediation",),
    "follow_up": ("agreed",),
    "transfer": ("accepted", "investigating", "in_mediation"),
    "refuse": _BEFORE_AGREEMENT,
    "close": ("agreed", "transferred", "taken_over", "investigating", "in_mediation"),
    "take_over": ("transferred",),
    "assign_back": ("transferred", "taken_over", "investigating", "in_mediation"),
    "amend": (*_BEFORE_AGREEMENT, "transferred"),
}
_STREET_ONLY = ("take_over", "assign_back")
_STREET_MEDIATING = ("taken_over", "investigating", "in_mediation")
"""Statuses in which the street may close (its mediation failed) or assign the case back,
when it took the case over; the community's own case in them is still under way."""

_TRANSFERRED = ("该纠纷已移送街道调处", "this case was transferred to the street centre")
_ONLY_TRANSFERRED = (
    "只有社区移送街道的纠纷才能由街道接手或交办",
    "the street centre takes over or assigns back only a case the community transferred",
)

# (action, status) → why the action is refused in that status, in Chinese and English.
_WHY_NOT: dict[tuple[str, str], tuple[str, str]] = {
    ("accept", "accepted"): ("该纠纷已受理", "this dispute was already accepted"),
    ("investigate", "registered"): ("须先受理纠纷，再调查收集情况", "a dispute is investigated only after it is accepted"),
    ("investigate", "agreed"): ("已达成调解协议，调查已结束", "an agreement was reached: the investigation is over"),
    ("session", "registered"): ("须先受理纠纷，再正式调解", "a dispute is mediated only after it is accepted"),
    ("session", "accepted"): ("须先调查收集情况，再正式调解", "a mediation session comes after the investigation"),
    ("session", "taken_over"): ("须先调查收集情况，再正式调解", "a mediation session comes after the investigation"),
    ("session", "agreed"): ("已达成调解协议，不再调解", "an agreement was reached: mediation is over"),
    ("agreement", "agreed"): ("已达成调解协议", "an agreement was already reached"),
    ("follow_up", "transferred"): _TRANSFERRED,
    ("transfer", "registered"): ("须先受理纠纷，才能移送", "a dispute is transferred only after it is accepted"),
    ("transfer", "agreed"): (
        "已达成调解协议，应回访督促履行，不能移送（对履行有争议的，当事人可向人民法院起诉）",
        "an agreement was reached: it is followed up, not transferred (a party may sue over its performance, art. 32)",
    ),
    ("transfer", "taken_over"): ("街道已接手该纠纷，不能再移送街道", "the street centre took this case over already"),
    ("refuse", "agreed"): ("调解已达成协议，不能再拒绝调解", "mediation already ended in an agreement"),
    ("close", "registered"): ("纠纷尚未受理，不能结案（当事人拒绝调解的，请登记拒绝）",
                              "a dispute not yet accepted cannot be closed (record a party's refusal instead)"),
    ("amend", "agreed"): ("已达成调解协议，案情和当事人不能再更改", "an agreement was reached: the case's details are settled"),
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
    if action in _STREET_ONLY:
        return _ONLY_TRANSFERRED
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


def check_open(state: CaseState, dispute_id: str, community_id: str, action: str, by: Actor) -> None:
    """The case exists here, is not closed, `by` is who handles it now, and its status
    allows `action`; raises the domain error that says which is not so."""
    if not state.exists or state.community_id != community_id:
        raise DisputeNotFound(dispute_id)
    if state.status == "closed":
        raise IllegalTransition("该纠纷已结案归档，不能再操作", "this case is closed and filed")
    _check_hat(state, action, by)
    if action == "transfer" and state.handled_by == STREET:
        raise IllegalTransition(*_WHY_NOT[("transfer", "taken_over")])
    if state.status not in _ALLOWED[action] or _community_case_still_open(state, action):
        raise IllegalTransition(*_why_not(action, state.status or ""))


def _community_case_still_open(state: CaseState, action: str) -> bool:
    """Closing or assigning back from a mediating status is the street's way out only."""
    return action in ("close", "assign_back") and state.status in _STREET_MEDIATING and state.handled_by != STREET


def _check_hat(state: CaseState, action: str, by: Actor) -> None:
    if action in _STREET_ONLY:
        if by.hat != STREET:
            raise NotYours("只有街道干部可以接手或交办移送街道的纠纷",
                           "only a street officer takes over or assigns back a transferred case")
        return
    if by.hat == state.handled_by:
        return
    if state.handled_by == STREET:
        raise NotYours("该纠纷已由街道接手调处，社区不能再操作", "the street centre took this case over: it acts on it now")
    raise NotYours("该纠纷由社区调处：街道可在社区移送后接手或交办",
                   "the community mediates this case: the street centre may take it over or assign it back once transferred")


def check_party(state: CaseState, party_id: str, what_zh: str, what_en: str) -> None:
    if party_id not in state.party_ids:
        raise NotOfThisCase(
            f"{what_zh}的当事人 {party_id} 不在本案中（本案当事人：{'、'.join(state.party_ids)}）",
            f"{what_en}: {party_id} is not a party of this case (its parties: {', '.join(state.party_ids)})",
        )
