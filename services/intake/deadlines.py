"""Intake's deadlines: triage a report within 24 hours, reply to its reporter within 7 days
(both from the report); revisit a household within a year of its registration or last
visit; contact an elderly resident living alone within 30 days of the label or the last
contact, for as long as the label stands and the record is neither erased nor merged away.
Per-community policy overrides each, see `shared.deadlines`."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from services.intake.handlers.care import record_contact_overdue, record_revisit_overdue
from services.intake.handlers.reports import record_overdue
from shared.contracts.intake import HouseholdRegistered
from shared.contracts.intake_care import (
    CARE_DEADLINE_DEFAULTS,
    CONTACT_STEP,
    REVISIT_STEP,
    ElderlyContactOverdue,
    HouseholdRevisitOverdue,
    HouseholdVisited,
    ResidentContacted,
    contact_due,
    revisit_due,
)
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
from shared.contracts.intake_residents import (
    ResidentErased,
    ResidentLabelCleared,
    ResidentLabelled,
    ResidentMergedInto,
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


def _labelled(envelope: Envelope) -> list:
    return [Opened(CONTACT_STEP, contact_due(envelope))] if envelope.data["label"] == "elderly_alone" else []


def _contacted(envelope: Envelope) -> list:
    due = envelope.data.get("next_contact_due_at")
    return [Opened(CONTACT_STEP, datetime.fromisoformat(due))] if due else []


def _label_cleared(envelope: Envelope) -> list:
    return [Met(CONTACT_STEP)] if envelope.data["label"] == "elderly_alone" else []


RULES: DeadlineRules = {
    SentimentReported.event_type: _reported,
    ReportTriaged.event_type: lambda _: [Met(TRIAGE_STEP)],
    ReportReplied.event_type: lambda _: [Met(REPLY_STEP)],
    ReportClosed.event_type: lambda _: [Met(TRIAGE_STEP), Met(REPLY_STEP)],
    ReportTriageOverdue.event_type: lambda _: [Missed(TRIAGE_STEP)],
    ReportReplyOverdue.event_type: lambda _: [Missed(REPLY_STEP)],
    HouseholdRegistered.event_type: lambda envelope: [Opened(REVISIT_STEP, revisit_due(envelope))],
    HouseholdVisited.event_type: lambda envelope: [
        Opened(REVISIT_STEP, datetime.fromisoformat(envelope.data["next_visit_due_at"]))
    ],
    HouseholdRevisitOverdue.event_type: lambda _: [Missed(REVISIT_STEP)],
    ResidentLabelled.event_type: _labelled,
    ResidentContacted.event_type: _contacted,
    ResidentLabelCleared.event_type: _label_cleared,
    ResidentErased.event_type: lambda _: [Met(CONTACT_STEP)],
    ResidentMergedInto.event_type: lambda _: [Met(CONTACT_STEP)],
    ElderlyContactOverdue.event_type: lambda _: [Missed(CONTACT_STEP)],
}


def policy(overrides: dict) -> DeadlinePolicy:
    return DeadlinePolicy({**DEADLINE_DEFAULTS, **CARE_DEADLINE_DEFAULTS}, overrides)


def overdue_handlers(store: EventStore) -> dict[str, OverdueHandler]:
    report_overdue = partial(record_overdue, store)
    return {
        TRIAGE_STEP: report_overdue,
        REPLY_STEP: report_overdue,
        REVISIT_STEP: partial(record_revisit_overdue, store),
        CONTACT_STEP: partial(record_contact_overdue, store),
    }
