"""Cursor pages, newest first, over any view table with `created_at` and `id` columns."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import Select, Table, and_, or_


def newest_first(statement: Select, table: Table, cursor: str | None, limit: int) -> Select:
    """`statement` ordered newest first, after `cursor`, one row more than `limit` (to
    know whether another page follows). Raises ValueError for a cursor not ours."""
    if cursor:
        created_at, last_id = _decode(cursor)
        statement = statement.where(
            or_(table.c.created_at < created_at, and_(table.c.created_at == created_at, table.c.id < last_id))
        )
    return statement.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)


def page(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """The page's rows and the cursor of the next page (None on the last)."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], base64.urlsafe_b64encode(json.dumps([last.created_at, last.id]).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, row_id = json.loads(base64.urlsafe_b64decode(padded))
        return str(created_at), str(row_id)
    except Exception as error:
        raise ValueError("not a cursor this API gave out") from error
