"""Event store benchmark: our `EventStore` against the bare driver, on SQLite and PostgreSQL.

    .venv/bin/python -m tests.bench.eventstore [--db sqlite|postgres|both] [--quick]
                                               [--repeat 3] [--slices 8] [--scale 1.0]
                                               [--scenarios a,b] [--no-tail] [--profile]

stdout: one JSON line per measurement and nothing else; progress goes to stderr.
    {"system", "db", "scenario", "events", "seconds", "events_per_s", "p50_ms", "p99_ms"}
plus, for `append_4_writers*` on PostgreSQL, what a tailing reader saw:
    "skipped" (must be 0 for fivezero), "tail_checked", "out_of_order", "duplicates".

Systems:
- `fivezero`: `shared.db.create_engine` + `EventStore.append/load/read_all`.
- `raw`: the bare driver (asyncpg / sqlite3 on the event loop, as `shared.sqlite_driver` runs it) on an identical `events` table (same DDL,
  made by `EventStore.setup()`): one multi-row INSERT per command in autocommit, no
  RETURNING, no ordering guarantee; SQLite with the PRAGMAs of `shared/db.py`.

Scenarios:
- `append_1_writer`: N commands, each a new stream of 2 events; latency per command.
- `append_4_writers`: the same commands over 4 concurrent writer tasks sharing one store
  (one EventStore per process, 4 held writer connections: how a service runs);
  raw: 4 connections.
- `append_4_writers_4stores` (fivezero only): 4 writers, each with its own EventStore on
  its own engine, as 4 single-writer processes would have (in one process here).
- `read_stream`: load a random stream of 20 events, repeatedly; events = events read.
- `read_all`: pages of 500 through a whole store, decoded (envelopes / json.loads).

On PostgreSQL the append_4_writers runs have a tailing reader in a separate process, as
the relay's worker is: fivezero tails with `read_all(after=cursor, 500)`, raw with the
naive `position > last`, polling every 5 ms when it has caught up. It follows its system
through a whole run (between that system's slices it catches up and then rests), then
drains to the end and compares what it saw with every row the run wrote.

Each measurement: one warm-up, then `--repeat` runs, reporting the run with the median
events/s. The machine is shared and noisy, so each run is cut into `--slices` parts that
alternate between the systems (order rotated), and a change in background load hits
both alike; `seconds` is the sum of a system's parts. (read_all: one pass per run, not
sliced.) Skip counts are totals over the measured runs. stderr also shows each run and
the client process's CPU per event, a figure the background load disturbs less.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import random
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from shared.db import create_engine, ensure_schema
from shared.ids import uuid7
from shared.main import fastest_loop
from shared.sqlite_driver import LoopConnection, connector
from shared.eventstore import START, EntryId, EventStore
from shared.eventstore_sql import to_json
from shared.events import CommandContext, DomainEvent

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
COLUMNS = (
    "event_id, stream_id, version, type, community_id, occurred_at, actor,"
    " correlation_id, causation_id, schema_version, data"
)
WIDTH = 11
READ_COLUMNS = (
    "position, event_id, type, stream_id, version, community_id, occurred_at, actor,"
    " correlation_id, causation_id, schema_version, data"
)
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
PAGE = 500
STREAM_LEN = 20
EVENTS_PER_COMMAND = 2
WRITERS = 4
COMMUNITY = "community-bench"
ACTOR = "user:bench-operator"

# Sizes per measurement, chosen for ~3-6 s of the slower system on this machine.
# Append scenarios count commands (2 events each); read_stream counts loads;
# read_all counts the events in the store it pages through.
SIZES = {
    "sqlite": {
        "append_1_writer": 16_000,
        "append_4_writers": 16_000,
        "append_4_writers_4stores": 16_000,
        "read_stream": 4_000,
        "read_all": 60_000,
    },
    "postgres": {
        "append_1_writer": 8_000,
        "append_4_writers": 16_000,
        "append_4_writers_4stores": 16_000,
        "read_stream": 5_000,
        "read_all": 150_000,
    },
}
SCENARIOS = tuple(SIZES["sqlite"])


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class BenchRecorded(DomainEvent):
    """A household-sized event (not registered: nothing here decodes payloads)."""

    event_type = "bench.Recorded"

    household_id: str
    seq: int
    status: str
    note: str


@dataclass
class Command:
    stream_id: str
    events: list[BenchRecorded]
    # What model_dump(mode="json") gives, made before timing: raw inserts these, while
    # EventStore.append dumps the events itself (about 3 us an event of its overhead).
    payloads: list[dict[str, Any]]
    context: CommandContext


def make_commands(n: int) -> list[Command]:
    commands = []
    for _ in range(n):
        household = str(uuid.uuid4())
        events = [
            BenchRecorded(
                household_id=household,
                seq=seq,
                status="registered" if seq == 0 else "verified",
                note="Ménage enregistré au guichet de l'intake, vérifié par l'agent.",
            )
            for seq in range(EVENTS_PER_COMMAND)
        ]
        commands.append(
            Command(
                stream_id=f"household-{household}",
                events=events,
                payloads=[event.model_dump(mode="json") for event in events],
                context=CommandContext.new(COMMUNITY, ACTOR),
            )
        )
    return commands


def insert_sql(rows: int, sqlite: bool) -> str:
    if sqlite:
        groups = ", ".join(["(" + ", ".join(["?"] * WIDTH) + ")"] * rows)
    else:
        groups = ", ".join(
            "(" + ", ".join(f"${row * WIDTH + col + 1}" for col in range(WIDTH)) + ")"
            for row in range(rows)
        )
    return f"INSERT INTO events ({COLUMNS}) VALUES {groups}"


def row_params(
    stream_id: str,
    first_version: int,
    payloads: Sequence[dict[str, Any]],
    context: CommandContext,
    sqlite: bool,
) -> list:
    """The rows EventStore.append would write, as bare driver parameters."""
    now = datetime.now(UTC)
    occurred_at = now.strftime(SQLITE_TIME) if sqlite else now
    params: list = []
    for offset, payload in enumerate(payloads):
        event_id = uuid7()
        params += [
            event_id.hex if sqlite else event_id,
            stream_id,
            first_version + offset,
            BenchRecorded.event_type,
            context.community_id,
            occurred_at,
            context.actor,
            context.correlation_id,
            context.causation_id,
            BenchRecorded.schema_version,
            to_json(payload),
        ]
    return params


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


@dataclass
class Run:
    events: int
    seconds: float
    latencies: list[float]
    tail: dict[str, Any] | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


# --- databases ---------------------------------------------------------------------


class Database:
    """Where one system's tables live: a PostgreSQL schema or a SQLite file."""

    name: str
    read_store: ReadStore | None = None  # populated once, for both read scenarios

    def url(self, where: str) -> str:
        raise NotImplementedError

    def schema(self, where: str) -> str | None:
        return None

    async def fivezero_store(self, where: str) -> EventStore:
        engine = create_engine(self.url(where), self.schema(where))
        await ensure_schema(engine, self.schema(where))
        store = EventStore(engine)
        await store.setup()
        return store

    async def create_table(self, where: str) -> None:
        """The events table, made by the store itself so both systems get the same DDL."""
        store = await self.fivezero_store(where)
        await store.close()
        await store.engine.dispose()


