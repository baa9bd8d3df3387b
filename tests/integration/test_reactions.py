"""The reactions between intake and mediation on real stores and a real Redis: a report triaged
as a dispute opens one case however often its event arrives (redelivered, published again under
a new entry, replayed over `GET /events` by a consumer that lost its bookkeeping, or delivered
again after a crash between the case's write and the consumer's record of it); the case's
closing replies to the report once, through intake's domain; and both consumers run as the
workers run them, over the broker.

Intake's store is SQLite; mediation's is SQLite and PostgreSQL in turn (`database_url`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from faststream.redis import RedisBroker
from redis.asyncio import Redis

from services.intake.domain import reports as intake_domain
from services.intake.handlers import reports as intake_handlers
from services.intake.reactions import CONSUMER as INTAKE_CONSUMER
from services.intake.reactions import REPLIES
from services.intake.reactions import react as intake_react
from services.mediation.domain import disputes as mediation_domain
from services.mediation.handlers import disputes as mediation_handlers
from services.mediation.reactions import CONSUMER as MEDIATION_CONSUMER
from services.mediation.reactions import case_id_for_report
from services.mediation.reactions import react as mediation_react
from services.mediation.reactions import screening_case
from shared.contracts.intake_reports import (
    CloseReport,
    ReplyToReporter,
    ReporterRecord,
    ReportSentiment,
    TriageReport,
    report_stream,
)
from shared.contracts.mediation import dispute_stream
from shared.contracts.mediation_requests import (
    AcceptDispute,
    CloseDispute,
    RecordInvestigation,
    TransferDispute,
)
from shared.events import CommandContext
from shared.eventstore import EntryId
from shared.reactions import ReactionConsumer
from shared.relay import Relay
from shared.streams import events_stream
from shared.worker import ConsumerRunner
from tests.support.kernel import (
    SECRET,
    close_store,
    http_fetcher,
    open_store,
    read_everything,
    relay_everything,
    serving_events,
    until_all_visible,
    wait_until,
)

COMMUNITY = "c-mianzhou"
WORKER = CommandContext.new(COMMUNITY, "u-community_worker")


@pytest.fixture
async def intake_store(tmp_path):
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}")
    yield store
    await close_store(store)


@pytest.fixture
async def mediation_store(database_url):
    store = await open_store(database_url)
    yield store
    await close_store(store)


def mediation_consumer(store, redis, name: str = MEDIATION_CONSUMER, fetch_events=None) -> ReactionConsumer:
    return ReactionConsumer(
        name, store.engine, redis, lambda e: mediation_react(store, e), ["intake"], replica="t", fetch_events=fetch_events
    )


def intake_consumer(store, redis, name: str = INTAKE_CONSUMER) -> ReactionConsumer:
    return ReactionConsumer(name, store.engine, redis, lambda e: intake_react(store, e), ["mediation"], replica="t")


async def reported(store, report_id: str = "rep-1", category: str = "dispute", resident: bool = True) -> str:
    command = ReportSentiment.model_validate(
        {"channel": "visit", "text": "楼上漏水，邻居不理", "place": {"compound": "幸福楼院", "building": "3栋"}}
    )
    reporter = ReporterRecord(kind="resident", resident_id="r-wangxiuying") if resident else ReporterRecord(kind="anonymous")
    now = datetime.now(UTC)
    events = intake_domain.report(
        intake_domain.Report(), report_id, COMMUNITY, command, reporter, now + timedelta(days=1), now + timedelta(days=7)
    )
    await store.append(report_stream(report_id), 0, events, WORKER)
    await intake_handlers.act(
        store, report_id, 1,
        lambda s: intake_domain.triage(s, report_id, COMMUNITY, TriageReport(category=category)), WORKER,
    )
    return report_id


async def everything(store):
    """Every event, once all appended ones are visible (PostgreSQL shows them in commit order)."""
    await until_all_visible(store)
    return await read_everything(store)


async def cases_in(store) -> list[str]:
    await until_all_visible(store)
    return sorted({stored.envelope.stream_id for stored in await read_everything(store)
                   if stored.envelope.type == "mediation.DisputeRegistered"})


async def transferred_and_closed(store, dispute_id: str, archive_no: str = "2026-调-007") -> None:
    steps = [
        lambda s: mediation_domain.accept(s, dispute_id, COMMUNITY, AcceptDispute(mediators=["赵德明"])),
        lambda s: mediation_domain.investigate(s, dispute_id, COMMUNITY, RecordInvestigation(
            investigated_on="2026-11-05", investigators=["赵德明"], findings="防水层老化")),
        lambda s: mediation_domain.transfer(s, dispute_id, COMMUNITY, TransferDispute(reason="双方分歧大")),
        lambda s: mediation_domain.close(s, dispute_id, COMMUNITY, CloseDispute(archive_no=archive_no)),
    ]
    for step in steps:
        version = await store.stream_version(dispute_stream(dispute_id))
        await mediation_handlers.act(store, dispute_id, version, step, WORKER)


async def report_events(store, report_id: str) -> list[str]:
    return [envelope.type for envelope in await store.load(report_stream(report_id))]


async def test_a_dispute_report_opens_one_case_however_often_it_arrives(intake_store, mediation_store, redis):
    report_id = await reported(intake_store)
    await relay_everything(Relay(intake_store, redis, events_stream("intake"), maxlen=10_000))
    stored = await read_everything(intake_store)
    triaged = next(s for s in stored if s.envelope.type == "intake.ReportTriaged")
    consumer = mediation_consumer(mediation_store, redis)
    await consumer.setup()
    for item in stored:
        await consumer.handle("intake", item.entry_id, item.envelope)

    case_id = case_id_for_report(report_id)
    assert await cases_in(mediation_store) == [dispute_stream(case_id)]
    case = await mediation_handlers.get_dispute(mediation_store, case_id, COMMUNITY)
    assert case.document["source"] == "proactive_screening"
    assert case.document["report_id"] == report_id
    assert case.document["dispute_cause"] == "楼上漏水，邻居不理"
    assert case.document["place"] == {"compound": "幸福楼院", "building": "3栋"}
    assert case.document["parties"][0]["resident_id"] == "r-wangxiuying"

    # Redelivered (the same entry), and the same event under another entry (a republished stream).
    assert await consumer.handle("intake", triaged.entry_id, triaged.envelope) is False
    assert await consumer.handle("intake", EntryId(triaged.entry_id.major + 10**6, 0), triaged.envelope) is False
    # A crash after the case was written but before the consumer recorded the entry: the
    # reaction runs again on the next delivery and writes nothing.
    await mediation_react(mediation_store, triaged.envelope)
    # A consumer that lost all its bookkeeping replays everything.
    fresh = mediation_consumer(mediation_store, redis, name="mediation.reactions.fresh")
    await fresh.setup()
    for item in stored:
        assert await fresh.handle("intake", item.entry_id, item.envelope) is True

    assert await cases_in(mediation_store) == [dispute_stream(case_id)]
    assert await mediation_store.stream_version(dispute_stream(case_id)) == 1


async def test_only_reports_routed_to_mediation_open_cases(intake_store, mediation_store, redis):
    await reported(intake_store, "rep-hardship", category="hardship")
    await reported(intake_store, "rep-anon", resident=False)
    consumer = mediation_consumer(mediation_store, redis)
    await consumer.setup()
    for item in await read_everything(intake_store):
        await consumer.handle("intake", item.entry_id, item.envelope)
    assert await cases_in(mediation_store) == [dispute_stream(case_id_for_report("rep-anon"))]
    case = await mediation_handlers.get_dispute(mediation_store, case_id_for_report("rep-anon"), COMMUNITY)
    assert [party.get("resident_id") for party in case.document["parties"]] == [None, None]
    assert [party["name"] for party in case.document["parties"]] == ["待查明", "待查明"]


async def test_catch_up_over_http_opens_the_case_once(intake_store, mediation_store, redis):
    """Redis lost intake's stream: the consumer reads intake's `GET /events` instead."""
    report_id = await reported(intake_store)
    async with serving_events(intake_store) as base_url, httpx.AsyncClient() as client:
        consumer = mediation_consumer(mediation_store, redis, fetch_events=http_fetcher(client, base_url, SECRET))
        await consumer.setup()
        assert await consumer.needs_catch_up("intake")
        assert await consumer.catch_up("intake") == 2
        consumer_again = mediation_consumer(
            mediation_store, redis, name="again", fetch_events=http_fetcher(client, base_url, SECRET)
        )
        await consumer_again.setup()
        assert await consumer_again.catch_up("intake") == 2
    assert await cases_in(mediation_store) == [dispute_stream(case_id_for_report(report_id))]


async def test_the_closed_case_replies_to_its_report_once(intake_store, mediation_store, redis):
    report_id = await reported(intake_store)
    case_id = case_id_for_report(report_id)
    for item in await read_everything(intake_store):
        await mediation_react(mediation_store, item.envelope)
    await transferred_and_closed(mediation_store, case_id)

    stored = await everything(mediation_store)
    closed = next(s for s in stored if s.envelope.type == "mediation.DisputeClosed")
    assert closed.envelope.data["report_id"] == report_id
    consumer = intake_consumer(intake_store, redis)
    await consumer.setup()
    for item in stored:
        await consumer.handle("mediation", item.entry_id, item.envelope)
    assert await consumer.handle("mediation", closed.entry_id, closed.envelope) is False
    await intake_react(intake_store, closed.envelope)
    fresh = intake_consumer(intake_store, redis, name="intake.reactions.fresh")
    await fresh.setup()
    for item in stored:
        await fresh.handle("mediation", item.entry_id, item.envelope)

    assert await report_events(intake_store, report_id) == [
        "intake.SentimentReported", "intake.ReportTriaged", "intake.ReportReplied"
    ]
    report = await intake_handlers.get_report(intake_store, report_id, COMMUNITY)
    assert report.document["status"] == "replied"
    assert report.document["reply"] == REPLIES["transferred"] + "（调解卷宗号：2026-调-007）"
    replied = (await intake_store.load(report_stream(report_id)))[-1]
    assert replied.actor == "service:intake" and replied.causation_id == str(closed.envelope.event_id)


async def test_a_report_already_replied_by_hand_or_closed_is_left_alone(intake_store, mediation_store, redis):
    by_hand, closed_report = await reported(intake_store, "rep-hand"), await reported(intake_store, "rep-closed")
    for report_id in (by_hand, closed_report):
        await intake_handlers.act(intake_store, report_id, 2, lambda s, r=report_id: intake_domain.reply(
            s, r, COMMUNITY, ReplyToReporter(reply="已转社区调委会处理")), WORKER)
    await intake_handlers.act(intake_store, closed_report, 3, lambda s: intake_domain.close(
        s, closed_report, COMMUNITY, CloseReport()), WORKER)
    for item in await read_everything(intake_store):
        await mediation_react(mediation_store, item.envelope)
    for report_id in (by_hand, closed_report):
        await transferred_and_closed(mediation_store, case_id_for_report(report_id))
    for item in await everything(mediation_store):
        await intake_react(intake_store, item.envelope)
    assert (await report_events(intake_store, by_hand))[-1] == "intake.ReportReplied"
    assert len(await report_events(intake_store, by_hand)) == 3
    assert (await report_events(intake_store, closed_report))[-1] == "intake.ReportClosed"
    report = await intake_handlers.get_report(intake_store, by_hand, COMMUNITY)
    assert report.document["reply"] == "已转社区调委会处理"


async def test_a_case_for_another_community_does_not_touch_the_report(intake_store, mediation_store, redis):
    """A closing that names the report from another community's case is ignored, not applied."""
    report_id = await reported(intake_store)
    other = CommandContext.new("c-other", "u-x")
    await mediation_handlers.register_dispute(
        mediation_store, "d-x", screening_case({"report_id": report_id, "text": "伪造", "routed_to": "mediation"}), other)
    version = 1
    for step in (
        lambda s: mediation_domain.accept(s, "d-x", "c-other", AcceptDispute(mediators=["甲"])),
        lambda s: mediation_domain.transfer(s, "d-x", "c-other", TransferDispute(reason="无")),
        lambda s: mediation_domain.close(s, "d-x", "c-other", CloseDispute()),
    ):
        await mediation_handlers.act(mediation_store, "d-x", version, step, other)
        version = await mediation_store.stream_version(dispute_stream("d-x"))
    for item in await everything(mediation_store):
        await intake_react(intake_store, item.envelope)
    assert await report_events(intake_store, report_id) == ["intake.SentimentReported", "intake.ReportTriaged"]


