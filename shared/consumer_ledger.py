"""A consumer's bookkeeping for a whole batch in a few multi-row statements.

The rows are those of `shared.consumer` (applied entries, stream versions, waiting
entries, checkpoints), written inside the consumer's transaction. Each statement goes
to the driver connection directly: through SQLAlchemy and aiosqlite one statement cost
about 400 us of CPU, against about 45 us straight to the driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import is_sqlite
from shared.eventstore import EntryId

_SQLITE = {
    "record": "INSERT INTO consumer_applied (consumer, source, entry_major, entry_minor) VALUES {rows}"
    " ON CONFLICT DO NOTHING RETURNING 1",
    "forget": "DELETE FROM consumer_waiting WHERE consumer = ? AND source = ?"
    " AND (entry_major, entry_minor) IN (VALUES {pairs})",
    "versions": "INSERT INTO consumer_stream_versions (consumer, stream_id, version) VALUES {rows}"
    " ON CONFLICT (consumer, stream_id) DO UPDATE SET version = excluded.version",
}
_POSTGRES = {
    "record": "INSERT INTO consumer_applied (consumer, source, entry_major, entry_minor)"
    " SELECT $1, $2, * FROM unnest($3::bigint[], $4::bigint[]) ON CONFLICT DO NOTHING RETURNING 1",
    "forget": "DELETE FROM consumer_waiting WHERE consumer = $1 AND source = $2"
    " AND (entry_major, entry_minor) IN (SELECT * FROM unnest($3::bigint[], $4::bigint[]))",
    "versions": "INSERT INTO consumer_stream_versions (consumer, stream_id, version)"
    " SELECT $1, * FROM unnest($2::varchar[], $3::int[])"
    " ON CONFLICT (consumer, stream_id) DO UPDATE SET version = excluded.version",
}
_CHECKPOINT = (
    "INSERT INTO consumer_checkpoints (consumer, source, entry_major, entry_minor) VALUES ({params})"
    " ON CONFLICT (consumer, source) DO UPDATE"
    " SET entry_major = excluded.entry_major, entry_minor = excluded.entry_minor"
    " WHERE (consumer_checkpoints.entry_major, consumer_checkpoints.entry_minor)"
    " < (excluded.entry_major, excluded.entry_minor)"
)


# One key lookup per stream, whatever the planner believes. The plain `consumer = $1 AND
# stream_id IN (...)` scanned every row of the consumer once the table had grown faster
# than autovacuum analyses it (a bulk import: 10k households took 55 s instead of 20 s),
# because stale statistics make `consumer = $1` look selective.
_POSTGRES_VERSIONS_OF = text(
    "SELECT ids.stream_id, v.version FROM unnest(CAST(:ids AS varchar[])) AS ids(stream_id)"
    " CROSS JOIN LATERAL (SELECT version FROM consumer_stream_versions"
    " WHERE consumer = :consumer AND stream_id = ids.stream_id) AS v"
)


class BatchLedger:
    """Open with `BatchLedger.open` as the first statement of the consumer's transaction."""

    def __init__(self, driver: Any, sqlite: bool, consumer: str, versions: dict[str, int]):
        self.driver = driver
        self.sqlite = sqlite
        self.consumer = consumer
        self.versions = versions
        """Applied version per stream of the batch (0: none yet)."""

    @classmethod
    async def open(
        cls, conn: AsyncConnection, stream_versions: Table, consumer: str, stream_ids: set[str]
    ) -> BatchLedger:
        # Through SQLAlchemy on purpose: on asyncpg its first statement begins the transaction
        # that the driver's statements below then join.
        if is_sqlite(conn):
            query = select(stream_versions.c.stream_id, stream_versions.c.version).where(
                stream_versions.c.consumer == consumer,
                stream_versions.c.stream_id.in_(bindparam("ids", expanding=True)),
            )
        else:
            query = _POSTGRES_VERSIONS_OF
        rows = (await conn.execute(query, {"consumer": consumer, "ids": sorted(stream_ids)})).all()
        versions = {stream_id: 0 for stream_id in stream_ids} | {row.stream_id: row.version for row in rows}
        driver = (await conn.get_raw_connection()).driver_connection
        return cls(driver, is_sqlite(conn), consumer, versions)

    async def record_entries(self, source: str, entry_ids: Sequence[EntryId]) -> int:
        """Records the entries as applied; returns how many were not recorded before."""
        if self.sqlite:
            sql = _SQLITE["record"].format(rows=", ".join(["(?, ?, ?, ?)"] * len(entry_ids)))
            params = [value for e in entry_ids for value in (self.consumer, source, e.major, e.minor)]
            return len(await self.driver.execute_fetchall(sql, params))
        majors, minors = zip(*entry_ids, strict=True)
        return len(await self.driver.fetch(_POSTGRES["record"], self.consumer, source, majors, minors))

    async def forget_waiting(self, source: str, entry_ids: Sequence[EntryId]) -> None:
        if self.sqlite:
            sql = _SQLITE["forget"].format(pairs=", ".join(["(?, ?)"] * len(entry_ids)))
            params = [self.consumer, source, *(value for e in entry_ids for value in e)]
            await self.driver.execute_fetchall(sql, params)
        else:
            majors, minors = zip(*entry_ids, strict=True)
            await self.driver.execute(_POSTGRES["forget"], self.consumer, source, majors, minors)

    async def save_versions(self, versions: dict[str, int]) -> None:
        if self.sqlite:
            sql = _SQLITE["versions"].format(rows=", ".join(["(?, ?, ?)"] * len(versions)))
            params = [value for item in versions.items() for value in (self.consumer, *item)]
            await self.driver.execute_fetchall(sql, params)
        else:
            await self.driver.execute(_POSTGRES["versions"], self.consumer, list(versions), list(versions.values()))

    async def advance_checkpoint(self, source: str, entry_id: EntryId) -> None:
        """Moves the source's checkpoint up to `entry_id`, never down."""
        params = (self.consumer, source, entry_id.major, entry_id.minor)
        if self.sqlite:
            await self.driver.execute_fetchall(_CHECKPOINT.format(params="?, ?, ?, ?"), params)
        else:
            await self.driver.execute(_CHECKPOINT.format(params="$1, $2, $3, $4"), *params)
