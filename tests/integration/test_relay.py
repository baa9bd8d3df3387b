"""The relay publishes the store to Redis in the store's order, once, whatever happens to Redis
or to the relay itself. Runs on SQLite and PostgreSQL against a real Redis."""

import asyncio
import signal
import sys
import uuid
from pathlib import Path

import pytest
from faststream.redis.parser import BinaryMessageFormatV1
from sqlalchemy import text

from shared.events import Envelope
from shared.eventstore import START
from shared.relay import Relay, RelayPinger
from shared.streams import appended_channel, events_stream
from tests.support.kernel import (
    close_store,
    context,
    open_store,
    read_everything,
    registered,
    relay_everything,
    stream_ids,
    until_visible,
    visit,
    wait_until,
)

KEY = events_stream("intake")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def store(database_url):
    store = await open_store(database_url)
    yield store
    await close_store(store)


async def append_residents(store, residents: int, visits: int = 0, prefix: str = "resident") -> int:
    """Appends, then waits until the store shows it all (see `until_visible`)."""
    for number in range(residents):
        events = [registered(number), *(visit(v) for v in range(1, visits + 1))]
        appended = await store.append(f"{prefix}-{number}", 0, events, context())
    await until_visible(store, appended[-1])
    return residents * (1 + visits)


async def assert_stream_mirrors_store(redis, store) -> None:
    stored = await read_everything(store)
    assert await stream_ids(redis, KEY) == [e.entry_id for e in stored]


def private_channel() -> str:
    """Pub/sub ignores the DB number: a local run on the same Redis pings `intake`'s channel."""
    return appended_channel(f"intake-{uuid.uuid4().hex[:8]}")


async def listening(redis, channel: str) -> bool:
    [(_, subscribers)] = await redis.pubsub_numsub(channel)
    return subscribers > 0


class ReadCounter:
    """Counts the relay's reads of the store, to know when a woken relay has looked."""

    def __init__(self, relay: Relay):
        self.reads = 0
        self._publish_batch = relay.publish_batch
        relay.publish_batch = self.publish_batch

    async def publish_batch(self) -> int:
        published = await self._publish_batch()
        self.reads += 1
        return published


# -- publishing --------------------------------------------------------------------------


async def test_every_event_goes_out_with_the_store_entry_id_in_order(store, redis):
    total = await append_residents(store, 40, visits=4)
    relay = Relay(store, redis, KEY, maxlen=100_000, batch_size=30)

    assert await relay_everything(relay) == total

    await assert_stream_mirrors_store(redis, store)
    assert relay.published_total == total
    assert await relay.cursor() == (await read_everything(store))[-1].entry_id


async def test_a_subscriber_decodes_an_entry_into_headers_and_the_envelope(store, redis):
    [appended] = await store.append("resident-wang", 0, [registered()], context())
    await until_visible(store, appended)
    await relay_everything(Relay(store, redis, KEY, maxlen=100_000))

    [(_, fields)] = await redis.xrange(KEY)
    body, headers = BinaryMessageFormatV1.parse(fields[b"__data__"])

    assert headers["content-type"] == "application/json"
    assert headers["event_type"] == "kerneltest.ResidentRegistered"
    assert headers["stream_id"] == "resident-wang"
    assert headers["community_id"] == "c-xingfu"
    assert headers["correlation_id"] == appended.correlation_id
    envelope = Envelope.model_validate_json(body)
    assert envelope.event_id == appended.event_id
    assert envelope.data == {"name": "王秀英", "building": "幸福楼院 3 栋"}
    assert envelope == (await store.load("resident-wang"))[0]


async def test_an_entry_of_a_community_named_in_chinese_still_decodes_with_its_headers(store, redis):
    [appended] = await store.append("居民-王秀英", 0, [registered()], context("幸福社区"))
    await until_visible(store, appended)
    await relay_everything(Relay(store, redis, KEY, maxlen=100_000))

    [(_, fields)] = await redis.xrange(KEY)
    body, headers = BinaryMessageFormatV1.parse(fields[b"__data__"])

    assert (headers.get("stream_id"), headers.get("community_id")) == ("居民-王秀英", "幸福社区")
    assert body.startswith(b"{") and Envelope.model_validate_json(body).event_id == appended.event_id


async def test_publishing_the_same_events_twice_adds_nothing(store, redis):
    total = await append_residents(store, 20, visits=1)
    relay = Relay(store, redis, KEY, maxlen=100_000)
    await relay_everything(relay)

    async def forgetful_cursor():
        return START

    relay.cursor = forgetful_cursor
    assert await relay.publish_batch() == 0

    assert await redis.xlen(KEY) == total
    await assert_stream_mirrors_store(redis, store)


async def test_a_running_relay_publishes_events_appended_while_it_runs(store, redis):
    relay = Relay(store, redis, KEY, maxlen=100_000, batch_size=7)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop, 0.005))
    try:
        for number in range(30):
            await store.append(f"resident-{number}", 0, [registered(number), visit(1)], context())
        await wait_until(lambda: relay.published_total == 60, "the relay to publish all 60 events")
    finally:
        stop.set()
        await running

    await assert_stream_mirrors_store(redis, store)


# -- what happens to Redis ---------------------------------------------------------------


