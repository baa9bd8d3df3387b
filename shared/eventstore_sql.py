"""The SQL of an append, for SQLite and PostgreSQL: one command alone, or a batch.

On PostgreSQL both return `(position, stream_id, version)` for each row written; a
command whose rows are missing from that was refused by its version guard. SQLite has
one writer at a time and numbers one statement's rows consecutively, so there the
caller takes positions from `lastrowid` and `rowcount`: RETURNING cost about 15% of
the insert.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

Row = tuple[uuid.UUID, str, int, str, str, datetime, str, str, str | None, int, dict[str, Any]]
"""One event's values in `COLUMNS` order; `data` is still a dict."""

COLUMNS = (
    "event_id, stream_id, version, type, community_id, occurred_at, actor,"
    " correlation_id, causation_id, schema_version, data"
)
_WIDTH = 11
_POSTGRES_TYPES = (
    "uuid", "varchar", "int", "varchar", "varchar", "timestamptz", "varchar", "varchar", "varchar", "int", "json"
)
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
# The most rows a plain VALUES statement takes on SQLite: 11 parameters a row, and SQLite
# allows 32,766 parameters a statement. Bigger batches go as one JSON parameter.
_SQLITE_VALUES_ROWS = 1000
# msgspec: about a tenth of json.dumps's time for an event's data, and the append path
# encodes every event.
_encode_json = msgspec.json.Encoder().encode


def to_json(value: Any) -> str:
    """JSON text, non-ASCII characters as they are (as `json.dumps(ensure_ascii=False)`)."""
    return _encode_json(value).decode()

# A batch checks each command against the stream as it stands before the statement: a
# new stream must not exist; otherwise the stream must be exactly at the expected version.
_BATCH_GUARD = """
CASE WHEN n.expected = 0
     THEN NOT EXISTS (SELECT 1 FROM events e WHERE e.stream_id = n.stream_id)
     ELSE EXISTS (SELECT 1 FROM events e WHERE e.stream_id = n.stream_id AND e.version = n.expected)
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.stream_id = n.stream_id AND e.version = n.expected + 1)
END"""

_POSTGRES_BATCH = f"""
INSERT INTO events ({COLUMNS})
SELECT n.event_id, n.stream_id, n.version, n.type, n.community_id, n.occurred_at, n.actor,
       n.correlation_id, n.causation_id, n.schema_version, n.data::json
FROM unnest($1::uuid[], $2::varchar[], $3::int[], $4::varchar[], $5::varchar[], $6::timestamptz[],
            $7::varchar[], $8::varchar[], $9::varchar[], $10::int[], $11::text[], $12::int[])
     WITH ORDINALITY AS n(event_id, stream_id, version, type, community_id, occurred_at, actor,
                          correlation_id, causation_id, schema_version, data, expected, ord)
WHERE {_BATCH_GUARD}
ORDER BY n.ord
RETURNING position, stream_id, version"""

# `value ->> i` is element i of one event's JSON array; `value -> 10` is the data as JSON text.
# It starts with INSERT, not WITH: Python's sqlite3 counts rows only for a statement that does.
_SQLITE_BATCH = f"""
INSERT INTO events ({COLUMNS})
SELECT event_id, stream_id, version, type, community_id, occurred_at, actor,
       correlation_id, causation_id, schema_version, data
FROM (
  SELECT value ->> 0 AS event_id, value ->> 1 AS stream_id, value ->> 2 AS version,
         value ->> 3 AS type, value ->> 4 AS community_id, value ->> 5 AS occurred_at,
         value ->> 6 AS actor, value ->> 7 AS correlation_id, value ->> 8 AS causation_id,
         value ->> 9 AS schema_version, value -> 10 AS data, value ->> 11 AS expected,
         key AS ord
  FROM json_each(?)
) AS n
WHERE {_BATCH_GUARD}
ORDER BY ord"""

# After a batch on SQLite: the rows it wrote are the positions just before `lastrowid`.
SQLITE_WRITTEN = "SELECT position, stream_id, version FROM events WHERE position BETWEEN ? AND ?"


