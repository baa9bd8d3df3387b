"""Mediation's deadlines (issue 4, items 3 and 8): accept within 3 days of registration,
hold the first session within 10 days of acceptance, resolve or transfer within 30 days of
acceptance, first follow-up within 15 days of an agreement, each clause by its due date,
and the art. 33 reminder; the steps and defaults are in `shared.contracts.mediation_deadlines`.

Unlike intake's events, the case's events do not carry the due times: the rules compute
them from the event's `occurred_at` (or the agreement's `reached_on`, a clause's `due_on`)
and the policy the worker was started with. The table keeps the due time it first computed
(an event applied again changes nothing), so a later change of policy moves only the
deadlines opened after it, and those of a table rebuilt from scratch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import partial

from services.mediation.domain import deadlines as judge
from services.mediation.domain import disputes as domain
from shared.contracts.mediation import (
    AgreementReached,
    DisputeAccepted,
    DisputeRegistered,
    dispute_stream,
)
from shared.contracts.mediation_changes import DisputeAssignedBack, DisputeTakenOver
from shared.contracts.mediation_deadlines import (
    ACCEPT_STEP,
    CLAUSE_STEP,
    DEADLINE_DEFAULTS,
    FIRST_FOLLOW_UP_STEP,
    FIRST_SESSION_STEP,
    REMINDER_STEP,
    RESOLUTION_STEP,
    DisputeDeadlineOverdue,
    JudicialConfirmationReminded,
    clause_due_at,
    clause_of,
    clause_step,
    day_start,
)
from shared.contracts.mediation import DISPUTE_EVENTS
from shared.deadlines import (
    DeadlineChange,
    DeadlinePolicy,
    DeadlineRules,
    DueDeadline,
    Met,
    Missed,
    Opened,
    OverdueHandler,
)
from shared.events import CommandContext, Envelope
from shared.eventstore import EventStore

SCHEDULER = "scheduler:mediation"

__all__ = [
    "ACCEPT_STEP",
    "FIRST_SESSION_STEP",
    "RESOLUTION_STEP",
    "FIRST_FOLLOW_UP_STEP",
    "REMINDER_STEP",
    "DEADLINE_DEFAULTS",
    "policy",
    "rules",
    "overdue_handlers",
]


def policy(overrides: dict) -> DeadlinePolicy:
    return DeadlinePolicy(DEADLINE_DEFAULTS, overrides)


def rules(deadline_policy: DeadlinePolicy) -> DeadlineRules:
    """What each event of a case opens, meets or marks overdue under `deadline_policy`."""

    def due(envelope: Envelope, step: str, start: datetime | None = None) -> Opened:
        return Opened(step, deadline_policy.due(envelope.community_id, step, start or envelope.occurred_at))

    def meets(envelope: Envelope) -> list[DeadlineChange]:
        return [Met(step) for step in (*judge.steps_met(envelope.type, envelope.data),
                                       *judge.steps_ended(envelope.type, envelope.data))]

    def registered(envelope: Envelope) -> list[DeadlineChange]:
        return [due(envelope, ACCEPT_STEP)]

    def accepted(envelope: Envelope) -> list[DeadlineChange]:
        """Also a street officer's take-over: the street's mediation runs to the same clock."""
        return [*meets(envelope), due(envelope, FIRST_SESSION_STEP), due(envelope, RESOLUTION_STEP)]

    def assigned_back(envelope: Envelope) -> list[DeadlineChange]:
        return [*meets(envelope), due(envelope, ACCEPT_STEP)]

    def agreed(envelope: Envelope) -> list[DeadlineChange]:
        took_effect = day_start(date.fromisoformat(envelope.data["reached_on"]))
        return [
            *meets(envelope),
            due(envelope, FIRST_FOLLOW_UP_STEP),
            due(envelope, REMINDER_STEP, took_effect),
            *(Opened(clause_step(clause["clause_no"]), clause_due_at(clause["due_on"]))
              for clause in envelope.data["clauses"]),
        ]

    def overdue(envelope: Envelope) -> list[DeadlineChange]:
        return [Missed(envelope.data["step"])]

    table: dict[str, Callable[[Envelope], list[DeadlineChange]]] = {
        event_class.event_type: meets for event_class in DISPUTE_EVENTS
    }
    table.update({
        DisputeRegistered.event_type: registered,
        DisputeAccepted.event_type: accepted,
        DisputeTakenOver.event_type: accepted,
        DisputeAssignedBack.event_type: assigned_back,
        AgreementReached.event_type: agreed,
        DisputeDeadlineOverdue.event_type: overdue,
        JudicialConfirmationReminded.event_type: lambda _: [Missed(REMINDER_STEP)],
    })
    return table


RULES: DeadlineRules = rules(policy({}))
"""The rules under the defaults alone."""


async def record_overdue(store: EventStore, deadline: DueDeadline, now: datetime) -> None:
    """The scheduler's handler: the case decides, the version guard keeps it to one writer."""
    dispute_id = deadline.stream_id.removeprefix(dispute_stream(""))
    history = await store.load(deadline.stream_id)
    state = domain.replay(history)
    events = judge.overdue(state, history, dispute_id, deadline.step, deadline.due_at, now)
    if events:
        await store.append(
            deadline.stream_id, state.version, events, CommandContext.new(deadline.community_id, SCHEDULER)
        )


class _Handlers(dict):
    """Every step to its handler; the clause steps (`dispute.clause.{n}`) share one."""

    def __missing__(self, step: str) -> OverdueHandler:
        if clause_of(step) is not None:
            return self[CLAUSE_STEP]
        raise KeyError(step)


def overdue_handlers(store: EventStore) -> dict[str, OverdueHandler]:
    handler = partial(record_overdue, store)
    return _Handlers({step: handler for step in (*DEADLINE_DEFAULTS, CLAUSE_STEP)})
