"""The append-only event store of one service, on SQLite or PostgreSQL.

Appends are group-committed (`eventstore_writers.py`): commands queued behind a write
in flight go out together as one INSERT statement in autocommit. Optimistic
concurrency comes from each command's version guard and the unique
(stream_id, version) key, so a stale writer gets a conflict.

Order that a tailing reader can trust ("entry IDs"):
- SQLite has one writer at a time, so positions become visible in order:
  the entry ID of an event is `<position>-0`.
- PostgreSQL draws positions at insert but commits in any order. Each row
  records the id of the transaction that wrote it; a reader takes only rows
  whose transaction is older than the oldest one still running, in
  (transaction id, position) order. A late commit is waited for, never skipped.
  The entry ID is `<transaction id>-<position>`.
Redis stream entry IDs are these same pairs, so the stream is the relay's cursor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import is_sqlite, schema_change
from shared.eventstore_sql import Row
from shared.ids import uuid7
from shared.eventstore_writers import Alongside, DuplicateKey, GroupCommitWriter
from shared.events import CommandContext, DomainEvent, Envelope, utc_now


class EntryId(NamedTuple):
    """A place in the store's visible order, written `major-minor` like a Redis entry ID."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}-{self.minor}"

    @classmethod
    def parse(cls, value: str | bytes) -> EntryId:
        if isinstance(value, bytes):
            value = value.decode()
        major, _, minor = value.partition("-")
        return cls(int(major), int(minor or 0))


START = EntryId(0, 0)


