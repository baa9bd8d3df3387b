"""Sentiment reports: report, triage, reply, close, link, read; and the scheduler's overdue."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from services.intake.domain import reports as domain
from services.intake.handlers import VersionMismatch
from shared.contracts.intake_reports import (
    REPLY_STEP,
    TRIAGE_STEP,
    ReportSentiment,
    Reporter,
    ReporterRecord,
    report_stream,
    reporter_subject,
)
from shared.deadlines import Clock, DeadlinePolicy, DueDeadline
from shared.events import CommandContext, DomainEvent
from shared.eventstore import ConcurrencyConflict, EventStore
from shared.masking import mask_phone
from shared.sealing import Sealer

SCHEDULER = "scheduler:intake"


def new_report_id(community_id: str, idempotency_key: str | None) -> str:
    """A retried request with the same Idempotency-Key names the same report."""
    if idempotency_key:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:{community_id}:report:{idempotency_key}"))
    return str(uuid.uuid4())


async def report_sentiment(
    store: EventStore,
    sealer: Sealer,
    policy: DeadlinePolicy,
    clock: Clock,
    report_id: str,
    command: ReportSentiment,
    context: CommandContext,
) -> tuple[domain.Report, bool]:
    """The report, and whether this call recorded it (False: a retry of the same request)."""
    stream, community_id, now = report_stream(report_id), context.community_id, clock.now()
    state = domain.replay(await store.load(stream))
    reporter = await sealed_reporter(sealer, report_id, command.reporter)
    due = {step: policy.due(community_id, step, now) for step in (TRIAGE_STEP, REPLY_STEP)}
    events = domain.report(state, report_id, community_id, command, reporter, due[TRIAGE_STEP], due[REPLY_STEP])
    try:
        appended = await store.append(stream, state.version, events, context)
    except ConcurrencyConflict:
        return await report_sentiment(store, sealer, policy, clock, report_id, command, context)
    return _after(state, appended), bool(appended)


Decision = Callable[[domain.Report], list[DomainEvent]]


async def act(
    store: EventStore, report_id: str, expected_version: int, decide: Decision, context: CommandContext
) -> domain.Report:
    """An action on a report at `expected_version` (the caller's If-Match)."""
    stream = report_stream(report_id)
    state = domain.replay(await store.load(stream))
    events = decide(state)
    if state.version != expected_version:
        raise VersionMismatch(state.version)
    try:
        appended = await store.append(stream, state.version, events, context)
    except ConcurrencyConflict as conflict:
        raise VersionMismatch(await store.stream_version(stream)) from conflict
    return _after(state, appended)


async def load_report(store: EventStore, report_id: str) -> domain.Report:
    return domain.replay(await store.load(report_stream(report_id)))


async def get_report(store: EventStore, report_id: str, community_id: str) -> domain.Report:
    state = await load_report(store, report_id)
    if not state.exists or state.community_id != community_id:
        raise domain.ReportNotFound(report_id)
    return state


async def record_overdue(store: EventStore, deadline: DueDeadline, now: datetime) -> None:
    """The scheduler's handler: the aggregate decides, the version guard keeps it to one writer."""
    report_id = deadline.stream_id.removeprefix(report_stream(""))
    state = await load_report(store, report_id)
    events = domain.overdue(state, report_id, deadline.step, now)
    await store.append(deadline.stream_id, state.version, events, CommandContext.new(deadline.community_id, SCHEDULER))


async def sealed_reporter(sealer: Sealer, report_id: str, reporter: Reporter | None) -> ReporterRecord:
    """A non-resident's name and phone sealed for the report's reporter, with masked copies."""
    if reporter is None:
        return ReporterRecord(kind="anonymous")
    if reporter.resident_id is not None:
        return ReporterRecord(kind="resident", resident_id=reporter.resident_id)
    assert reporter.name is not None and reporter.phone is not None  # the command checked it
    subject = reporter_subject(report_id)
    return ReporterRecord(
        kind="person",
        name=await sealer.seal(subject, "name", reporter.name),
        phone=await sealer.seal(subject, "phone", reporter.phone),
        name_masked=reporter.name[0] + "*" * (len(reporter.name) - 1),
        phone_masked=mask_phone(reporter.phone),
    )


async def unsealed_reporter(sealer: Sealer, state: domain.Report) -> dict[str, str | None]:
    """The reporter whole (None for each value once the reporter was erased)."""
    reporter = state.reported["reporter"]
    if reporter["kind"] != "person":
        return {"kind": reporter["kind"], "resident_id": reporter.get("resident_id"), "name": None, "phone": None}
    name, phone = await sealer.unseal_many([(reporter["name"], "name"), (reporter["phone"], "phone")])
    return {"kind": "person", "resident_id": None, "name": name, "phone": phone}


def _after(state: domain.Report, appended: list) -> domain.Report:
    for envelope in appended:
        state = domain.evolve(state, envelope)
    return state