async def test_both_reactions_over_the_broker_as_the_workers_run_them(intake_store, mediation_store, test_redis_url, redis):
    """The consumers wired as the workers wire them: groups, the broker, redelivery by the stream."""
    broker = RedisBroker(test_redis_url, logger=None)
    client = Redis.from_url(test_redis_url)
    stop = asyncio.Event()
    runners = [
        ConsumerRunner(mediation_consumer(mediation_store, client), broker, watch_interval_s=0.1),
        ConsumerRunner(intake_consumer(intake_store, client), broker, watch_interval_s=0.1),
    ]
    intake_relay = Relay(intake_store, redis, events_stream("intake"), maxlen=10_000)
    mediation_relay = Relay(mediation_store, redis, events_stream("mediation"), maxlen=10_000)
    watchdogs: list[asyncio.Task] = []
    try:
        await broker.connect()
        for runner in runners:
            await runner.prepare()
        await broker.start()
        watchdogs = [asyncio.create_task(runner.watch(stop)) for runner in runners]
        report_id = await reported(intake_store)
        await relay_everything(intake_relay)
        case_id = case_id_for_report(report_id)

        async def case_opened() -> bool:
            return await mediation_store.stream_version(dispute_stream(case_id)) == 1

        await wait_until(case_opened, "the case opened from the report")
        # The same triage published again under new entries (a relay that lost its place).
        for _, fields in await redis.xrange(events_stream("intake")):
            await redis.xadd(events_stream("intake"), fields)
        await transferred_and_closed(mediation_store, case_id)
        await relay_everything(mediation_relay)

        async def replied() -> bool:
            return (await report_events(intake_store, report_id))[-1] == "intake.ReportReplied"

        await wait_until(replied, "the report replied")
        await asyncio.sleep(0.5)
        assert await cases_in(mediation_store) == [dispute_stream(case_id)]
        assert await mediation_store.stream_version(dispute_stream(case_id)) == 5
        assert (await report_events(intake_store, report_id)).count("intake.ReportReplied") == 1
    finally:
        stop.set()
        await asyncio.gather(*watchdogs, return_exceptions=True)
        await broker.stop()
        await client.aclose()
