"""Deadlines on SQLite and PostgreSQL alike, with a clock the test moves: a 24-hour triage
deadline passes in milliseconds; the overdue event is emitted once, whether the scheduler
restarts, runs twice at once, or the step is met late."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.intake import deadlines as intake_deadlines
from services.intake.domain import reports as domain
from services.intake.handlers import reports as handlers
from shared.contracts.intake_reports import TRIAGE_STEP, ReportSentiment, TriageReport, report_stream
from shared.deadlines import DeadlineScheduler, DeadlineTracker, ManualClock, deadlines
from shared.events import CommandContext
from shared.sealing import Sealer
from tests.support.kernel import SECRET, PatientScheduler, close_store, open_store, until_all_visible

MIANZHOU = "c-mianzhou"
MONDAY_9AM = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LEAK = ReportSentiment.model_validate(
    {"channel": "qq_group", "text": "楼上漏水，邻居不理", "place": {"compound": "幸福楼院", "building": "3栋"},
     "reporter": {"name": "王秀英", "phone": "138 1234 5678"}}
)


@pytest.fixture
async def store(database_url):
    store = await open_store(database_url)
    yield store
    await close_store(store)


@pytest.fixture
def clock():
    return ManualClock(MONDAY_9AM)


def a_scheduler(store, clock) -> DeadlineScheduler:
    """A scheduler as a (re)started worker builds it: nothing in memory but its settings."""
    return PatientScheduler(DeadlineTracker(store, intake_deadlines.RULES), clock, intake_deadlines.overdue_handlers(store))


async def report_leak(store, clock, policy_overrides=None, report_id="r-leak") -> str:
    sealer = Sealer(store.engine, SECRET, "intake")
    await sealer.setup()
    await DeadlineTracker(store, intake_deadlines.RULES).setup()
    await handlers.report_sentiment(
        store, sealer, intake_deadlines.policy(policy_overrides or {}), clock, report_id, LEAK,
        CommandContext.new(MIANZHOU, "u-limin"),
    )
    await until_all_visible(store)
    return report_id


async def event_types(store, report_id="r-leak") -> list[str]:
    return [envelope.type.removeprefix("intake.") for envelope in await store.load(report_stream(report_id))]


async def test_a_24_hour_triage_deadline_passes_in_milliseconds_and_emits_overdue_once(store, clock):
    await report_leak(store, clock)
    scheduler = a_scheduler(store, clock)
    clock.advance(timedelta(hours=23, minutes=59))
    await scheduler.run_once()
    assert await event_types(store) == ["SentimentReported"]

    clock.advance(timedelta(minutes=1))
    await scheduler.run_once()
    await scheduler.run_once()
    assert await event_types(store) == ["SentimentReported", "ReportTriageOverdue"]


async def test_a_restarted_scheduler_emits_what_fell_due_while_it_was_down_and_repeats_nothing(store, clock):
    await report_leak(store, clock)
    await a_scheduler(store, clock).run_once()  # ran, then the worker stopped
    clock.advance(timedelta(days=2))  # the triage deadline passed while no scheduler ran

    await a_scheduler(store, clock).run_once()
    assert await event_types(store) == ["SentimentReported", "ReportTriageOverdue"]
    await a_scheduler(store, clock).run_once()
    assert await event_types(store) == ["SentimentReported", "ReportTriageOverdue"]


async def test_a_scheduler_that_appended_but_died_before_recording_it_does_not_repeat(store, clock):
    await report_leak(store, clock)
    clock.advance(timedelta(days=1))
    scheduler = a_scheduler(store, clock)
    await scheduler.tracker.catch_up()
    [due] = await scheduler.tracker.due(clock.now())
    await handlers.record_overdue(store, due, clock.now())  # then the process died

    await a_scheduler(store, clock).run_once()
    assert await event_types(store) == ["SentimentReported", "ReportTriageOverdue"]
    # Even reading the stale table (no catch-up), the aggregate refuses a second overdue.
    await handlers.record_overdue(store, due, clock.now())
    assert await event_types(store) == ["SentimentReported", "ReportTriageOverdue"]


async def test_two_schedulers_at_once_emit_each_overdue_once(store, clock):
    for number in range(5):
        await report_leak(store, clock, report_id=f"r-{number}")
    clock.advance(timedelta(days=8))  # both triage and reply are overdue

    await asyncio.gather(*(a_scheduler(store, clock).run_once() for _ in range(2)))
    await asyncio.gather(*(a_scheduler(store, clock).run_once() for _ in range(2)))
    for number in range(5):
        assert sorted(await event_types(store, f"r-{number}")) == [
            "ReportReplyOverdue", "ReportTriageOverdue", "SentimentReported"
        ]


async def test_triage_made_late_emits_its_resolution_and_closes_the_deadline(store, clock):
    report_id = await report_leak(store, clock)
    clock.advance(timedelta(hours=25))
    scheduler = a_scheduler(store, clock)
    await scheduler.run_once()
    triage = lambda state: domain.triage(state, report_id, MIANZHOU, TriageReport(category="dispute"))  # noqa: E731
    state = await handlers.act(store, report_id, 2, triage, CommandContext.new(MIANZHOU, "u-limin"))
    assert state.document["deadlines"]["triage"]["met_late"]
    await scheduler.run_once()
    assert await event_types(store) == [
        "SentimentReported", "ReportTriageOverdue", "ReportTriaged", "ReportTriageOverdueResolved"
    ]
    assert [d.step for d in await scheduler.tracker.due(clock.now())] == []  # the reply is due in 7 days


async def test_a_community_policy_shortens_the_triage_deadline_for_that_community_only(store, clock):
    await report_leak(store, clock, {MIANZHOU: {TRIAGE_STEP: timedelta(hours=12)}})
    clock.advance(timedelta(hours=12))
    await a_scheduler(store, clock).run_once()
    assert await event_types(store) == ["SentimentReported", "ReportTriageOverdue"]

    await report_leak(store, clock, {"c-dongjin": {TRIAGE_STEP: timedelta(hours=1)}}, report_id="r-later")
    clock.advance(timedelta(hours=12))
    await a_scheduler(store, clock).run_once()
    assert await event_types(store, "r-later") == ["SentimentReported"]


async def test_the_reporters_name_and_phone_are_sealed_in_the_event_and_masked_in_the_document(store, clock):
    await report_leak(store, clock)
    [reported] = await store.load(report_stream("r-leak"))
    reporter = reported.data["reporter"]
    assert reporter["name"].startswith("fz1.report-r-leak.") and reporter["phone"].startswith("fz1.")
    assert "13812345678" not in str(reported.data) and "王秀英" not in str(reported.data)
    state = await handlers.get_report(store, "r-leak", MIANZHOU)
    assert state.document["reporter"] == {"kind": "person", "resident_id": None, "name": "王**", "phone": "138****5678"}
    sealer = Sealer(store.engine, SECRET, "intake")
    assert (await handlers.unsealed_reporter(sealer, state))["phone"] == "13812345678"


async def test_the_deadlines_table_rebuilds_from_the_store(store, clock):
    await report_leak(store, clock)
    tracker = DeadlineTracker(store, intake_deadlines.RULES)
    await tracker.catch_up()
    async with store.engine.begin() as conn:
        await conn.execute(deadlines.delete())
        await conn.exec_driver_sql("DELETE FROM deadline_checkpoint")
    await tracker.catch_up()
    assert [d.step for d in await tracker.due(clock.now() + timedelta(days=8))] == ["report.triage", "report.reply"]
