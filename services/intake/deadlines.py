"""Intake's deadlines: triage a report within 24 hours, reply to its reporter within 7 days
(both from the report; per-community policy overrides them, see `shared.deadlines`)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from services.intake.handlers.reports import record_overdue
from shared.contracts.intake_reports import (
    DEADLINE_DEFAULTS,
    REPLY_STEP,
    TRIAGE_STEP,
    ReportClosed,
    ReportReplied,
    ReportReplyOverdue,
    ReportTriaged,
    ReportTriageOverdue,
    SentimentReported,
)
from shared.deadlines import DeadlinePolicy, DeadlineRules, Met, Missed, Opened, OverdueHandler
from shared.events import Envelope
from shared.eventstore import EventStore


def _reported(envelope: Envelope) -> list:
    due = envelope.data
    return [
        Opened(TRIAGE_STEP, datetime.fromisoformat(due["triage_due_at"])),
        Opened(REPLY_STEP, datetime.fromisoformat(due["reply_due_at"])),
    ]


RULES: DeadlineRules = {
    SentimentReported.event_type: _reported,
    ReportTriaged.event_type: lambda _: [Met(TRIAGE_STEP)],
    ReportReplied.event_type: lambda _: [Met(REPLY_STEP)],
    ReportClosed.event_type: lambda _: [Met(TRIAGE_STEP), Met(REPLY_STEP)],
    ReportTriageOverdue.event_type: lambda _: [Missed(TRIAGE_STEP)],
    ReportReplyOverdue.event_type: lambda _: [Missed(REPLY_STEP)],
}


def policy(overrides: dict) -> DeadlinePolicy:
    return DeadlinePolicy(DEADLINE_DEFAULTS, overrides)


def overdue_handlers(store: EventStore) -> dict[str, OverdueHandler]:
    report_overdue = partial(record_overdue, store)
    return {TRIAGE_STEP: report_overdue, REPLY_STEP: report_overdue}
