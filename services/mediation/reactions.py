"""Mediation's reaction to intake: a sentiment report triaged as a dispute (`intake.ReportTriaged`
routed to mediation) opens a case, found by proactive screening (主动排查), linked to the report.

The case id is derived from the report id, so a redelivered or replayed event names the same
case, and registering the same case again appends nothing (`domain.register`). The report
carries what was reported and where; the parties are not known yet: the case names them as
to be identified (待查明), with the reporter on side a when a registered resident.
"""

from __future__ import annotations

import logging
import uuid

from services.mediation.handlers.disputes import register_dispute
from shared.contracts.intake_reports import ReportTriaged
from shared.contracts.mediation_requests import Party, RegisterDispute
from shared.eventstore import EventStore
from shared.events import CommandContext, Envelope
from shared.reactions import EventsClient, ReactionConsumer, reactions_of

log = logging.getLogger(__name__)

CONSUMER = "mediation.reactions"  # as `reactions_of` names it
ACTOR = "service:mediation"
SCREENING_CATEGORY = "99"
"""其他纠纷: the mediator learns the real category in the investigation and records it (`…/amend`)."""
UNKNOWN_PARTY = "待查明"


def case_id_for_report(report_id: str) -> str:
    """The one case a report can open: the same for every delivery of its triage."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:dispute-from-report:{report_id}"))


def opens_a_case(envelope: Envelope) -> bool:
    return envelope.type == ReportTriaged.event_type and envelope.data.get("routed_to") == "mediation"


def screening_case(data: dict) -> RegisterDispute:
    """The case a triaged report opens."""
    resident_id = data.get("reporter_resident_id")
    reporter = (
        Party(side="a", resident_id=resident_id, remarks="反映人")
        if resident_id
        else Party(side="a", name=UNKNOWN_PARTY)
    )
    text = data.get("text") or data.get("remarks") or f"民情反映 {data['report_id']}"
    return RegisterDispute(
        source="proactive_screening",
        category=SCREENING_CATEGORY,
        dispute_cause=text[:2000],
        parties=[reporter, Party(side="b", name=UNKNOWN_PARTY)],
        place=data.get("place"),
        report_id=data["report_id"],
        remarks=(data.get("remarks") or None),
    )


async def react(store: EventStore, envelope: Envelope) -> None:
    """Opens the report's case, once; anything else from intake is not mediation's business."""
    if not opens_a_case(envelope):
        return
    context = CommandContext(
        community_id=envelope.community_id,
        actor=ACTOR,
        correlation_id=envelope.correlation_id,
        causation_id=str(envelope.event_id),
    )
    dispute_id = case_id_for_report(envelope.data["report_id"])
    _, opened = await register_dispute(store, dispute_id, screening_case(envelope.data), context)
    if opened:
        log.info("report %s opened case %s", envelope.data["report_id"], dispute_id)


def reactions_consumer(store: EventStore, redis, settings, replica: str) -> tuple[ReactionConsumer, EventsClient]:  # noqa: ANN001
    """The consumer of `fz:{intake}:events` (group `mediation.reactions`)."""
    return reactions_of(
        "mediation", "intake", settings.intake_url, store, redis, lambda envelope: react(store, envelope), settings, replica
    )
