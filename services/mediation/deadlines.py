"""Mediation's deadlines (issue 4, item 8, not yet watched): accept within 3 days of
registration, hold the first session within 10 days of acceptance, resolve or transfer
within 30 days, first follow-up within 15 days of an agreement; each clause by its due
date. The steps and their defaults are named here so that per-community policy
(`FIVEZERO_DEADLINE_POLICY`) can already name them; the rules that open and meet them, and
the `…Overdue` events, come with item 8. The events carry what they need: the case's
`occurred_at` times, the agreement's `reached_on` and each clause's `due_on`."""

from __future__ import annotations

from datetime import timedelta

from shared.deadlines import DeadlinePolicy, DeadlineRules, OverdueHandler
from shared.eventstore import EventStore

ACCEPT_STEP = "dispute.accept"
FIRST_SESSION_STEP = "dispute.first_session"
RESOLUTION_STEP = "dispute.resolution"
FIRST_FOLLOW_UP_STEP = "dispute.first_follow_up"

DEADLINE_DEFAULTS: dict[str, timedelta] = {
    ACCEPT_STEP: timedelta(days=3),
    FIRST_SESSION_STEP: timedelta(days=10),
    RESOLUTION_STEP: timedelta(days=30),
    FIRST_FOLLOW_UP_STEP: timedelta(days=15),
}

RULES: DeadlineRules = {}


def policy(overrides: dict) -> DeadlinePolicy:
    return DeadlinePolicy(DEADLINE_DEFAULTS, overrides)


def overdue_handlers(store: EventStore) -> dict[str, OverdueHandler]:
    return {}
