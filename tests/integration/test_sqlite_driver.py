"""The SQLite driver runs statements on the loop, and waits for another writer's lock on a thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from sqlalchemy import text

from shared.db import create_engine, write_transaction
from shared.sqlite_driver import BULK_VALUES


async def test_a_writer_waits_for_another_process_lock_without_stopping_the_loop(tmp_path):
    path = tmp_path / "locked.db"
    engine = create_engine(f"sqlite:///{path}")
    async with write_transaction(engine) as conn:
        await conn.execute(text("CREATE TABLE households (id TEXT PRIMARY KEY, head TEXT)"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing: the lock is taken
    other.execute("INSERT INTO households VALUES ('h1', '王秀英')")

    async def register_second() -> None:
        async with write_transaction(engine) as conn:
            await conn.execute(text("INSERT INTO households VALUES ('h2', '李强')"))

    writer = asyncio.create_task(register_second())
    await asyncio.sleep(0)  # the writer runs up to the lock, and waits for it on a thread
    async with engine.connect() as conn:  # the loop still serves readers meanwhile
        before = (await conn.execute(text("SELECT count(*) FROM households"))).scalar_one()
    assert before == 0
    assert not writer.done()

    other.execute("COMMIT")
    await writer
    async with engine.connect() as conn:
        heads = (await conn.execute(text("SELECT head FROM households ORDER BY id"))).scalars().all()
    assert heads == ["王秀英", "李强"]
    other.close()
    await engine.dispose()


async def test_a_writer_cancelled_while_waiting_for_the_lock_leaves_no_transaction_open(tmp_path):
    path = tmp_path / "cancelled.db"
    engine = create_engine(f"sqlite:///{path}")
    async with write_transaction(engine) as conn:
        await conn.execute(text("CREATE TABLE reports (id TEXT PRIMARY KEY)"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def write(report_id: str) -> None:
        async with write_transaction(engine) as conn:
            await conn.execute(text("INSERT INTO reports VALUES (:id)"), {"id": report_id})

    abandoned = asyncio.create_task(write("r1"))
    await asyncio.sleep(0)  # waiting for the lock on a thread
    abandoned.cancel()
    other.execute("COMMIT")  # its BEGIN IMMEDIATE now gets the lock, and must be rolled back
    try:
        await abandoned
    except asyncio.CancelledError:
        pass

    await write("r2")  # would wait 30 s and fail if the abandoned transaction kept the lock
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT id FROM reports"))).scalars().all() == ["r2"]
    other.close()
    await engine.dispose()


async def test_a_failed_statement_raises_the_driver_error_and_leaves_the_connection_usable(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'errors.db'}")
    async with write_transaction(engine) as conn:
        await conn.execute(text("CREATE TABLE residents (id TEXT PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO residents VALUES ('r1')"))
    try:
        async with write_transaction(engine) as conn:
            await conn.execute(text("INSERT INTO residents VALUES ('r1')"))
    except Exception as error:  # noqa: BLE001
        assert type(error).__name__ == "IntegrityError"
    else:
        raise AssertionError("a duplicate key must be refused")
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM residents"))).scalar_one() == 1
    await engine.dispose()


async def test_a_bulk_statement_runs_on_a_thread_and_a_small_one_on_the_loop(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    async with write_transaction(engine) as conn:
        await conn.execute(text("CREATE TABLE residents (id INTEGER PRIMARY KEY, written_on INTEGER)"))
        raw = await conn.get_raw_connection()
        await raw.driver_connection.create_function("thread_id", 0, threading.get_ident)
    insert = text("INSERT INTO residents VALUES (:id, thread_id())")
    async with write_transaction(engine) as conn:
        await conn.execute(insert, [{"id": number} for number in range(3)])
        await conn.execute(insert, [{"id": number} for number in range(3, 3 + BULK_VALUES + 1)])
    async with engine.connect() as conn:
        small = (await conn.execute(text("SELECT DISTINCT written_on FROM residents WHERE id < 3"))).scalars().all()
        bulk = (await conn.execute(text("SELECT DISTINCT written_on FROM residents WHERE id >= 3"))).scalars().all()
    assert small == [threading.get_ident()]
    assert len(bulk) == 1 and bulk[0] != threading.get_ident()
    await engine.dispose()
