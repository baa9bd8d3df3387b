"""The event store's append path: group commit on held connections.

Commands that arrive while a write is in flight queue up, and the next write takes
them all as one INSERT statement of fixed text (PostgreSQL: `unnest` of one array per
column; SQLite: `json_each` over one JSON parameter), committed as one transaction.
Under load that is one round trip and one commit for many commands; alone, a command
still goes straight out, as the cheaper plain multi-row INSERT (`eventstore_sql.py`). Each command keeps its own version guard, so a stale command
is refused without failing the others in its batch. A batch never holds two commands
of one stream (the second waits for the next batch, when it can see the first).

Only a unique-key race with another process (a row committed between the guard's
look and the insert) makes the statement fail as a whole; the batch is then
written again one command at a time, so the error lands on the command that caused it.

Connections are held and their drivers used directly: checking one out of
SQLAlchemy's pool per append cost more than the insert itself (3.7 k against 5.2 k
events/s on PostgreSQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import is_sqlite
from shared.eventstore_sql import SQLITE_WRITTEN, AppendStatements, Row

# At most this many events in one statement (a bound on statement size and latency).
_MAX_BATCH_EVENTS = 1000


class DuplicateKey(Exception):
    """The command's stream is not at the version it expected."""


Positions = dict[tuple[str, int], int]
"""Position of each written event by (stream_id, version)."""

Alongside = Callable[[AsyncConnection], Awaitable[None]]
"""Writes to the service's other tables in an append's transaction: it is given the
connection (SQLAlchemy, in autocommit mode, inside the transaction the writer began)."""


