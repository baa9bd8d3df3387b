"""Intake's reaction to mediation: when a case opened from a report closes
(`mediation.DisputeClosed` with its `report_id`), the reporter gets the reply, recorded on
the report through intake's own domain (`domain.reply`): mediation never writes intake's store.

Idempotent: a report that already has its reply (this reaction's, a redelivery's, or one a
worker gave by hand before the case closed) is left as it is, and so is one that is closed
or belongs to no community the event names.
"""

from __future__ import annotations

import logging

from services.intake.domain import reports as domain
from services.intake.handlers.reports import load_report
from shared.contracts.intake_reports import ReplyToReporter, report_stream
from shared.contracts.mediation import DisputeClosed
from shared.events import CommandContext, Envelope
from shared.eventstore import ConcurrencyConflict, EventStore
from shared.reactions import EventsClient, ReactionConsumer, reactions_of

log = logging.getLogger(__name__)

CONSUMER = "intake.reactions"  # as `reactions_of` names it
ACTOR = "service:intake"

REPLIES: dict[str, str] = {
    "resolved": "您反映的矛盾纠纷已由社区人民调解组织调解，双方达成调解协议并已回访履行，现已结案。感谢您的反映。",
    "transferred": "您反映的矛盾纠纷经社区调解未能化解，已移送街道矛盾纠纷大调解工作中心调处，现社区已结案。感谢您的反映。",
    "refused": "您反映的矛盾纠纷，因当事人拒绝调解，社区人民调解已终止（可依法通过其他途径解决），现已结案。感谢您的反映。",
    "resolved_by_street": "您反映的矛盾纠纷已由街道矛盾纠纷大调解工作中心调解，双方达成调解协议并已回访履行，现已结案。感谢您的反映。",
    "street_mediation_failed": "您反映的矛盾纠纷经街道矛盾纠纷大调解工作中心调解未能化解，已告知当事人可依法通过仲裁、行政、司法等途径解决，现已结案。感谢您的反映。",
}
"""What the reporter is told, by the case's outcome."""


def reply_for(data: dict) -> str:
    reply = REPLIES.get(data.get("outcome", ""), "您反映的矛盾纠纷已调解结案。感谢您的反映。")
    if data.get("archive_no"):
        reply += f"（调解卷宗号：{data['archive_no']}）"
    return reply


def replies_to_report(envelope: Envelope) -> bool:
    return envelope.type == DisputeClosed.event_type and bool(envelope.data.get("report_id"))


async def react(store: EventStore, envelope: Envelope) -> None:
    if not replies_to_report(envelope):
        return
    report_id = envelope.data["report_id"]
    context = CommandContext(
        community_id=envelope.community_id,
        actor=ACTOR,
        correlation_id=envelope.correlation_id,
        causation_id=str(envelope.event_id),
    )
    while True:
        state = await load_report(store, report_id)
        if not state.exists or state.community_id != envelope.community_id:
            log.warning("case %s closed for unknown report %s", envelope.data.get("dispute_id"), report_id)
            return
        if state.status != "triaged":  # replied already (by us or by hand), or closed
            return
        events = domain.reply(state, report_id, envelope.community_id, ReplyToReporter(reply=reply_for(envelope.data)))
        try:
            await store.append(report_stream(report_id), state.version, events, context)
        except ConcurrencyConflict:
            continue  # someone acted on the report meanwhile: decide again on what it is now
        log.info("report %s replied: its case %s closed", report_id, envelope.data.get("dispute_id"))
        return


def reactions_consumer(store: EventStore, redis, settings, replica: str) -> tuple[ReactionConsumer, EventsClient]:  # noqa: ANN001
    """The consumer of `fz:{mediation}:events` (group `intake.reactions`)."""
    return reactions_of(
        "intake", "mediation", settings.mediation_url, store, redis, lambda envelope: react(store, envelope), settings, replica
    )
