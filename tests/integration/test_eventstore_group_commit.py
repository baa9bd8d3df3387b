"""Group commit: a burst of commands goes out as one statement, yet each keeps its own
outcome. Run on SQLite and on PostgreSQL alike, plus a PostgreSQL-only race."""

import asyncio

import asyncpg
import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select

from shared.eventstore import ConcurrencyConflict, StreamAppend
from tests.support.kernel import close_store, context, open_store, read_everything, registered, until_visible, visit


@pytest.fixture
async def store(database_url):
    store = await open_store(database_url, writer_connections=1)
    yield store
    await close_store(store)


async def test_a_burst_of_commands_is_stored_whole_with_positions_following_versions(store):
    outcomes = await asyncio.gather(
        *(store.append(f"resident-{n:03d}", 0, [registered(n), visit(1), visit(2)], context()) for n in range(60))
    )

    assert [len(appended) for appended in outcomes] == [3] * 60
    for n in (0, 31, 59):
        loaded = await store.load(f"resident-{n:03d}")
        assert [e.version for e in loaded] == [1, 2, 3]
        assert [e.position for e in loaded] == sorted(e.position for e in loaded)
        assert [e.position for e in loaded] == [e.position for e in outcomes[n]]
    await until_visible(store, outcomes[-1][-1])
    assert len(await read_everything(store)) == 180


async def test_a_stale_command_in_a_burst_is_refused_alone(store):
    await store.append("resident-wang", 0, [registered()], context())

    outcomes = await asyncio.gather(
        store.append("resident-li", 0, [registered(1)], context()),
        store.append("resident-wang", 0, [visit(1)], context()),  # stale: the stream is at 1
        store.append("resident-zhao", 0, [registered(2)], context()),
        store.append("resident-wang-2", 3, [visit(1)], context()),  # ahead of a new stream
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], list) and isinstance(outcomes[2], list)
    assert isinstance(outcomes[1], ConcurrencyConflict) and isinstance(outcomes[3], ConcurrencyConflict)
    assert [e.version for e in await store.load("resident-wang")] == [1]
    assert await store.load("resident-wang-2") == []
    assert [e.payload() for e in await store.load("resident-zhao")] == [registered(2)]


async def test_two_commands_of_one_stream_in_one_burst_get_one_success_and_one_conflict(store):
    outcomes = await asyncio.gather(
        store.append("resident-wang", 0, [registered()], context()),
        store.append("resident-wang", 0, [registered(1)], context()),
        store.append("resident-wang", 1, [visit(1)], context()),  # waits its turn, then fits
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], list)
    assert isinstance(outcomes[1], ConcurrencyConflict)
    assert isinstance(outcomes[2], list)
    assert [e.payload() for e in await store.load("resident-wang")] == [registered(), visit(1)]


async def test_a_unique_key_race_with_another_process_fails_only_the_command_that_lost(pg_url):
    """The guard cannot see a row another transaction has not committed: the insert then
    waits on the unique key and fails as a whole, and the batch is written one by one."""
    store = await open_store(pg_url, writer_connections=1)
    rival = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await store.append("resident-setup", 0, [registered()], context())  # makes the table
        setup = (await store.load("resident-setup"))[0]
        rival_tx = rival.transaction()
        await rival_tx.start()
        await rival.execute(
            "INSERT INTO events (event_id, stream_id, version, type, community_id, occurred_at, actor,"
            " correlation_id, schema_version, data) VALUES (gen_random_uuid(), 'resident-wang', 1, $1, $2,"
            " now(), 'rival', 'c', 1, '{}')",
            setup.type,
            setup.community_id,
        )
        burst = asyncio.gather(
            store.append("resident-zhao", 0, [registered(2)], context()),  # keeps the writer busy
            store.append("resident-wang", 0, [registered()], context()),  # so these two share a batch
            store.append("resident-li", 0, [registered(1)], context()),
            return_exceptions=True,
        )
        await asyncio.sleep(0.3)  # the batch is now waiting on the rival's row
        await rival_tx.commit()
        _, lost, won = await asyncio.wait_for(burst, 10)
    finally:
        await rival.close()
        await close_store(store)

    assert isinstance(lost, ConcurrencyConflict)
    assert isinstance(won, list) and won[0].stream_id == "resident-li"


async def test_an_append_to_several_streams_is_written_whole(store):
    await store.append("resident-wang", 0, [registered()], context())

    appended = await store.append_all(
        [
            StreamAppend("resident-wang", 1, [visit(1)]),
            StreamAppend("household-wang", 0, [registered(7), visit(2)]),
        ],
        context(),
    )

    assert [(e.stream_id, e.version) for e in appended] == [
        ("resident-wang", 2),
        ("household-wang", 1),
        ("household-wang", 2),
    ]
    assert [e.version for e in await store.load("household-wang")] == [1, 2]
    assert [e.position for e in await store.load("resident-wang")][-1] == appended[0].position


