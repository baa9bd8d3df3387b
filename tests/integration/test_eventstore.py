"""The event store's contract, one suite run on SQLite and on PostgreSQL alike."""

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.eventstore import START, ConcurrencyConflict, EntryId
from tests.support.kernel import (
    ResidentRenamed,
    ResidentRenamedV1,
    close_store,
    context,
    open_store,
    read_everything,
    registered,
    until_visible,
    visit,
)

BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
async def store(database_url):
    store = await open_store(database_url)
    yield store
    await close_store(store)


async def test_a_stream_loads_back_in_order_with_versions_from_1(store):
    appended = await store.append("resident-wang", 0, [registered(), visit(1)], context())
    appended += await store.append("resident-wang", 2, [visit(2)], context())

    loaded = await store.load("resident-wang")

    assert [e.version for e in loaded] == [1, 2, 3]
    assert [e.event_id for e in loaded] == [e.event_id for e in appended]
    assert [e.position for e in loaded] == [e.position for e in appended]
    assert loaded[0].payload() == registered()
    assert loaded[2].payload() == visit(2)
    assert await store.stream_version("resident-wang") == 3
    assert await store.load("resident-nobody") == []
    assert await store.stream_version("resident-nobody") == 0


async def test_a_stale_writer_gets_a_conflict_and_nothing_is_written(store):
    await store.append("resident-wang", 0, [registered()], context())

    with pytest.raises(ConcurrencyConflict) as conflict:
        await store.append("resident-wang", 0, [visit(1), visit(2)], context())

    assert conflict.value.stream_id == "resident-wang"
    assert conflict.value.expected_version == 0
    [stored] = await store.load("resident-wang")
    assert stored.payload() == registered()
    await until_visible(store, stored)
    assert len(await store.read_all()) == 1


async def test_a_writer_ahead_of_the_stream_gets_a_conflict_and_leaves_no_gap(store):
    """Consumers apply version n only after n - 1: a gap would hold the stream back forever."""
    await store.append("resident-wang", 0, [registered()], context())

    with pytest.raises(ConcurrencyConflict):
        await store.append("resident-wang", 4, [visit(1)], context())

    assert [e.version for e in await store.load("resident-wang")] == [1]


async def test_two_writers_racing_for_one_version_get_one_success_and_one_conflict(store, database_url):
    await store.append("resident-wang", 0, [registered()], context())
    rivals = [await open_store(database_url) for _ in range(2)]
    try:
        for _ in range(20):
            version = await store.stream_version("resident-wang")
            outcomes = await asyncio.gather(
                *(rival.append("resident-wang", version, [visit(version)], context()) for rival in rivals),
                return_exceptions=True,
            )
            conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
            successes = [o for o in outcomes if isinstance(o, list)]
            assert (len(successes), len(conflicts)) == (1, 1), outcomes
    finally:
        for rival in rivals:
            await close_store(rival)

    loaded = await store.load("resident-wang")
    assert [e.version for e in loaded] == list(range(1, 22))


async def test_read_all_returns_every_event_in_entry_order_with_envelopes_intact(store):
    at = datetime(2025, 3, 8, 9, 30, 15, 123456, tzinfo=BEIJING)
    appended = await store.append("resident-wang", 0, [registered(), visit(1)], context(), occurred_at=at)
    appended += await store.append("resident-li", 0, [registered(2)], context())
    appended += await store.append("resident-wang", 2, [visit(2)], context())
    await until_visible(store, appended[-1])

    everything = await store.read_all()

    entry_ids = [e.entry_id for e in everything]
    assert entry_ids == sorted(entry_ids) and len(set(entry_ids)) == 4
    assert [e.envelope.event_id for e in everything] == [e.event_id for e in appended]
    first = everything[0].envelope
    assert first.occurred_at == at
    assert first.occurred_at.utcoffset() == timedelta(0)
    assert first.occurred_at.tzinfo is not None
    assert first.data == {"name": "王秀英", "building": "幸福楼院 3 栋"}
    assert first.type == "kerneltest.ResidentRegistered"
    assert (first.stream_id, first.version, first.schema_version) == ("resident-wang", 1, 1)
    assert (first.community_id, first.actor) == ("c-xingfu", "worker:社区干事 李娟")
    assert first.correlation_id == appended[0].correlation_id and first.causation_id is None
    assert everything[1].envelope.data["note"] == "第 1 次走访：老人身体安好"
    assert all(e.envelope.occurred_at.utcoffset() == timedelta(0) for e in everything)
    assert all(e.envelope.occurred_at.tzinfo is not None for e in everything)
    assert everything[2].envelope.occurred_at > datetime(2025, 3, 8, tzinfo=UTC)


async def test_read_all_pages_through_everything_after_a_cursor(store):
    for number in range(7):
        appended = await store.append(f"resident-{number}", 0, [registered(number), visit(1)], context())
    await until_visible(store, appended[-1])

    pages, cursor = [], START
    while page := await store.read_all(after=cursor, limit=4):
        pages.append(page)
        cursor = page[-1].entry_id

    assert [len(page) for page in pages] == [4, 4, 4, 2]
    paged = [e.entry_id for page in pages for e in page]
    assert paged == [e.entry_id for e in await store.read_all(limit=100)]
    assert await store.read_all(after=paged[-1]) == []
    assert [e.entry_id for e in await store.read_all(after=paged[9])] == paged[10:]


async def test_an_event_written_in_an_old_schema_is_upcast_on_read(store):
    [appended] = await store.append("resident-wang", 0, [ResidentRenamedV1(full_name="王秀英")], context())
    await until_visible(store, appended)

    [stored] = await store.load("resident-wang")

    assert (stored.schema_version, stored.data) == (1, {"full_name": "王秀英"})
    assert stored.payload() == ResidentRenamed(name="王秀英", building="未登记")
    [entry] = await store.read_all()
    assert entry.envelope.payload() == ResidentRenamed(name="王秀英", building="未登记")


async def test_appending_no_events_writes_nothing(store):
    assert await store.append("resident-wang", 0, [], context()) == []
    assert await store.append("resident-wang", 5, [], context()) == []

    assert await store.load("resident-wang") == []
    assert await store.read_all() == []
    assert await read_everything(store) == []


async def test_entry_ids_grow_with_every_append(store):
    for number in range(5):
        [appended] = await store.append(f"resident-{number}", 0, [registered(number)], context())
    await until_visible(store, appended)

    entry_ids = [e.entry_id for e in await store.read_all()]

    assert all(isinstance(e, EntryId) for e in entry_ids)
    assert all(a < b for a, b in zip(entry_ids, entry_ids[1:]))
    assert entry_ids[0] > START