async def test_a_flushed_redis_is_refilled_with_every_event_exactly_once_in_order(store, redis):
    await append_residents(store, 30, visits=2)
    relay = Relay(store, redis, KEY, maxlen=100_000, batch_size=40)
    await relay_everything(relay)

    await redis.flushdb()
    await append_residents(store, 5, prefix="after-the-flush")
    await relay_everything(relay)

    await assert_stream_mirrors_store(redis, store)
    assert await redis.xlen(KEY) == 95


async def test_the_relay_keeps_publishing_after_the_stream_is_trimmed_to_nothing(store, redis):
    """Trimming is for memory: the trimmed events stay published, and new ones must follow."""
    await append_residents(store, 120)
    relay = Relay(store, redis, KEY, maxlen=100_000, batch_size=50)
    await relay_everything(relay)
    await redis.xtrim(KEY, maxlen=0, approximate=False)

    await append_residents(store, 3, prefix="after-the-trim")
    await relay_everything(relay)

    newest = (await read_everything(store))[-3:]
    assert await stream_ids(redis, KEY) == [e.entry_id for e in newest]


# -- what happens to the relay -----------------------------------------------------------


async def test_a_relay_killed_mid_batch_is_replaced_without_losing_or_repeating_an_event(
    store, redis, database_url, test_redis_url, tmp_path
):
    total = await append_residents(store, 400, visits=9)
    stderr = open(tmp_path / "relay.err", "wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.relay_process", database_url, test_redis_url, KEY, "10",
        cwd=REPO, stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
    )
    try:
        async def published_some() -> bool:
            return await redis.xlen(KEY) >= 100

        await wait_until(published_some, "the relay process to publish", timeout=30, interval=0.002)
        process.send_signal(signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        stderr.close()
    published_when_killed = await redis.xlen(KEY)
    assert 0 < published_when_killed < total, (tmp_path / "relay.err").read_text()

    await relay_everything(Relay(store, redis, KEY, maxlen=1_000_000, batch_size=500))

    await assert_stream_mirrors_store(redis, store)
    assert await redis.xlen(KEY) == total


async def test_an_append_wakes_an_idle_relay_long_before_its_next_poll(sqlite_url, redis):
    """SQLite: an append is visible when its ping goes out (PostgreSQL: see the next test)."""
    store = await open_store(sqlite_url)
    channel = private_channel()
    store.after_append.append(RelayPinger(redis, channel))
    relay = Relay(store, redis, KEY, maxlen=100_000, wake_channel=channel)
    running = asyncio.create_task(relay.run(asyncio.Event(), 30.0))
    try:
        await wait_until(lambda: listening(redis, channel), "the relay to listen for pings")
        await store.append("resident-wang", 0, [registered()], context())
        await wait_until(lambda: relay.published_total == 1, "the woken relay to publish", timeout=5)
        await assert_stream_mirrors_store(redis, store)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await close_store(store)


async def test_an_append_that_becomes_visible_after_its_ping_is_published_without_waiting_for_the_poll(
    pg_url, redis
):
    """On PostgreSQL an append is read only once every older transaction on the server has
    ended, so its ping can come first. The woken relay must not then sleep a whole poll."""
    store = await open_store(pg_url)
    channel = private_channel()
    store.after_append.append(RelayPinger(redis, channel))
    relay = Relay(store, redis, KEY, maxlen=100_000, wake_channel=channel)
    counter = ReadCounter(relay)
    running = asyncio.create_task(relay.run(asyncio.Event(), 30.0))
    try:
        await wait_until(lambda: listening(redis, channel), "the relay to listen for pings")
        async with store.engine.connect() as older:
            transaction = await older.begin()
            await older.execute(text("SELECT pg_current_xact_id()"))
            reads = counter.reads
            await store.append("resident-wang", 0, [registered()], context())
            await wait_until(lambda: counter.reads > reads, "the ping to wake the relay")
            assert relay.published_total == 0
            await transaction.rollback()
        await wait_until(lambda: relay.published_total == 1, "the relay to publish the event", timeout=3)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await close_store(store)


async def test_an_idle_relay_waiting_for_a_ping_stops_as_soon_as_asked(sqlite_url, redis):
    store = await open_store(sqlite_url)
    channel = private_channel()
    relay = Relay(store, redis, KEY, maxlen=100_000, wake_channel=channel)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop, 30.0))
    await wait_until(lambda: listening(redis, channel), "the relay to listen for pings")
    await asyncio.sleep(0.2)  # let it settle into waiting for a ping

    stop.set()
    done, _ = await asyncio.wait([running], timeout=2)

    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await close_store(store)
    assert done, "the relay kept waiting for a ping (up to its 30 s poll) after stop was set"


async def test_a_burst_of_appends_costs_a_ping_or_two_and_never_waits_for_redis(redis):
    channel = private_channel()
    listener = redis.pubsub(ignore_subscribe_messages=True)
    await listener.subscribe(channel)
    pinger = RelayPinger(redis, channel)
    for _ in range(100):
        await pinger([])
    pings = 0
    for _ in range(10):  # a subscribe confirmation also reads as None: listen for a while
        if await listener.get_message(timeout=0.1) is not None:
            pings += 1
    await listener.aclose()
    assert 1 <= pings <= 3
