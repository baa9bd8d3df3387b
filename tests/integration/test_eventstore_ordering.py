"""PostgreSQL commits out of order; a reader tailing the store must still see every event once.

Positions are drawn at insert and committed in any order, so "everything after the
last position I saw" skips an event whose transaction commits late. The store's
tail waits for it instead. These tests prove both halves: ours skips nothing under
concurrent writers and a deliberately held transaction, and the naive tail does skip.
"""

import asyncio
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select

from shared.events import utc_now
from shared.eventstore import START, EntryId, EventStore, StoredEvent
from tests.support.kernel import (
    COMMUNITY,
    WORKER,
    close_store,
    context,
    open_store,
    registered,
    visit,
    wait_until,
)

WRITERS = 4
COMMANDS_PER_WRITER = 1_500
PAGE = 500


@dataclass
class Tail:
    """`read_all(after=cursor)` in a loop, as the relay does."""

    store: EventStore
    seen: list[StoredEvent] = field(default_factory=list)
    polls: int = 0

    @property
    def cursor(self) -> EntryId:
        return self.seen[-1].entry_id if self.seen else START

    async def poll(self) -> int:
        batch = await self.store.read_all(after=self.cursor, limit=PAGE)
        self.seen += batch
        self.polls += 1
        return len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not await self.poll():
                await asyncio.sleep(0.001)

    def event_ids(self) -> list[uuid.UUID]:
        return [stored.envelope.event_id for stored in self.seen]


@dataclass
class NaiveTail:
    """`position > last position seen`: what a relay without the store's ordering would do."""

    store: EventStore
    seen: list[tuple[int, uuid.UUID]] = field(default_factory=list)

    async def poll(self) -> int:
        table = self.store.table
        last = self.seen[-1][0] if self.seen else 0
        stmt = (
            select(table.c.position, table.c.event_id)
            .where(table.c.position > last)
            .order_by(table.c.position)
            .limit(PAGE)
        )
        async with self.store.engine.connect() as conn:
            batch = [(row.position, row.event_id) for row in await conn.execute(stmt)]
        self.seen += batch
        return len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not await self.poll():
                await asyncio.sleep(0.001)


async def write_commands(url: str, writer: str, commands: int) -> list[uuid.UUID]:
    """One writer on its own engine: `commands` new residents, two events each."""
    store = await open_store(url, writer_connections=1)
    written: list[uuid.UUID] = []
    try:
        for number in range(commands):
            envelopes = await store.append(
                f"resident-{writer}-{number}", 0, [registered(number), visit(1)], context()
            )
            written += [envelope.event_id for envelope in envelopes]
    finally:
        await close_store(store)
    return written


async def concurrent_writers(
    url: str, commands: int = COMMANDS_PER_WRITER, round_: str = "a"
) -> list[uuid.UUID]:
    results = await asyncio.gather(*(write_commands(url, f"{round_}{w}", commands) for w in range(WRITERS)))
    return [event_id for written in results for event_id in written]


async def drain(tail: Tail, expected: int) -> None:
    async def caught_up() -> bool:
        await tail.poll()
        return len(tail.seen) >= expected

    await wait_until(caught_up, f"the tail to reach {expected} events", timeout=30)
    assert await tail.poll() == 0


def assert_strictly_increasing(entry_ids: list[EntryId]) -> None:
    backwards = [(a, b) for a, b in zip(entry_ids, entry_ids[1:]) if not a < b]
    assert not backwards, f"{len(backwards)} entry IDs not increasing, first: {backwards[:3]}"


async def test_a_tail_under_four_concurrent_writers_sees_every_event_once_in_order(pg_url):
    store = await open_store(pg_url)
    tail, stop = Tail(store), asyncio.Event()
    tailing = asyncio.create_task(tail.run(stop))
    try:
        try:
            written = await concurrent_writers(pg_url)
        finally:
            stop.set()
            await tailing
        polls_while_writing = tail.polls
        await drain(tail, len(written))
    finally:
        await close_store(store)

    assert len(written) == WRITERS * COMMANDS_PER_WRITER * 2
    assert polls_while_writing > 10, "the reader must tail while the writers write"
    seen = tail.event_ids()
    assert len(seen) == len(set(seen)), "an event was read twice"
    assert set(seen) == set(written), f"skipped {len(set(written) - set(seen))} events"
    assert_strictly_increasing([stored.entry_id for stored in tail.seen])