@dataclass
class _Command:
    rows: Sequence[Row]
    expected: dict[str, int]
    """The version each stream written must be at before the command."""
    atomic: bool = False
    """Several streams, all or none: written alone, in a transaction of its own."""
    alongside: Alongside | None = None
    """An atomic command's other writes, in its transaction after its events."""
    done: asyncio.Future[Positions] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommitWriter:
    """Appends commands, batching those that queue up behind a write in flight."""

    def __init__(self, engine: AsyncEngine, connections: int):
        # Autocommit: each statement is its own transaction, committed before it returns.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sqlite = is_sqlite(engine)
        self._statements = AppendStatements(self._sqlite)
        self._connections = connections
        self._queue: list[_Command] = []
        self._flushers = 0
        # Idle (connection, its driver connection) pairs, and how many are open.
        self._idle: list[tuple[AsyncConnection, Any]] = []
        self._opened = 0
        self._tasks: set[asyncio.Task[None]] = set()  # held, or the loop may collect them

    async def insert(self, rows: Sequence[Row]) -> Positions:
        """Inserts one command's rows (one stream) if its stream is at the version before
        the first; raises DuplicateKey otherwise."""
        if not self._queue and self._idle and self._flushers < self._connections:
            return await self._insert_alone(rows)
        return await self._submit(_Command(rows, {rows[0][1]: rows[0][2] - 1}))

    async def _insert_alone(self, rows: Sequence[Row]) -> Positions:
        """Nothing waits and a connection is free: write now, without queue or future
        (a tenth of a lone command's cost). Commands that queue meanwhile are handed over
        as a leader's would be."""
        self._flushers += 1
        connection, driver = self._idle.pop()
        try:
            inserted = await self._execute_rows(driver, rows, None)
        except Exception as error:
            if _is_integrity_error(error):
                self._idle.append((connection, driver))
                raise DuplicateKey(str(error)) from error
            await self._discard(connection)
            raise
        except BaseException:
            await self._discard(connection)  # cancelled mid-write: its state is unknown
            raise
        else:
            self._idle.append((connection, driver))
        finally:
            self._flushers -= 1
            self._hand_over()
        if len(inserted) != len(rows):
            raise DuplicateKey(f"{rows[0][1]} is not at version {rows[0][2] - 1}")
        return inserted

    async def insert_atomic(
        self, rows: Sequence[Row], expected: dict[str, int], alongside: Alongside | None = None
    ) -> Positions:
        """Inserts rows of several streams, all or none: each stream must be at its
        expected version; raises DuplicateKey otherwise, having written nothing. `alongside`
        runs in the same transaction once the rows are in; what it raises rolls all back
        and reaches the caller."""
        return await self._submit(_Command(rows, expected, atomic=True, alongside=alongside))

    async def _submit(self, command: _Command) -> Positions:
        self._queue.append(command)
        if self._flushers < self._connections:
            # Lead: write batches in this task until our own command is done (alone, that
            # is one batch and no task switch), then leave any queue to a background task.
            self._flushers += 1
            try:
                await self._flush(until=command.done)
            finally:
                self._flushers -= 1
                self._hand_over()
        return await command.done

    async def close(self) -> None:
        while self._idle:
            connection, _driver = self._idle.pop()
            await self._discard(connection)

    def _hand_over(self) -> None:
        """Leaves what still waits to a background writer, if a connection is free."""
        if self._queue and self._flushers < self._connections:
            self._flushers += 1
            task = asyncio.get_running_loop().create_task(self._flush_in_background())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush_in_background(self) -> None:
        try:
            await self._flush()
        finally:
            self._flushers -= 1

    async def _flush(self, until: asyncio.Future | None = None) -> None:
        """Writes batches until the queue is empty or `until` is done."""
        batch: list[_Command] = []
        try:
            while not (until is not None and until.done()) and (batch := self._next_batch()):
                try:
                    connection, driver = await self._acquire()
                except Exception as error:
                    _fail(batch, error)
                    continue
                try:
                    await self._write(connection, driver, batch)
                except Exception as error:
                    # A broken connection (a refused command does not raise): drop it, fail the batch.
                    await self._discard(connection)
                    _fail(batch, error)
                else:
                    self._idle.append((connection, driver))
        except BaseException:
            # Cancelled mid-write: fail the batch in hand; the rest goes on in another writer.
            _fail(batch, ConnectionError("the write was cancelled; its outcome is unknown"))
            raise

    def _next_batch(self) -> list[_Command]:
        batch: list[_Command] = []
        streams: set[str] = set()
        events = 0
        waiting: list[_Command] = []
        for index, command in enumerate(self._queue):
            if command.atomic:
                if batch:
                    waiting.append(command)
                    continue
                self._queue = self._queue[index + 1 :]
                return [command]
            fits = events + len(command.rows) <= _MAX_BATCH_EVENTS or not batch
            if not fits or streams.intersection(command.expected):
                waiting.append(command)
                continue
            batch.append(command)
            streams.update(command.expected)
            events += len(command.rows)
        self._queue = waiting
        return batch

    async def _write(self, connection: AsyncConnection, driver: Any, batch: list[_Command]) -> None:
        if batch[0].atomic:
            await self._write_atomic(connection, driver, batch[0])
            return
        try:
            inserted = await self._execute(driver, batch)
        except Exception as error:
            if not _is_integrity_error(error):
                raise
            if len(batch) > 1:
                for command in batch:
                    await self._write(connection, driver, [command])
                return
            _fail(batch, DuplicateKey(str(error)))
            return
        for command in batch:
            _settle(command, inserted)

    async def _write_atomic(self, connection: AsyncConnection, driver: Any, command: _Command) -> None:
        """One command's rows in a transaction of its own, with its `alongside` writes;
        refused (nothing written) by a stale version guard or a unique key, or failed by
        what `alongside` raises."""
        outcome: Positions | Exception
        if self._sqlite:
            await driver.execute("BEGIN IMMEDIATE")
            try:
                outcome = await self._atomic_body(connection, driver, command)
            except BaseException:
                await driver.execute("ROLLBACK")
                raise
            await driver.execute("COMMIT" if isinstance(outcome, dict) else "ROLLBACK")
        else:
            try:
                async with driver.transaction():
                    outcome = await self._atomic_body(connection, driver, command)
                    if not isinstance(outcome, dict):
                        raise _Refused
            except _Refused:
                pass
        if isinstance(outcome, dict):
            _settle(command, outcome)
        else:
            _fail([command], outcome)

    async def _atomic_body(self, connection: AsyncConnection, driver: Any, command: _Command) -> Positions | Exception:
        """The positions written, or the error that refuses the command (to roll back)."""
        try:
            inserted = await self._execute(driver, [command])
        except Exception as error:
            if not _is_integrity_error(error):
                raise
            return DuplicateKey(str(error))
        if len(inserted) < len(command.rows):
            return DuplicateKey("a stream is not at the version the command expected")
        if command.alongside is not None:
            try:
                await command.alongside(connection)
            except Exception as error:  # noqa: BLE001 - the caller's own error, handed back to it
                return error
        return inserted

    async def _execute(self, driver: Any, batch: list[_Command]) -> Positions:
        rows = [row for command in batch for row in command.rows]
        if len(batch) == 1 and len(batch[0].expected) == 1:
            return await self._execute_rows(driver, rows, None)
        expected = {stream: version for command in batch for stream, version in command.expected.items()}
        return await self._execute_rows(driver, rows, expected)

    async def _execute_rows(self, driver: Any, rows: Sequence[Row], expected: dict[str, int] | None) -> Positions:
        """`expected` None: the rows of one command on one stream (the cheaper statement)."""
        if expected is None:
            statement, params = self._statements.single(rows)
        else:
            statement, params = self._statements.batch(rows, expected)
        if not self._sqlite:
            returned = await driver.fetch(statement, *params)
            return {(stream_id, version): position for position, stream_id, version in returned}
        cursor = await driver.execute(statement, params)
        written = cursor.rowcount
        if written == len(rows):
            first = cursor.lastrowid - written + 1
            return {(row[1], row[2]): first + offset for offset, row in enumerate(rows)}
        if written <= 0 or expected is None:
            return {}  # the version guard refused it (a lone command: all or nothing)
        # Some commands of the batch were refused: ask which rows were written.
        last = cursor.lastrowid
        returned = await driver.execute_fetchall(SQLITE_WRITTEN, (last - written + 1, last))
        return {(stream_id, version): position for position, stream_id, version in returned}

    async def _acquire(self) -> tuple[AsyncConnection, Any]:
        if self._idle:
            return self._idle.pop()
        self._opened += 1
        connection = None
        try:
            connection = await self._engine.connect()
            return connection, (await connection.get_raw_connection()).driver_connection
        except BaseException:
            self._opened -= 1
            if connection is not None:
                await connection.close()
            raise

    async def _discard(self, connection: AsyncConnection) -> None:
        self._opened -= 1
        try:
            await connection.invalidate()
            await connection.close()
        except Exception:  # noqa: BLE001 - the connection is already broken
            pass


class _Refused(Exception):
    """Rolls back an atomic command that a version guard refused."""


def _settle(command: _Command, inserted: Positions) -> None:
    """The command's positions, or DuplicateKey if a guard refused it (nothing of it was written)."""
    if command.done.done():
        return  # its caller gave up waiting
    positions = {key: inserted[key] for key in ((row[1], row[2]) for row in command.rows) if key in inserted}
    if len(positions) == len(command.rows):
        command.done.set_result(positions)
    else:
        streams = ", ".join(f"{stream} at {version}" for stream, version in command.expected.items())
        command.done.set_exception(DuplicateKey(f"not every stream is where the command expected: {streams}"))


def _fail(batch: list[_Command], error: Exception) -> None:
    for command in batch:
        if not command.done.done():
            command.done.set_exception(error)


def _is_integrity_error(error: BaseException) -> bool:
    name = type(error).__name__
    return name in ("UniqueViolationError", "IntegrityError")