@dataclass(frozen=True)
class StoredEvent:
    entry_id: EntryId
    envelope: Envelope


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream since the caller read it."""

    def __init__(self, stream_id: str, expected_version: int):
        super().__init__(f"stream {stream_id} is no longer at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


class StreamAppend(NamedTuple):
    """Events to add to one stream, which must be at `expected_version`."""

    stream_id: str
    expected_version: int
    events: Sequence[DomainEvent]


AfterAppend = Callable[[list[Envelope]], Awaitable[None]]
"""Told of every append once it is stored (the relay's wake-up ping); must not raise."""

_LOAD_BATCH = 500  # stream ids per IN list



def events_table(metadata: MetaData, sqlite: bool) -> Table:
    if sqlite:
        order_columns = [Column("position", Integer, primary_key=True, autoincrement=True)]
    else:
        order_columns = [
            Column("position", BigInteger, Identity(), primary_key=True),
            Column(
                "tx",
                BigInteger,
                nullable=False,
                server_default=text("(pg_current_xact_id()::text)::bigint"),
            ),
        ]
    table = Table(
        "events",
        metadata,
        *order_columns,
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("stream_id", String(200), nullable=False),
        Column("version", Integer, nullable=False),
        Column("type", String(200), nullable=False),
        Column("community_id", String(100), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("actor", String(200), nullable=False),
        Column("correlation_id", String(100), nullable=False),
        Column("causation_id", String(100)),
        Column("schema_version", Integer, nullable=False),
        Column("data", JSON, nullable=False),
        UniqueConstraint("stream_id", "version", name="events_stream_version"),
        sqlite_autoincrement=True,
    )
    if not sqlite:
        Index("events_visible_order", table.c.tx, table.c.position)
    return table


class EventStore:
    """Append, load a stream, and read everything in visible order."""

    def __init__(self, engine: AsyncEngine, writer_connections: int | None = None):
        """`writer_connections`: how many group-commit batches may be in flight at once
        (default: 1 on SQLite, which writes one at a time anyway; 4 on PostgreSQL)."""
        self.engine = engine
        self._sqlite = is_sqlite(engine)
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.metadata = MetaData()
        self.table = events_table(self.metadata, self._sqlite)
        table = self.table
        self._envelope_columns = [table.c[name] for name in _ENVELOPE_FIELDS]
        self._writers = GroupCommitWriter(engine, connections=writer_connections or (1 if self._sqlite else 4))
        self.after_append: list[AfterAppend] = []

    async def setup(self) -> None:
        async with schema_change(self.engine) as conn:
            await conn.run_sync(self.metadata.create_all)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        context: CommandContext,
        occurred_at: datetime | None = None,
    ) -> list[Envelope]:
        """Append `events` after `expected_version`; raises ConcurrencyConflict if stale."""
        if not events:
            return []
        occurred_at = occurred_at or utc_now()
        rows = _rows(stream_id, expected_version, events, context, occurred_at)
        try:
            positions = await self._writers.insert(rows)
        except DuplicateKey as error:
            raise ConcurrencyConflict(stream_id, expected_version) from error
        return await self._appended(rows, positions, context, occurred_at)

    async def append_all(
        self,
        appends: Sequence[StreamAppend],
        context: CommandContext,
        occurred_at: datetime | None = None,
        *,
        alongside: Alongside | None = None,
    ) -> list[Envelope]:
        """Appends to several streams in one transaction, all or none (one command that
        touches several aggregates, e.g. a merge). Raises ConcurrencyConflict naming the
        first stream if any is stale; then nothing is written.

        `alongside(conn)` writes the service's own rows that belong with these events (the
        keys their sealed values need, an index of them) in the same transaction, after
        the events: all of it commits or none. What it raises is raised here, nothing written."""
        appends = [append for append in appends if append.events]
        if not appends:
            return []
        if len({append.stream_id for append in appends}) < len(appends):
            raise ValueError("append_all takes each stream once")
        occurred_at = occurred_at or utc_now()
        rows = [
            row
            for append in appends
            for row in _rows(append.stream_id, append.expected_version, append.events, context, occurred_at)
        ]
        expected = {append.stream_id: append.expected_version for append in appends}
        try:
            positions = await self._writers.insert_atomic(rows, expected, alongside)
        except DuplicateKey as error:
            raise ConcurrencyConflict(appends[0].stream_id, appends[0].expected_version) from error
        return await self._appended(rows, positions, context, occurred_at)

    async def _appended(
        self, rows: list[Row], positions: dict[tuple[str, int], int], context: CommandContext, occurred_at: datetime
    ) -> list[Envelope]:
        appended = [
            Envelope(
                event_id=event_id,
                type=type_,
                stream_id=stream_id,
                version=version,
                position=positions[(stream_id, version)],
                community_id=context.community_id,
                occurred_at=occurred_at,
                actor=context.actor,
                correlation_id=context.correlation_id,
                causation_id=context.causation_id,
                schema_version=schema_version,
                data=data,
            )
            for event_id, stream_id, version, type_, *_, schema_version, data in rows
        ]
        for listener in self.after_append:
            await listener(appended)
        return appended

    async def close(self) -> None:
        """Releases the held writer connections (the engine is the caller's to dispose)."""
        await self._writers.close()

    async def load(self, stream_id: str) -> list[Envelope]:
        stmt = (
            select(*self._envelope_columns)
            .where(self.table.c.stream_id == stream_id)
            .order_by(self.table.c.version)
        )
        async with self._autocommit.connect() as conn:
            result = await conn.execute(stmt)
            return [self._envelope(row) for row in result]

    async def load_many(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        """Several streams in a few reads (a bulk command checks thousands at once): each
        stream's events in order; a stream without events is absent."""
        loaded: dict[str, list[Envelope]] = {}
        async with self._autocommit.connect() as conn:
            for start in range(0, len(stream_ids), _LOAD_BATCH):
                stmt = (
                    select(*self._envelope_columns)
                    .where(self.table.c.stream_id.in_(stream_ids[start : start + _LOAD_BATCH]))
                    .order_by(self.table.c.stream_id, self.table.c.version)
                )
                for row in await conn.execute(stmt):
                    loaded.setdefault(row.stream_id, []).append(self._envelope(row))
        return loaded

    async def stream_version(self, stream_id: str) -> int:
        stmt = select(func.coalesce(func.max(self.table.c.version), 0)).where(
            self.table.c.stream_id == stream_id
        )
        async with self._autocommit.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def read_all(self, after: EntryId = START, limit: int = 500) -> list[StoredEvent]:
        """Events after `after` in visible order; never one that a later read could precede."""
        table = self.table
        if self._sqlite:
            stmt = (
                select(*self._envelope_columns)
                .where(table.c.position > after.major)
                .order_by(table.c.position)
                .limit(limit)
            )
        else:
            # The driver directly: SQLAlchemy's row handling cost twice the read (a relay
            # polls this every few milliseconds).
            async with self._autocommit.connect() as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                rows = await driver.fetch(_POSTGRES_READ_ALL, after.major, after.minor, limit)
            return [StoredEvent(EntryId(row[0], row[1]), self._envelope(row, first=1)) for row in rows]
        async with self._autocommit.connect() as conn:
            result = await conn.execute(stmt)
            return [StoredEvent(self._entry_id(row), self._envelope(row)) for row in result]

    def _entry_id(self, row) -> EntryId:  # noqa: ANN001
        if self._sqlite:
            return EntryId(row.position, 0)
        return EntryId(row.tx, row.position)

    @staticmethod
    def _envelope(row: Sequence[Any], first: int = 0) -> Envelope:
        """An envelope from the values of `_envelope_columns`, in that order, from `row[first]` on."""
        fields = dict(zip(_ENVELOPE_FIELDS, row[first : first + len(_ENVELOPE_FIELDS)], strict=True))
        if fields["occurred_at"].tzinfo is None:
            fields["occurred_at"] = fields["occurred_at"].replace(tzinfo=UTC)
        return Envelope(**fields)


def _rows(
    stream_id: str, expected_version: int, events: Sequence[DomainEvent], context: CommandContext, occurred_at: datetime
) -> list[Row]:
    return [
        (
            uuid7(),
            stream_id,
            expected_version + offset,
            domain_event.event_type,
            context.community_id,
            occurred_at,
            context.actor,
            context.correlation_id,
            context.causation_id,
            domain_event.schema_version,
            # model_dump(mode="json") without its Python wrapper: a third of its time.
            domain_event.__pydantic_serializer__.to_python(domain_event, mode="json"),
        )
        for offset, domain_event in enumerate(events, start=1)
    ]


# An envelope's fields, each stored in the column of its name.
_ENVELOPE_FIELDS = (
    "position", "event_id", "type", "stream_id", "version", "community_id", "occurred_at", "actor",
    "correlation_id", "causation_id", "schema_version", "data",
)
_POSTGRES_READ_ALL = (
    f"SELECT tx, {', '.join(_ENVELOPE_FIELDS)} FROM events"
    " WHERE (tx, position) > ($1, $2) AND tx < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"
    " ORDER BY tx, position LIMIT $3"
)