class Postgres(Database):
    name = "postgres"

    def __init__(self, base_url: str):
        self.base = make_url(base_url).set(drivername="postgresql+asyncpg")
        self.database = f"fz_bench_{secrets.token_hex(5)}"

    def admin_dsn(self) -> str:
        return self.base.set(drivername="postgresql").render_as_string(hide_password=False)

    def url(self, where: str) -> str:
        return self.base.set(database=self.database).render_as_string(hide_password=False)

    def dsn(self) -> str:
        return (
            self.base.set(drivername="postgresql", database=self.database)
            .render_as_string(hide_password=False)
        )

    def schema(self, where: str) -> str | None:
        return where

    async def connect(self, where: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn(), server_settings={"search_path": where})

    async def create(self) -> None:
        admin = await asyncpg.connect(self.admin_dsn(), timeout=5)
        try:
            await admin.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await admin.close()

    async def drop(self) -> None:
        admin = await asyncpg.connect(self.admin_dsn(), timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await admin.close()

    async def populate(self, where: str, rows: list[list]) -> None:
        conn = await self.connect(where)
        try:
            for start in range(0, len(rows), PAGE):
                chunk = rows[start : start + PAGE]
                await conn.execute(
                    insert_sql(len(chunk), sqlite=False), *[v for row in chunk for v in row]
                )
            await conn.execute("ANALYZE events")
        finally:
            await conn.close()


class Sqlite(Database):
    name = "sqlite"

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="fz_bench_"))

    def path(self, where: str) -> Path:
        return self.directory / f"{where}.db"

    def url(self, where: str) -> str:
        return f"sqlite+aiosqlite:///{self.path(where)}"

    async def connect(self, where: str) -> LoopConnection:
        """sqlite3 run on the loop, as the store's engine runs it (`shared.sqlite_driver`):
        aiosqlite's thread hand-offs would slow raw down more than the store."""
        conn = await connector(str(self.path(where)), 30, isolation_level=None)()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):  # the driver waits out a lock on a thread
            await conn.execute(f"PRAGMA {pragma}")
        return conn

    async def populate(self, where: str, rows: list[list]) -> None:
        conn = sqlite3.connect(self.path(where), isolation_level=None)
        try:
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * WIDTH)})", rows)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
        finally:
            conn.close()

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