async def test_a_transaction_held_open_is_waited_for_and_never_skipped(pg_url):
    store = await open_store(pg_url)
    tail, naive, stop = Tail(store), NaiveTail(store), asyncio.Event()
    before = await concurrent_writers(pg_url, commands=5)
    await drain(tail, len(before))
    await naive.poll()
    held_id = uuid.uuid4()
    tails = [asyncio.create_task(tail.run(stop)), asyncio.create_task(naive.run(stop))]
    try:
        async with store.engine.connect() as held:
            transaction = await held.begin()
            held_position = await held.scalar(held_event_insert(store, held_id))
            after = await concurrent_writers(pg_url, commands=50, round_="b")
            async with store.engine.connect() as conn:
                last_position = await conn.scalar(select(func.max(store.table.c.position)))
            await wait_until(
                lambda: naive.seen[-1][0] >= last_position, "the naive tail to pass the held position"
            )
            polls = tail.polls
            await wait_until(lambda: tail.polls >= polls + 5, "the tail to poll while the writer holds on")
            assert len(tail.seen) == len(before), "the tail must wait for the held transaction"
            await transaction.commit()
        await wait_until(lambda: len(tail.seen) == len(before) + len(after) + 1, "the tail to see all")
        assert await tail.poll() == 0
    finally:
        stop.set()
        await asyncio.gather(*tails)
        await close_store(store)

    seen = tail.event_ids()
    assert sorted(map(str, seen)) == sorted(map(str, [*before, held_id, *after]))
    assert seen[len(before)] == held_id, "the held event comes first: it began before the others"
    assert_strictly_increasing([stored.entry_id for stored in tail.seen])
    assert held_position < last_position
    assert held_id not in {event_id for _, event_id in naive.seen}, "the naive tail skips the held event"


def held_event_insert(store: EventStore, event_id: uuid.UUID):  # noqa: ANN201
    """The row a writer inserts and then sits on, its transaction still open."""
    return (
        store.table.insert()
        .values(
            event_id=event_id,
            stream_id="resident-held",
            version=1,
            type="kerneltest.ResidentRegistered",
            community_id=COMMUNITY,
            occurred_at=utc_now(),
            actor=WORKER,
            correlation_id=str(uuid.uuid4()),
            schema_version=1,
            data={"name": "王秀英", "building": "幸福楼院 3 栋（迟到的登记）"},
        )
        .returning(store.table.c.position)
    )


async def test_the_naive_position_tail_can_skip_where_ours_skips_nothing(pg_url):
    store = await open_store(pg_url)
    tail, naive, stop = Tail(store), NaiveTail(store), asyncio.Event()
    tails = [asyncio.create_task(tail.run(stop)), asyncio.create_task(naive.run(stop))]
    try:
        try:
            written = await concurrent_writers(pg_url)
        finally:
            stop.set()
            await asyncio.gather(*tails)
        await drain(tail, len(written))
        while await naive.poll():
            pass
    finally:
        await close_store(store)

    naive_skipped = len(set(written) - {event_id for _, event_id in naive.seen})
    print(f"\nnaive `position > last` tail skipped {naive_skipped} of {len(written)} events; ours skipped 0")
    assert set(tail.event_ids()) == set(written) and len(tail.seen) == len(written)
    assert_strictly_increasing([stored.entry_id for stored in tail.seen])


async def test_sqlite_with_four_writer_connections_keeps_a_tail_complete_and_in_order(sqlite_url):
    """SQLite has one writer at a time, so several held connections may not reorder positions."""
    store = await open_store(sqlite_url, writer_connections=4)
    tail, stop = Tail(store), asyncio.Event()
    tailing = asyncio.create_task(tail.run(stop))

    async def writer(name: str) -> list[uuid.UUID]:
        written: list[uuid.UUID] = []
        for number in range(300):
            envelopes = await store.append(f"resident-{name}-{number}", 0, [registered(number), visit(1)], context())
            written += [envelope.event_id for envelope in envelopes]
        return written

    try:
        try:
            results = await asyncio.gather(*(writer(f"w{w}") for w in range(WRITERS)))
        finally:
            stop.set()
            await tailing
        written = [event_id for batch in results for event_id in batch]
        await drain(tail, len(written))
    finally:
        await close_store(store)

    assert sorted(tail.event_ids()) == sorted(written)
    assert len(set(tail.event_ids())) == len(written)
    assert_strictly_increasing([stored.entry_id for stored in tail.seen])
