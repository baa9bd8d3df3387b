"""What the kernel's tests share: small test events, a counting projection, polling,
a relay drained to the end, running consumer replicas, and an events endpoint on a real port."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from faststream.redis import RedisBroker
from litestar import Litestar
from litestar.di import Provide
from redis.asyncio import Redis
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.consumer import EventConsumer
from shared.db import create_engine, upsert
from shared.deadlines import DeadlineScheduler
from shared.events import CommandContext, DomainEvent, Envelope, event, upcaster
from shared.eventstore import EntryId, EventStore, StoredEvent
from shared.http import events_route
from shared.identity import IDENTITY_HEADER, service_identity, sign_identity
from shared.problems import exception_handlers
from shared.relay import Relay
from shared.streams import events_stream
from shared.worker import ConsumerRunner
from tests.support.services import free_port

SOURCE = "intake"
"""The service whose stream the consumer tests read."""
GROUP = "gateway.views"
"""The consumer (and Redis consumer group) the consumer tests run."""

SECRET = "kernel-test-secret-of-32-bytes-or-more!"

COMMUNITY = "c-xingfu"
"""幸福社区. Community ids are ASCII codes in practice (see the gateway's seed)."""
WORKER = "worker:社区干事 李娟"


# -- test events -------------------------------------------------------------------


@event
class ResidentRegistered(DomainEvent):
    event_type = "kerneltest.ResidentRegistered"

    name: str
    building: str


@event
class VisitRecorded(DomainEvent):
    event_type = "kerneltest.VisitRecorded"

    visitor: str
    note: str


@event
class ResidentRenamed(DomainEvent):
    """Version 2 split the old `full_name` into the name and where the resident lives."""

    event_type = "kerneltest.ResidentRenamed"
    schema_version = 2

    name: str
    building: str


class ResidentRenamedV1(DomainEvent):
    """How ResidentRenamed was written before version 2 (deliberately not registered)."""

    event_type = "kerneltest.ResidentRenamed"
    schema_version = 1

    full_name: str


@upcaster("kerneltest.ResidentRenamed", from_version=1)
def _renamed_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {"name": data["full_name"], "building": "未登记"}


def registered(number: int = 0) -> ResidentRegistered:
    return ResidentRegistered(name=f"王秀英{number or ''}", building="幸福楼院 3 栋")


def visit(number: int) -> VisitRecorded:
    return VisitRecorded(visitor="网格员 张伟", note=f"第 {number} 次走访：老人身体安好")


def context(community_id: str = COMMUNITY) -> CommandContext:
    return CommandContext.new(community_id, WORKER)


def resident_stream(number: int) -> str:
    return f"resident-{number:04d}"


# -- stores and relays -------------------------------------------------------------------


async def open_store(url: str, writer_connections: int | None = None) -> EventStore:
    store = EventStore(create_engine(url), writer_connections=writer_connections)
    await store.setup()
    return store


async def close_store(store: EventStore) -> None:
    await store.close()
    await store.engine.dispose()


async def read_everything(store: EventStore, page: int = 1000) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    while batch := await store.read_all(events[-1].entry_id if events else EntryId(0, 0), page):
        events += batch
    return events


async def until_visible(store: EventStore, envelope: Envelope, timeout: float = 10.0) -> None:
    """Waits until `envelope`, and so every earlier append of this task, can be read. On
    PostgreSQL a commit is read only once every older transaction on the server has ended,
    and the server may be busy with other tests or services."""

    async def visible() -> bool:
        return any(stored.envelope.event_id == envelope.event_id for stored in await read_everything(store))

    await wait_until(visible, f"{envelope.stream_id} v{envelope.version} to become visible", timeout)


async def append_residents(store: EventStore, streams: int, versions: int) -> None:
    """`streams` residents, each registered then visited, interleaved version by version."""
    for version in range(1, versions + 1):
        for number in range(streams):
            domain_event = registered(number) if version == 1 else visit(version)
            await store.append(resident_stream(number), version - 1, [domain_event], context())


async def relay_everything(relay: Relay) -> int:
    total = 0
    while published := await relay.publish_batch():
        total += published
    return total


@contextlib.asynccontextmanager
async def relaying(relay: Relay) -> AsyncIterator[Relay]:
    """The relay running in the background, as a service's worker runs it."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop, 0.01))
    try:
        yield relay
    finally:
        stop.set()
        await task


async def stream_ids(redis: Redis, key: str) -> list[EntryId]:
    return [EntryId.parse(entry_id) for entry_id, _ in await redis.xrange(key)]


# -- polling -----------------------------------------------------------------------------


async def wait_until(
    condition: Callable[[], Awaitable[bool] | bool], what: str, timeout: float = 15.0, interval: float = 0.02
) -> None:
    """Polls `condition` until true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = condition()
        if isinstance(outcome, Awaitable):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        await asyncio.sleep(interval)


# -- a projection that shows what was applied, how often and in which order ----------------


@dataclass(frozen=True)
class StreamTally:
    applied: int
    last_version: int
    out_of_order: int


class TallyProjection:
    """Per consumer and stream: how many events were applied, the last version, and how
    many arrived out of order. A stream is applied exactly once and in order when
    applied == last_version == its length and out_of_order == 0."""

    def __init__(self, failing_streams: Sequence[str] = ()):
        self.metadata = MetaData()
        self.table = Table(
            "kernel_test_tally",
            self.metadata,
            Column("consumer", String(100), primary_key=True),
            Column("stream_id", String(200), primary_key=True),
            Column("applied", Integer, nullable=False),
            Column("last_version", Integer, nullable=False),
            Column("out_of_order", Integer, nullable=False),
        )
        self.failing_streams = set(failing_streams)
        self.consumer = ""

    def bind(self, consumer: str) -> TallyProjection:
        self.consumer = consumer
        return self

    async def setup(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await conn.run_sync(self.metadata.create_all)

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        if envelope.stream_id in self.failing_streams:
            raise RuntimeError(f"门牌号无法识别：{envelope.stream_id}")
        row = (
            await conn.execute(
                select(self.table).where(
                    self.table.c.consumer == self.consumer,
                    self.table.c.stream_id == envelope.stream_id,
                )
            )
        ).first()
        applied, last, out_of_order = (row.applied, row.last_version, row.out_of_order) if row else (0, 0, 0)
        await upsert(
            conn,
            self.table,
            {
                "consumer": self.consumer,
                "stream_id": envelope.stream_id,
                "applied": applied + 1,
                "last_version": envelope.version,
                "out_of_order": out_of_order + (envelope.version != last + 1),
            },
            key=("consumer", "stream_id"),
            update=("applied", "last_version", "out_of_order"),
        )

    async def tallies(self, engine: AsyncEngine, consumer: str | None = None) -> dict[str, StreamTally]:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(self.table).where(self.table.c.consumer == (consumer or self.consumer))
            )
            return {row.stream_id: StreamTally(row.applied, row.last_version, row.out_of_order) for row in rows}


# -- consumer replicas --------------------------------------------------------------------


@dataclass
class Replica:
    consumer: EventConsumer
    runner: ConsumerRunner
    broker: RedisBroker


@contextlib.asynccontextmanager
async def running_replica(
    redis_url: str,
    engine: AsyncEngine,
    projection: TallyProjection,
    *,
    name: str = GROUP,
    replica: str = "replica-1",
    claim_idle_ms: int = 1_000,
    max_deliveries: int = 5,
    fetch_events: Any = None,
    watch_interval_s: float = 0.1,
) -> AsyncIterator[Replica]:
    """One replica wired as `run_worker` wires it: prepare, start the broker, watch."""
    broker = RedisBroker(redis_url, logger=None)
    client = Redis.from_url(redis_url)
    consumer = EventConsumer(
        name,
        engine,
        client,
        projection.bind(name),
        [SOURCE],
        replica=replica,
        max_deliveries=max_deliveries,
        claim_idle_ms=claim_idle_ms,
        fetch_events=fetch_events,
    )
    runner = ConsumerRunner(consumer, broker, watch_interval_s=watch_interval_s)
    stop = asyncio.Event()
    watchdog = None
    try:
        await broker.connect()
        await runner.prepare()
        await broker.start()
        watchdog = asyncio.create_task(runner.watch(stop))
        yield Replica(consumer, runner, broker)
    finally:
        stop.set()
        if watchdog is not None:
            await watchdog
        await broker.stop()
        await client.aclose()


async def pending_count(redis: Redis, group: str = GROUP) -> int:
    summary = await redis.xpending(events_stream(SOURCE), group)
    return summary["pending"]


# -- the events endpoint on a real port ------------------------------------------------


class _QuietServer(uvicorn.Server):
    def capture_signals(self):  # noqa: ANN201 - leave pytest's signal handlers alone
        return contextlib.nullcontext()


@contextlib.asynccontextmanager
async def serving_events(store: EventStore, secret: str = SECRET) -> AsyncIterator[str]:
    """A service's `GET /events` served by uvicorn in this loop; yields its base URL."""
    app = Litestar(
        route_handlers=[events_route(secret)],
        dependencies={"store": Provide(lambda: store, use_cache=True, sync_to_thread=False)},
        exception_handlers=exception_handlers(),
    )
    port = free_port()
    server = _QuietServer(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started, "the events endpoint to listen", timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def http_fetcher(client: httpx.AsyncClient, base_url: str, secret: str = SECRET):
    """`fetch_events` as a consumer gets it: the gateway's signed service identity, pages of JSON."""

    async def fetch(source: str, after: EntryId, limit: int) -> list[StoredEvent]:
        response = await client.get(
            f"{base_url}/events",
            params={"after": str(after), "limit": limit},
            headers={IDENTITY_HEADER: sign_identity(service_identity("gateway"), secret)},
        )
        response.raise_for_status()
        return [
            StoredEvent(EntryId.parse(item["entry_id"]), Envelope.model_validate(item["envelope"]))
            for item in response.json()["events"]
        ]

    return fetch


async def until_all_visible(store: EventStore, timeout: float = 10.0) -> None:
    """Waits until every event appended so far can be read (see `until_visible`)."""
    async with store.engine.connect() as conn:
        appended = await conn.scalar(select(func.count()).select_from(store.table))

    async def all_visible() -> bool:
        return len(await read_everything(store)) >= appended

    await wait_until(all_visible, "every appended event to become visible", timeout)


class PatientScheduler(DeadlineScheduler):
    """A deadline scheduler whose round starts once every append so far is readable, so a
    test's round sees what the test just did, however busy the shared PostgreSQL is."""

    async def run_once(self) -> int:
        await until_all_visible(self.tracker.store)
        return await super().run_once()