class AppendStatements:
    """Statement text and parameters of an append on one kind of database."""

    def __init__(self, sqlite: bool):
        self._sqlite = sqlite
        self._single: dict[tuple[int, bool], str] = {}

    def single(self, rows: Sequence[Row]) -> tuple[str, list[Any]]:
        """One command: the cheapest form, a multi-row VALUES (text cached per row count).
        On PostgreSQL it returns what `batch` returns; on SQLite nothing (see `_single_text`)."""
        expected = rows[0][2] - 1
        params = self._values(rows)
        if expected == 0:
            # A new stream: the unique (stream_id, version) key alone refuses a second creator.
            return self._single_text(len(rows), guarded=False), params
        if self._sqlite:
            params += [expected, rows[0][1], expected]
        else:
            params.append(expected)
        return self._single_text(len(rows), guarded=True), params

    def batch(self, rows: Sequence[Row], expected: dict[str, int]) -> tuple[str, list[Any]]:
        """Many commands in one statement of fixed text, each with its own version guard."""
        if self._sqlite and len(rows) <= _SQLITE_VALUES_ROWS and not any(expected.values()):
            # Only new streams: the unique key guards them, and SQLite takes a plain
            # multi-row VALUES faster than it unpacks JSON.
            return self._single_text(len(rows), guarded=False), self._values(rows)
        if self._sqlite:
            times = _SqliteTimes()
            events = [
                [*self._sqlite_values(row, times), row[10], expected[row[1]]]
                for row in rows
            ]
            return _SQLITE_BATCH, [to_json(events)]
        columns: list[list[Any]] = [list(column) for column in zip(*(row[:10] for row in rows), strict=True)]
        columns.append([to_json(row[10]) for row in rows])
        columns.append([expected[row[1]] for row in rows])
        return _POSTGRES_BATCH, columns

    def _single_text(self, rows: int, guarded: bool) -> str:
        # The WHERE keeps a writer ahead of the stream from leaving a gap in its versions;
        # the unique (stream_id, version) key stops one behind it.
        if (rows, guarded) not in self._single:
            if self._sqlite:
                groups = ", ".join(["(" + ", ".join(["?"] * _WIDTH) + ")"] * rows)
                guard = "? = 0 OR EXISTS (SELECT 1 FROM events WHERE stream_id = ? AND version = ?)"
            else:
                groups = ", ".join(
                    "("
                    + ", ".join(f"${row * _WIDTH + col + 1}::{_POSTGRES_TYPES[col]}" for col in range(_WIDTH))
                    + ")"
                    for row in range(rows)
                )
                expected = f"${rows * _WIDTH + 1}::int"
                guard = f"{expected} = 0 OR EXISTS (SELECT 1 FROM events WHERE stream_id = $2 AND version = {expected})"
            returning = "" if self._sqlite else " RETURNING position, stream_id, version"
            self._single[rows, guarded] = (
                f"INSERT INTO events ({COLUMNS}) SELECT * FROM (VALUES {groups}) AS new_events"
                f" WHERE {guard}{returning}"
                if guarded
                else f"INSERT INTO events ({COLUMNS}) VALUES {groups}{returning}"
            )
        return self._single[rows, guarded]

    def _values(self, rows: Sequence[Row]) -> list[Any]:
        params: list[Any] = []
        if not self._sqlite:
            for row in rows:
                params += row[:10]
                params.append(to_json(row[10]))
            return params
        times = _SqliteTimes()
        for event_id, stream_id, version, type_, community_id, occurred_at, *rest, data in rows:
            params += (event_id.hex, stream_id, version, type_, community_id, times.text(occurred_at), *rest)
            params.append(to_json(data))
        return params

    @staticmethod
    def _sqlite_values(row: Row, times: _SqliteTimes) -> list[Any]:
        """The columns before `data`, with ids and times stored as SQLAlchemy reads them back."""
        event_id, stream_id, version, type_, community_id, occurred_at, *rest, _data = row
        return [event_id.hex, stream_id, version, type_, community_id, times.text(occurred_at), *rest]


class _SqliteTimes:
    """Times as SQLite stores them, each formatted once (a command's events share one)."""

    def __init__(self) -> None:
        self._last: datetime | None = None
        self._text = ""

    def text(self, moment: datetime) -> str:
        if moment is not self._last:
            self._last = moment
            self._text = moment.astimezone(UTC).strftime(_SQLITE_TIME)
        return self._text
