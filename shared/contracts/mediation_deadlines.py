"""Mediation's deadlines (issue 4, items 3 and 8): the steps, their defaults, and the events
mediation publishes when one is missed, met late, or (art. 33) due for a reminder.

Defaults, each overridable per community by `FIVEZERO_DEADLINE_POLICY`:

- `dispute.accept`: accept within 3 days of registration;
- `dispute.first_session`: the first mediation session within 10 days of acceptance;
- `dispute.resolution`: an agreement or a transfer to the street centre within 30 days of
  acceptance (the 2002 rules: "一般在一个月内调结");
- `dispute.first_follow_up`: the first follow-up visit within 15 days of the agreement;
- `dispute.judicial_confirmation_reminder`: 23 days after the agreement took effect, a
  reminder that the parties may ask a court to confirm it until day 30 (art. 33);
- `dispute.clause.{n}`: clause n fulfilled by its own due date (the agreement's, not the
  policy's): overdue from the start of the next day in China.

A miss is a `DisputeDeadlineOverdue` event naming the step (and the clause); meeting the step
later puts a `DisputeDeadlineOverdueResolved` event in the same append as the meeting event.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from shared.contracts.mediation import DisputeTransferred
from shared.contracts.mediation_changes import DisputeAssignedBack
from shared.deadlines import CHINA
from shared.events import DomainEvent, event

ACCEPT_STEP = "dispute.accept"
FIRST_SESSION_STEP = "dispute.first_session"
RESOLUTION_STEP = "dispute.resolution"
FIRST_FOLLOW_UP_STEP = "dispute.first_follow_up"
REMINDER_STEP = "dispute.judicial_confirmation_reminder"
CLAUSE_STEP = "dispute.clause"
MAX_CLAUSES = 20
"""As many clauses as an agreement may have (`RecordAgreement`)."""

DEADLINE_DEFAULTS: dict[str, timedelta] = {
    ACCEPT_STEP: timedelta(days=3),
    FIRST_SESSION_STEP: timedelta(days=10),
    RESOLUTION_STEP: timedelta(days=30),
    FIRST_FOLLOW_UP_STEP: timedelta(days=15),
    REMINDER_STEP: timedelta(days=23),
}

STEP_LABELS: dict[str, tuple[str, str]] = {
    ACCEPT_STEP: ("登记后 3 日内受理", "accept within 3 days of registration"),
    FIRST_SESSION_STEP: ("受理后 10 日内首次调解", "first session within 10 days of acceptance"),
    RESOLUTION_STEP: ("受理后 30 日内调结或移送", "resolve or transfer within 30 days of acceptance"),
    FIRST_FOLLOW_UP_STEP: ("达成协议后 15 日内首次回访", "first follow-up within 15 days of the agreement"),
    CLAUSE_STEP: ("协议条款按期履行", "an agreement clause fulfilled by its due date"),
}


MOOT_AFTER: dict[str, tuple[str, ...]] = {
    DisputeTransferred.event_type: (FIRST_SESSION_STEP,),
    DisputeAssignedBack.event_type: (FIRST_SESSION_STEP, RESOLUTION_STEP),
}
"""The steps an event of a case still open makes moot without meeting them: the community's
first session once it transferred the case; the street's first session and resolution once
it assigned the case back. An overdue of such a step is no longer overdue now, nor resolved."""


def clause_step(clause_no: int) -> str:
    return f"{CLAUSE_STEP}.{clause_no}"


def clause_of(step: str) -> int | None:
    """The clause number of a clause step, else None."""
    prefix = CLAUSE_STEP + "."
    return int(step.removeprefix(prefix)) if step.startswith(prefix) else None


def step_label(step: str, clause_no: int | None = None) -> str:
    if clause_no is not None:
        return f"协议第 {clause_no} 条逾期未履行"
    return STEP_LABELS.get(step, (step, step))[0]


def day_start(day: date) -> datetime:
    """Midnight in China starting `day`."""
    return datetime.combine(day, time(0), tzinfo=CHINA)


def clause_due_at(due_on: date | str) -> datetime:
    """A clause due on a day is overdue from the start of the next day in China."""
    day = date.fromisoformat(due_on) if isinstance(due_on, str) else due_on
    return day_start(day + timedelta(days=1))


@event
class DisputeDeadlineOverdue(DomainEvent):
    """A step of the case went past its deadline unmet."""

    event_type = "mediation.DisputeDeadlineOverdue"

    dispute_id: str
    step: str
    due_at: datetime
    clause_no: int | None = None


@event
class DisputeDeadlineOverdueResolved(DomainEvent):
    """The overdue step was met after all, late (in the same append as the meeting event)."""

    event_type = "mediation.DisputeDeadlineOverdueResolved"

    dispute_id: str
    step: str
    clause_no: int | None = None


@event
class JudicialConfirmationReminded(DomainEvent):
    """The parties may jointly ask a court to confirm the agreement until `confirm_by` (art. 33)."""

    event_type = "mediation.JudicialConfirmationReminded"

    dispute_id: str
    confirm_by: date


DEADLINE_EVENTS = (DisputeDeadlineOverdue, DisputeDeadlineOverdueResolved, JudicialConfirmationReminded)


def overdue_key(data: dict[str, Any]) -> tuple[str, int | None]:
    return data["step"], data.get("clause_no")