# --- contenders: one system in one scenario, set up once, run many times ---------------


class Contender:
    system: str
    scenario: str
    tail: Tail | None = None

    async def open(self) -> None: ...

    async def run(self, size: int) -> Run:
        raise NotImplementedError

    async def close(self) -> None:
        if self.tail:
            self.tail.stop()


async def timed_appends(
    writers: Sequence[Callable[[Command], Awaitable[Any]]], commands: list[Command]
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    clock = time.perf_counter

    async def writer(append: Callable[[Command], Awaitable[Any]], share: list[Command]) -> None:
        for command in share:
            started = clock()
            await append(command)
            latencies.append(clock() - started)

    shares = [commands[i :: len(writers)] for i in range(len(writers))]
    started = clock()
    await asyncio.gather(*(writer(w, s) for w, s in zip(writers, shares, strict=True)))
    return clock() - started, latencies


class AppendContender(Contender):
    def __init__(
        self, db: Database, system: str, scenario: str, writers: int, stores: int, with_tail: bool
    ):
        self.db = db
        self.with_tail = with_tail
        self.system = system
        self.scenario = scenario
        self.where = f"{system}_{scenario}"
        self.writers = writers
        self.stores_wanted = stores
        self.stores: list[EventStore] = []
        self.connections: list[Any] = []

    async def open(self) -> None:
        if self.system == "fivezero":
            for _ in range(self.stores_wanted):
                self.stores.append(await self.db.fivezero_store(self.where))
        else:
            await self.db.create_table(self.where)
            for _ in range(self.writers):
                self.connections.append(await self.db.connect(self.where))
        if isinstance(self.db, Postgres) and self.writers > 1 and self.with_tail:
            self.tail = Tail(self.db, self.system, self.where)

    def _appenders(self) -> list[Callable[[Command], Awaitable[Any]]]:
        if self.system == "fivezero":
            stores = (self.stores * self.writers)[: self.writers]

            def fivezero(store: EventStore) -> Callable[[Command], Awaitable[Any]]:
                async def append(command: Command) -> Any:
                    return await store.append(command.stream_id, 0, command.events, command.context)

                return append

            return [fivezero(store) for store in stores]
        sqlite = isinstance(self.db, Sqlite)
        statement = insert_sql(EVENTS_PER_COMMAND, sqlite)

        def raw(conn: Any) -> Callable[[Command], Awaitable[Any]]:
            if sqlite:

                async def append(command: Command) -> Any:
                    params = row_params(command.stream_id, 1, command.payloads, command.context, True)
                    return await conn.execute_fetchall(statement, params)

            else:

                async def append(command: Command) -> Any:
                    params = row_params(command.stream_id, 1, command.payloads, command.context, False)
                    return await conn.execute(statement, *params)

            return append

        return [raw(conn) for conn in self.connections]

    async def run(self, size: int) -> Run:
        commands = make_commands(size)
        seconds, latencies = await timed_appends(self._appenders(), commands)
        return Run(size * EVENTS_PER_COMMAND, seconds, latencies)

    async def close(self) -> None:
        await super().close()
        for store in self.stores:
            await store.close()
            await store.engine.dispose()
        for conn in self.connections:
            await conn.close()


@dataclass
class ReadStore:
    """The same rows in a fivezero table and a raw table: streams of STREAM_LEN events."""

    streams: list[str] = field(default_factory=list)
    events: int = 0


async def populate_read_stores(db: Database, events: int) -> ReadStore:
    sqlite = isinstance(db, Sqlite)
    streams = max(1, events // STREAM_LEN)
    rows: list[list] = []
    read_store = ReadStore()
    for _ in range(streams):
        command = make_commands(1)[0]
        payloads = [command.payloads[v % EVENTS_PER_COMMAND] for v in range(STREAM_LEN)]
        params = row_params(command.stream_id, 1, payloads, command.context, sqlite)
        rows += [params[i : i + WIDTH] for i in range(0, len(params), WIDTH)]
        read_store.streams.append(command.stream_id)
    read_store.events = len(rows)
    for system in ("fivezero", "raw"):
        await db.create_table(f"{system}_read")
        await db.populate(f"{system}_read", rows)
    return read_store


class ReadContender(Contender):
    def __init__(self, db: Database, system: str, scenario: str, read_store: ReadStore):
        self.db = db
        self.system = system
        self.scenario = scenario
        self.where = f"{system}_read"
        self.read_store = read_store
        self.store: EventStore | None = None
        self.conn: Any = None
        self.rng = random.Random(42)

    async def open(self) -> None:
        if self.system == "fivezero":
            engine = create_engine(self.db.url(self.where), self.db.schema(self.where))
            self.store = EventStore(engine)
        else:
            self.conn = await self.db.connect(self.where)

    async def close(self) -> None:
        if self.store:
            await self.store.close()
            await self.store.engine.dispose()
        if self.conn:
            await self.conn.close()

    async def _raw_rows(self, sql: str, *args: Any) -> list:
        if isinstance(self.db, Sqlite):
            rows = await self.conn.execute_fetchall(sql.replace("$1", "?"), args)
        else:
            rows = await self.conn.fetch(sql, *args)
        return [(*row[:-1], json.loads(row[-1])) for row in rows]

    async def run(self, size: int) -> Run:
        clock = time.perf_counter
        latencies: list[float] = []
        events = 0
        if self.scenario == "read_stream":
            streams = [self.rng.choice(self.read_store.streams) for _ in range(size)]
            sql = f"SELECT {READ_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version"
            started = clock()
            for stream_id in streams:
                began = clock()
                if self.store:
                    loaded = await self.store.load(stream_id)
                else:
                    loaded = await self._raw_rows(sql, stream_id)
                latencies.append(clock() - began)
                events += len(loaded)
            return Run(events, clock() - started, latencies)
        # read_all: the whole store, `size` is ignored (the store was populated with it)
        sql = f"SELECT {READ_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT {PAGE}"
        started = clock()
        cursor: EntryId = START
        last_position = 0
        while True:
            began = clock()
            if self.store:
                page = await self.store.read_all(cursor, PAGE)
                if page:
                    cursor = page[-1].entry_id
            else:
                page = await self._raw_rows(sql, last_position)
                if page:
                    last_position = page[-1][0]
            latencies.append(clock() - began)
            if not page:
                break
            events += len(page)
        return Run(events, clock() - started, latencies)


# --- the tailing reader (PostgreSQL, separate process like the relay's worker) ----------


class Tail:
    def __init__(self, db: Postgres, system: str, where: str):
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(
            target=tail_process, args=(system, db.url(where), db.dsn(), where, child), daemon=True
        )
        self.process.start()
        self.db = db
        self.system = system
        self.where = where
        self._ready = False

    async def _recv(self, timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.pipe.poll():
            if loop.time() > deadline or not self.process.is_alive():
                raise RuntimeError(f"tailing reader for {self.where} did not answer")
            await asyncio.sleep(0.01)
        return self.pipe.recv()

    async def begin(self) -> None:
        if not self._ready:
            assert await self._recv(60) == "ready"
            self._ready = True
        conn = await self.db.connect(self.where)
        try:
            position = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            row = await conn.fetchrow("SELECT tx, position FROM events ORDER BY tx DESC, position DESC LIMIT 1")
        finally:
            await conn.close()
        cursor = (row["tx"], row["position"]) if row else (0, 0)
        self.pipe.send(("start", cursor, position))
        assert await self._recv(30) == "started"

    def pause(self) -> None:
        """Catch up, then stop polling until `resume` (its system is not writing now)."""
        self.pipe.send(("pause",))

    def resume(self) -> None:
        self.pipe.send(("resume",))

    async def finish(self) -> dict[str, Any]:
        self.pipe.send(("drain",))
        return await self._recv(120)

    def stop(self) -> None:
        try:
            self.pipe.send(("quit",))
        except (BrokenPipeError, OSError):
            pass
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()


def tail_process(system: str, url: str, dsn: str, where: str, pipe: Any) -> None:
    with asyncio.Runner(loop_factory=fastest_loop()) as runner:  # as the services run
        runner.run(_tail_main(system, url, dsn, where, pipe))


async def _tail_main(system: str, url: str, dsn: str, where: str, pipe: Any) -> None:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": where})
    store = EventStore(create_engine(url, where)) if system == "fivezero" else None
    pipe.send("ready")
    try:
        while True:
            message = pipe.recv()
            if message[0] == "quit":
                return
            _, cursor, start_position = message
            pipe.send(await _tail_run(store, conn, tuple(cursor), start_position, pipe))
    finally:
        await conn.close()
        if store:
            await store.engine.dispose()


async def _tail_run(
    store: EventStore | None, conn: asyncpg.Connection, cursor: tuple, start_position: int, pipe: Any
) -> dict[str, Any]:
    """Tails until told to drain, then reads to the end; compares with what was written.
    Told to pause, it reads until it has caught up and then waits for the next message."""
    raw_sql = (
        f"SELECT {READ_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT {PAGE}"
    )
    seen: set[str] = set()
    duplicates = out_of_order = read_while_writing = 0
    last_key: tuple | None = None
    entry = EntryId(*cursor)
    position = start_position
    written: set[str] | None = None
    deadline = 0.0
    pausing = False

    async def on_message(kind: str) -> None:
        nonlocal pausing, read_while_writing, written, deadline
        pausing = kind == "pause"
        if kind == "drain":  # every write has committed
            read_while_writing = len(seen) + duplicates
            rows = await conn.fetch("SELECT event_id FROM events WHERE position > $1", start_position)
            written = {str(row["event_id"]) for row in rows}
            deadline = time.monotonic() + 60

    pipe.send("started")
    while True:
        if written is None and pipe.poll():
            await on_message(pipe.recv()[0])
        if store is not None:
            page = await store.read_all(entry, PAGE)
            keys = [(s.entry_id.major, s.entry_id.minor) for s in page]
            ids = [str(s.envelope.event_id) for s in page]
            if page:
                entry = page[-1].entry_id
        else:
            rows = await conn.fetch(raw_sql, position)
            decoded = [(*row[:-1], json.loads(row[-1])) for row in rows]
            keys = [(row[0],) for row in decoded]
            ids = [str(row[1]) for row in decoded]
            if rows:
                position = rows[-1]["position"]
        for key, event_id in zip(keys, ids, strict=True):
            if last_key is not None and key <= last_key:
                out_of_order += 1
            last_key = key
            if event_id in seen:
                duplicates += 1
            seen.add(event_id)
        if not ids:
            if written is not None:
                if store is None or written <= seen or time.monotonic() > deadline:
                    break  # raw: an empty page after every commit is the end of its tail
            elif pausing:
                await on_message(pipe.recv()[0])  # caught up: wait for resume or drain
                continue
            await asyncio.sleep(0.005)  # the relay's default poll
    assert written is not None
    return {
        "tail_checked": len(written),
        "skipped": len(written - seen),
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "unexpected": len(seen - written),
        "read_while_writing": read_while_writing,
        "timed_out": store is not None and not written <= seen,
    }


# --- driver ---------------------------------------------------------------------------


def report(db: str, contender: Contender, runs: list[Run]) -> dict[str, Any]:
    median = sorted(runs, key=lambda run: run.rate)[len(runs) // 2]
    latencies = sorted(median.latencies)
    line: dict[str, Any] = {
        "system": contender.system,
        "db": db,
        "scenario": contender.scenario,
        "events": median.events,
        "seconds": round(median.seconds, 3),
        "events_per_s": round(median.rate, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
    }
    tails = [run.tail for run in runs if run.tail]
    if tails:
        for key in ("skipped", "tail_checked", "out_of_order", "duplicates"):
            line[key] = sum(tail[key] for tail in tails)
    return line


async def measure(
    db: Database,
    contenders: list[Contender],
    size: int,
    warmup: int,
    repeat: int,
    slices: int,
    profile: bool,
) -> None:
    """Warm-up, then `repeat` runs of `size`; each run is cut into `slices` that alternate
    between the contenders (order rotated), so a shift in the machine's background load
    hits every system alike. A tailing reader follows a contender through a whole run."""
    runs: dict[int, list[Run]] = {i: [] for i in range(len(contenders))}
    try:
        for contender in contenders:
            await contender.open()
        for contender in contenders:
            if contender.tail:
                await contender.tail.begin()
            run = await contender.run(warmup)
            if contender.tail:
                await contender.tail.finish()
            log(f"  warm-up {contender.system:8} {contender.scenario}: {run.rate:,.0f} ev/s")
        shares = [size // slices + (1 if k < size % slices else 0) for k in range(slices)]
        for r in range(repeat):
            totals = {i: Run(0, 0.0, []) for i in range(len(contenders))}
            cpu = dict.fromkeys(totals, 0.0)
            profilers = {
                i: cProfile.Profile()
                for i, c in enumerate(contenders)
                if profile and c.system == "fivezero"
            }
            for contender in contenders:
                if contender.tail:
                    await contender.tail.begin()
                    contender.tail.pause()
            for k, share in enumerate(shares):
                order = list(range(len(contenders)))
                shift = (r + k) % len(order)
                for i in order[shift:] + order[:shift]:
                    tail = contenders[i].tail
                    if tail:  # a system's reader polls only while that system writes
                        tail.resume()
                    if i in profilers:
                        profilers[i].enable()
                    started = time.process_time()
                    part = await contenders[i].run(share)
                    cpu[i] += time.process_time() - started
                    if i in profilers:
                        profilers[i].disable()
                    if tail:
                        tail.pause()
                    totals[i].events += part.events
                    totals[i].seconds += part.seconds
                    totals[i].latencies += part.latencies
            for i, contender in enumerate(contenders):
                if contender.tail:
                    totals[i].tail = await contender.tail.finish()
                run = totals[i]
                runs[i].append(run)
                if i in profilers:
                    dump_profile(profilers[i], f"{db.name} {contender.scenario} fivezero run {r + 1}")
                tail = ""
                if run.tail:
                    tail = (
                        f" tail: {run.tail['skipped']} skipped of {run.tail['tail_checked']},"
                        f" {run.tail['out_of_order']} out of order, {run.tail['duplicates']} dup,"
                        f" {run.tail['read_while_writing']} read while writing"
                        + (" TIMED OUT" if run.tail.get("timed_out") else "")
                    )
                log(
                    f"  run {r + 1}  {contender.system:8} {contender.scenario}: {run.events} events"
                    f" in {run.seconds:.2f}s = {run.rate:,.0f} ev/s,"
                    f" client CPU {cpu[i] / max(1, run.events) * 1e6:.0f} us/event{tail}"
                )
    finally:
        for contender in contenders:
            try:
                await contender.close()
            except Exception as error:  # noqa: BLE001
                log(f"  closing {contender.system} {contender.scenario}: {error!r}")
    for i, contender in enumerate(contenders):
        print(json.dumps(report(db.name, contender, runs[i])), flush=True)


def dump_profile(profiler: cProfile.Profile, title: str) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    log(f"----- profile: {title}\n{out.getvalue()}")


async def bench_db(db: Database, args: argparse.Namespace) -> None:
    sizes = {name: max(1, int(n * args.scale)) for name, n in SIZES[db.name].items()}
    if args.scale < 0.2:
        sizes["read_all"] = max(sizes["read_all"], 2_000)
    wanted = [s for s in SCENARIOS if s in args.scenarios]
    for scenario in wanted:
        size = sizes[scenario]
        warmup = max(20, size // 10)
        log(f"{db.name} {scenario}: size {size}, warm-up {warmup}, {args.repeat} runs")
        if scenario.startswith("append"):
            writers = 1 if scenario == "append_1_writer" else WRITERS
            if scenario == "append_4_writers_4stores":
                contenders: list[Contender] = [
                    AppendContender(db, "fivezero", scenario, writers, WRITERS, args.tail)
                ]
            else:
                contenders = [
                    AppendContender(db, system, scenario, writers, 1, args.tail)
                    for system in ("fivezero", "raw")
                ]
            await measure(db, contenders, size, warmup, args.repeat, args.slices, args.profile)
        else:
            if db.read_store is None:
                started = time.perf_counter()
                db.read_store = await populate_read_stores(db, sizes["read_all"])
                log(
                    f"{db.name}: read stores populated with {db.read_store.events} events"
                    f" in {time.perf_counter() - started:.1f}s"
                )
            read_store = db.read_store
            contenders = [
                ReadContender(db, system, scenario, read_store) for system in ("fivezero", "raw")
            ]
            # read_all: a run is one pass through the whole store, so it is not sliced
            slices = 1 if scenario == "read_all" else args.slices
            await measure(db, contenders, size, warmup, args.repeat, slices, args.profile)


async def main(args: argparse.Namespace) -> int:
    if args.db in ("sqlite", "both"):
        db = Sqlite()
        try:
            await bench_db(db, args)
        finally:
            db.remove()
    if args.db in ("postgres", "both"):
        url = os.environ.get("DATABASE_URL") or DEFAULT_PG_URL
        pg = Postgres(url)
        try:
            await pg.create()
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as error:
            log(f"postgres skipped: cannot create a database at {pg.admin_dsn()} ({error!r})")
            return 0
        log(f"postgres: database {pg.database}")
        try:
            await bench_db(pg, args)
        finally:
            await pg.drop()
            log(f"postgres: dropped {pg.database}")
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.eventstore", description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="a ~1 s smoke version (1 run each)")
    parser.add_argument("--repeat", type=int, default=None, help="measured runs, median reported (3)")
    parser.add_argument(
        "--slices", type=int, default=None, help="alternate the systems this often within a run (8)"
    )
    parser.add_argument("--scale", type=float, default=None, help="multiply the default sizes")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    parser.add_argument("--profile", action="store_true", help="cProfile fivezero runs to stderr")
    parser.add_argument(
        "--no-tail", dest="tail", action="store_false", help="no tailing reader (PostgreSQL, 4 writers)"
    )
    args = parser.parse_args(argv)
    args.scale = args.scale if args.scale is not None else (0.03 if args.quick else 1.0)
    args.repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    args.slices = max(1, args.slices if args.slices is not None else (2 if args.quick else 8))
    args.scenarios = {s.strip() for s in args.scenarios.split(",") if s.strip()}
    unknown = args.scenarios - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=fastest_loop()) as runner:  # as the services run
        sys.exit(runner.run(main(parse_args())))