@pytest.mark.parametrize("streams", [400, 12_000])
async def test_an_append_of_thousands_of_new_streams_is_written_whole(store, streams):
    """An import: more rows than one plain VALUES statement takes on SQLite (its limit on
    parameters is 32,766 by default, 250,000 as Debian builds it)."""
    appends = [StreamAppend(f"household-{n:06d}", 0, [registered(n), visit(1)]) for n in range(streams)]

    appended = await store.append_all(appends, context())

    assert len(appended) == 2 * streams
    positions = [e.position for e in appended]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    last = await store.load(f"household-{streams - 1:06d}")
    assert [(e.version, e.position) for e in last] == [(e.version, e.position) for e in appended[-2:]]


async def test_an_append_to_several_streams_with_one_stale_writes_nothing(store):
    await store.append("resident-wang", 0, [registered()], context())

    outcomes = await asyncio.gather(
        store.append_all(
            [StreamAppend("household-wang", 0, [registered(7)]), StreamAppend("resident-wang", 0, [visit(1)])],
            context(),
        ),
        store.append("resident-li", 0, [registered(1)], context()),  # a neighbour in the queue is unaffected
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], ConcurrencyConflict)
    assert isinstance(outcomes[1], list)
    assert await store.load("household-wang") == []
    assert [e.version for e in await store.load("resident-wang")] == [1]


async def test_an_append_to_several_streams_losing_a_unique_key_race_writes_nothing(pg_url):
    store = await open_store(pg_url)
    rival = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        setup = (await store.append("resident-setup", 0, [registered()], context()))[0]
        rival_tx = rival.transaction()
        await rival_tx.start()
        await rival.execute(
            "INSERT INTO events (event_id, stream_id, version, type, community_id, occurred_at, actor,"
            " correlation_id, schema_version, data) VALUES (gen_random_uuid(), 'resident-wang', 1, $1, $2,"
            " now(), 'rival', 'c', 1, '{}')",
            setup.type,
            setup.community_id,
        )
        merge = asyncio.ensure_future(
            store.append_all(
                [StreamAppend("household-wang", 0, [registered(7)]), StreamAppend("resident-wang", 0, [visit(1)])],
                context(),
            )
        )
        await asyncio.sleep(0.3)
        await rival_tx.commit()
        with pytest.raises(ConcurrencyConflict):
            await asyncio.wait_for(merge, 10)
        assert await store.load("household-wang") == []
    finally:
        await rival.close()
        await close_store(store)


async def test_append_all_refuses_a_stream_named_twice(store):
    with pytest.raises(ValueError):
        await store.append_all(
            [StreamAppend("resident-wang", 0, [registered()]), StreamAppend("resident-wang", 1, [visit(1)])],
            context(),
        )


side_metadata = MetaData()
side_rows = Table("side_rows", side_metadata, Column("id", String(50), primary_key=True), Column("note", String(50)))


async def side_table(store) -> None:
    async with store.engine.begin() as conn:
        await conn.run_sync(side_metadata.create_all)


async def side_ids(store) -> list[str]:
    async with store.engine.connect() as conn:
        return sorted((await conn.execute(select(side_rows.c.id))).scalars())


async def test_rows_written_alongside_an_append_commit_with_it(store):
    await side_table(store)

    async def alongside(conn) -> None:
        await conn.execute(insert(side_rows), [{"id": "key-wang", "note": "a"}, {"id": "index-wang", "note": "b"}])

    appended = await store.append_all([StreamAppend("resident-wang", 0, [registered()])], context(), alongside=alongside)

    assert [e.version for e in appended] == [1]
    assert await side_ids(store) == ["index-wang", "key-wang"]
    # The writer's connection is still good for the next command.
    assert len(await store.append("resident-li", 0, [registered(1)], context())) == 1


async def test_an_append_whose_alongside_writes_fail_writes_nothing(store):
    await side_table(store)

    async def alongside(conn) -> None:
        await conn.execute(insert(side_rows), [{"id": "key-wang", "note": "a"}])
        raise RuntimeError("the keys could not be stored")

    with pytest.raises(RuntimeError, match="keys could not be stored"):
        await store.append_all(
            [StreamAppend("resident-wang", 0, [registered()]), StreamAppend("household-wang", 0, [visit(1)])],
            context(),
            alongside=alongside,
        )

    assert await store.load("resident-wang") == [] and await store.load("household-wang") == []
    assert await side_ids(store) == []
    assert len(await store.append("resident-wang", 0, [registered()], context())) == 1


async def test_a_stale_append_does_not_run_its_alongside_writes(store):
    await side_table(store)
    await store.append("resident-wang", 0, [registered()], context())
    ran = []

    async def alongside(conn) -> None:
        ran.append(True)
        await conn.execute(insert(side_rows), [{"id": "key-wang", "note": "a"}])

    with pytest.raises(ConcurrencyConflict):
        await store.append_all([StreamAppend("resident-wang", 0, [visit(1)])], context(), alongside=alongside)

    assert ran == [] and await side_ids(store) == []
