"""Disputes (矛盾纠纷, pillar 2 "zero escalation"): the events mediation publishes on
`fz:{mediation}:events`, the codes they use, who may write them, and the case document
that the service and the gateway's read model both build from them.

The book's workflow (社区矛盾纠纷调解流程图): a dispute comes from one of four sources, is
accepted (受理), investigated (调查收集情况, one or more records), mediated in one or more
sessions (正式调解), and then either ends in an agreement whose clauses are followed up
(回访, 督促履行) until the case is closed and filed (结案，立卷归档), or fails and is
transferred to the street's grand-mediation centre (移送街道大调解工作中心) and closed. A
party's explicit refusal ends mediation at once (People's Mediation Law art. 17).

Events hold plain values and check nothing: the commands and the domain checked them
before they were stored, and replaying history must never fail. Parties are residents of
intake's registry (`resident_id`) where known, or named outsiders. Mediation is free
of charge (art. 4): there is no fee field.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from shared.codelists import code_list
from shared.contracts.mediation_changes import CHANGE_EVENTS, COMMUNITY, changed_document
from shared.contracts.mediation_records import ClauseRecord, PartyRecord, PlaceRecord
from shared.events import DomainEvent, Envelope, event
from shared.identity import COMMUNITY_HEAD, COMMUNITY_WORKER, MEDIATOR, STREET_OFFICER, Identity

# Where a case came from (来源), as the book's flow chart names them.
SOURCES: dict[str, tuple[str, str]] = {
    "party_applied": ("当事人申请", "a party applied"),
    "proactive_screening": ("主动排查", "found by proactive screening"),
    "handed_over_by_group": ("调解小组移交", "handed over by a mediation group"),
    "assigned_by_street_centre": ("街道矛盾纠纷大调解工作中心交办", "assigned by the street's grand-mediation centre"),
}

STATUSES: dict[str, tuple[str, str]] = {
    "registered": ("已登记", "registered"),
    "accepted": ("已受理", "accepted"),
    "investigating": ("调查中", "under investigation"),
    "in_mediation": ("调解中", "in mediation"),
    "agreed": ("已达成协议", "agreement reached"),
    "transferred": ("已移送街道", "transferred to the street centre"),
    "taken_over": ("街道已接手", "taken over by the street centre"),
    "closed": ("已结案归档", "closed and filed"),
}

# How a closed case ended: the scorecard's "resolved locally versus transferred up".
OUTCOMES: dict[str, tuple[str, str]] = {
    "resolved": ("调解成功", "resolved by agreement"),
    "transferred": ("移送街道调处", "transferred to the street centre"),
    "refused": ("当事人拒绝调解", "a party refused mediation"),
    "resolved_by_street": ("街道调处成功", "resolved by agreement at the street centre"),
    "street_mediation_failed": ("街道调解不成", "the street centre's mediation failed"),
}

AGREEMENT_FORMS: dict[str, tuple[str, str]] = {
    "written": ("书面协议", "written agreement"),  # art. 29
    "oral": ("口头协议", "oral agreement"),  # art. 28, 30
}

STREET_CENTRE = "street_centre"
JUDICIAL_CONFIRMATION_WINDOW = timedelta(days=30)
"""Both parties may jointly ask a court to confirm the agreement within 30 days of its
taking effect (art. 33); the case shows the last day."""

MEDIATION_WRITERS = (COMMUNITY_WORKER, COMMUNITY_HEAD, MEDIATOR)


def can_write_disputes(identity: Identity, community_id: str) -> bool:
    """May register and work on the community's disputes: its workers, its head and its
    mediators. Street and district staff oversee; the auditor only reads."""
    return identity.has_role(*MEDIATION_WRITERS) and identity.can_see(community_id)


def can_act_for_street(identity: Identity, community_id: str) -> bool:
    """A street officer of the community's street: takes over or assigns back the cases
    the community transferred, and mediates those it took over."""
    return identity.has_role(STREET_OFFICER) and identity.can_see(community_id)


def can_work_on_disputes(identity: Identity, community_id: str) -> bool:
    """May act on a case at all; the case itself says whether the community or the street
    handles it now (`services.mediation.domain.disputes`)."""
    return can_write_disputes(identity, community_id) or can_act_for_street(identity, community_id)


def category_label(code: str) -> str:
    return code_list("dispute_category")[code].name_zh


def dispute_stream(dispute_id: str) -> str:
    return f"dispute-{dispute_id}"


# -- events -----------------------------------------------------------------------------


@event
class DisputeRegistered(DomainEvent):
    event_type = "mediation.DisputeRegistered"

    dispute_id: str
    source: str
    category: str
    dispute_cause: str
    parties: list[PartyRecord]
    place: PlaceRecord | None = None
    referred_by: str | None = None
    """The mediation group or street centre that handed the case over, by name."""
    report_id: str | None = None
    """The sentiment report (intake) the case came from, when it did."""
    public: bool = False
    """Held in public (art. 23): relatives and neighbours may attend."""
    remarks: str | None = None


@event
class DisputeAccepted(DomainEvent):
    event_type = "mediation.DisputeAccepted"

    dispute_id: str
    mediators: list[str]
    """The mediators designated for the case (art. 19), by name."""
    remarks: str | None = None


@event
class DisputeInvestigated(DomainEvent):
    """One investigation record (调查收集情况)."""

    event_type = "mediation.DisputeInvestigated"

    dispute_id: str
    record_no: int
    investigated_on: date
    investigators: list[str]
    findings: str
    remarks: str | None = None


@event
class MediationSessionHeld(DomainEvent):
    """One formal mediation session (正式调解): the ledger's time, place, mediator,
    participants and how it went."""

    event_type = "mediation.MediationSessionHeld"

    dispute_id: str
    session_no: int
    held_at: datetime
    place: str
    mediators: list[str]
    participants: list[str]
    account: str
    on_site: bool = False
    """Mediated on the spot or at the shop front (现场、门前店面调解)."""
    remarks: str | None = None
    mediator_ids: list[str] = []
    """Roster mediators among `mediators`, by id (`shared.contracts.mediation_rosters`)."""
    unit_ids: list[str] = []
    """Roster units sharing mediation duty that took part, by id."""


@event
class AgreementReached(DomainEvent):
    event_type = "mediation.AgreementReached"

    dispute_id: str
    form: str
    reached_on: date
    """The day it took effect (an oral agreement: the day it was reached, art. 30)."""
    terms: str
    clauses: list[ClauseRecord]
    judicial_confirmation_by: date
    """Last day to ask a court to confirm it (art. 33)."""
    remarks: str | None = None


@event
class AgreementFollowedUp(DomainEvent):
    """A follow-up visit (回访): how the parties are fulfilling the agreement."""

    event_type = "mediation.AgreementFollowedUp"

    dispute_id: str
    follow_up_no: int
    visited_on: date
    visited_by: list[str]
    note: str
    fulfilled_clauses: list[int] = []
    """Clauses found fulfilled at this visit."""
    remarks: str | None = None


@event
class DisputeTransferred(DomainEvent):
    """Mediation failed: the case goes to the street's grand-mediation centre."""

    event_type = "mediation.DisputeTransferred"

    dispute_id: str
    to: str
    reason: str
    remarks: str | None = None


