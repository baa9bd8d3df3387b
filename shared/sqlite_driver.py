"""SQLite for SQLAlchemy's asyncio engine, run on the event loop's own thread.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on a thread of its
own and wakes the loop for each answer: a one-row read through SQLAlchemy cost about
520 us of CPU, nearly all of it in those hand-overs, against about 125 us here. A
SQLite statement on a local file takes microseconds, so this driver runs it in place.

What could wait runs on a thread instead: the connection's busy timeout is 0, so a
statement that finds the database locked (`BEGIN IMMEDIATE` while another process
writes, mostly) fails at once with SQLITE_BUSY without having done anything; it is then
run again on a thread with the full busy timeout, as aiosqlite would have run it, so
the loop never sleeps on a lock. A caller cancelled meanwhile leaves that statement
running; the connection's next call waits for it first (as aiosqlite's queue would),
so a rollback cannot overtake the `BEGIN IMMEDIATE` it is meant to undo.

The objects mimic the part of aiosqlite's API that SQLAlchemy's `aiosqlite` dialect
and our own code (`driver_connection.execute`, `execute_fetchall`) use; the exceptions
are sqlite3's, as aiosqlite's are.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

_SQLITE_BUSY = 5


BULK_VALUES = 2_000
"""A statement given more values than this (a batch of an import, a read model's run of
upserts) runs on a thread, as aiosqlite ran every statement: it may take tens of
milliseconds, which the loop would otherwise spend not serving anyone else."""


def _values(parameters: Any) -> int:
    return len(parameters) if isinstance(parameters, (list, tuple, dict)) else 0


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) == _SQLITE_BUSY


class LoopCursor:
    """An aiosqlite-like cursor over a sqlite3 cursor."""

    def __init__(self, connection: LoopConnection, cursor: sqlite3.Cursor):
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> LoopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> LoopCursor:
        await self._connection.run(self._cursor.execute, sql, parameters, bulk=_values(parameters) > BULK_VALUES)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> LoopCursor:
        rows = list(parameters)
        bulk = sum(map(_values, rows)) > BULK_VALUES
        await self._connection.run(self._cursor.executemany, sql, rows, bulk=bulk)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        await self._connection.settled()
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _InPlace:
    """Stands for aiosqlite's call queue, which SQLAlchemy uses to set `isolation_level`."""

    def put_nowait(self, item: tuple[asyncio.Future, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # noqa: BLE001 - handed to the waiting caller
            future.set_exception(error)


class LoopConnection:
    """An aiosqlite-like connection whose calls run on the loop (see the module's doc)."""

    def __init__(self, connection: sqlite3.Connection, busy_timeout_s: float):
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # None once closed
        self._tx = _InPlace()
        self.busy_timeout_ms = int(busy_timeout_s * 1000)
        self._on_thread: asyncio.Future | None = None

    async def run(self, function: Callable[..., Any], *args: Any, bulk: bool = False) -> Any:
        """`function(*args)` here, or on a thread with the busy timeout if the database is
        locked or the statement is `bulk`."""
        await self.settled()
        if not bulk:
            try:
                return function(*args)
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
        self._on_thread = asyncio.get_running_loop().run_in_executor(None, self._waiting, function, args)
        return await asyncio.shield(self._on_thread)

    async def settled(self) -> None:
        """Returns once no statement of this connection runs on a thread."""
        if self._on_thread is not None:
            if not self._on_thread.done():
                await asyncio.wait([self._on_thread])
            self._on_thread.exception()  # seen: its caller has it, or was cancelled and gave it up
            self._on_thread = None

    def _waiting(self, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        self._conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        try:
            return function(*args)
        finally:
            self._conn.execute("PRAGMA busy_timeout = 0")

    def cursor(self) -> LoopCursor:
        # aiosqlite's cursor() is awaited or entered; SQLAlchemy enters it.
        return LoopCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> LoopCursor:
        cursor = LoopCursor(self, self._conn.cursor())
        return await cursor.execute(sql, parameters)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> LoopCursor:
        cursor = LoopCursor(self, self._conn.cursor())
        return await cursor.executemany(sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> list[Any]:
        cursor = await self.execute(sql, parameters)
        try:
            return cursor._cursor.fetchall()
        finally:
            cursor._cursor.close()

    async def commit(self) -> None:
        await self.run(self._conn.commit)

    async def rollback(self) -> None:
        await self.settled()
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        await self.settled()
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction


def connector(database: str, busy_timeout_s: float, **options: Any) -> Callable[[], Awaitable[LoopConnection]]:
    """For `create_async_engine(..., async_creator=...)`: opens `database` (sqlite3.connect's
    `database` and `options`, e.g. `uri=True`)."""

    async def connect() -> LoopConnection:
        connection = sqlite3.connect(database, timeout=0, check_same_thread=False, **options)
        return LoopConnection(connection, busy_timeout_s)

    return connect