@event
class MediationRefused(DomainEvent):
    """A party explicitly refused mediation (art. 17): it must not go ahead."""

    event_type = "mediation.MediationRefused"

    dispute_id: str
    party_id: str
    reason: str | None = None


@event
class DisputeClosed(DomainEvent):
    """Closed and filed in the archive (结案，立卷归档)."""

    event_type = "mediation.DisputeClosed"

    dispute_id: str
    outcome: str
    archive_no: str | None = None
    remarks: str | None = None
    report_id: str | None = None
    """The sentiment report the case came from: intake replies to its reporter on this event."""


DISPUTE_EVENTS = (
    DisputeRegistered,
    DisputeAccepted,
    DisputeInvestigated,
    MediationSessionHeld,
    AgreementReached,
    AgreementFollowedUp,
    DisputeTransferred,
    MediationRefused,
    DisputeClosed,
    *CHANGE_EVENTS,
)


# -- the document -----------------------------------------------------------------------


def dispute_document(document: dict[str, Any] | None, envelope: Envelope) -> dict[str, Any]:
    """The case as a client sees it, after `envelope` (a dispute event) is applied."""
    data, kind, at = envelope.data, envelope.type, envelope.occurred_at.isoformat()
    if kind == DisputeRegistered.event_type:
        document = {
            "id": data["dispute_id"],
            "community_id": envelope.community_id,
            "source": data["source"],
            "source_label": SOURCES[data["source"]][0],
            "category": data["category"],
            "category_label": category_label(data["category"]),
            "dispute_cause": data["dispute_cause"],
            "parties": data["parties"],
            "place": data.get("place"),
            "referred_by": data.get("referred_by"),
            "report_id": data.get("report_id"),
            "public": data.get("public", False),
            "remarks": data.get("remarks"),
            "status": "registered",
            "handled_by": COMMUNITY,
            "outcome": None,
            "mediators": [],
            "accepted_at": None,
            "investigations": [],
            "sessions": [],
            "agreement": None,
            "follow_ups": [],
            "transfer": None,
            "refusal": None,
            "closed": None,
            "created_at": at,
        }
    elif document is None:
        return {}
    elif kind == DisputeAccepted.event_type:
        document = {**document, "status": "accepted", "mediators": data["mediators"], "accepted_at": at,
                    "accept_remarks": data.get("remarks")}
    elif kind == DisputeInvestigated.event_type:
        document = {**document, "status": _after(document, "investigating"),
                    "investigations": [*document["investigations"], _without_id(data)]}
    elif kind == MediationSessionHeld.event_type:
        document = {**document, "status": "in_mediation", "sessions": [*document["sessions"], _without_id(data)]}
    elif kind == AgreementReached.event_type:
        clauses = [{**clause, "fulfilled_on": None} for clause in data["clauses"]]
        document = {**document, "status": "agreed", "agreement": {**_without_id(data), "clauses": clauses,
                                                                   "fulfilled": False}}
    elif kind == AgreementFollowedUp.event_type:
        fulfilled = set(data.get("fulfilled_clauses", ()))
        clauses = [
            {**clause, "fulfilled_on": clause["fulfilled_on"] or (data["visited_on"] if clause["clause_no"] in fulfilled else None)}
            for clause in document["agreement"]["clauses"]
        ]
        agreement = {**document["agreement"], "clauses": clauses,
                     "fulfilled": all(clause["fulfilled_on"] for clause in clauses)}
        document = {**document, "agreement": agreement, "follow_ups": [*document["follow_ups"], _without_id(data)]}
    elif kind == DisputeTransferred.event_type:
        document = {**document, "status": "transferred", "transfer": {**_without_id(data), "at": at}}
    elif kind == MediationRefused.event_type:
        document = {**document, "refusal": {**_without_id(data), "at": at}}
    elif kind == DisputeClosed.event_type:
        document = {**document, "status": "closed", "outcome": data["outcome"],
                    "closed": {**_without_id(data), "at": at}}
    else:
        changed = changed_document(document, envelope)
        if changed is None:
            return document
        document = changed
        document["source_label"] = SOURCES[document["source"]][0]
        document["category_label"] = category_label(document["category"])
    document["status_label"] = STATUSES[document["status"]][0]
    document["version"] = envelope.version
    document["updated_at"] = at
    return document


def _after(document: dict[str, Any], status: str) -> str:
    """Another investigation record during mediation leaves the case in mediation."""
    return document["status"] if document["status"] == "in_mediation" else status


def _without_id(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "dispute_id"}
