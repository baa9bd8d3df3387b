"""What every view table with `id`, `community_id`, `created_at`, `version` and `document`
columns shares: cursor pages, newest first, and waiting for a version to show."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

from sqlalchemy import Select, Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.problems import ProblemError


def newest_first(statement: Select, table: Table, cursor: str | None, limit: int) -> Select:
    """`statement` ordered newest first, after `cursor`, one row more than `limit` (to
    know whether another page follows). A cursor this API did not give out is a 400."""
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
        raise ProblemError(
            "validation_failed", detail_zh="分页游标无效", detail_en="the cursor is not one this API gave out"
        ) from error


async def wait_for_version(
    engine: AsyncEngine, table: Table, record_id: str, community_id: str, version: int, timeout_s: float
) -> dict[str, Any] | None:
    """Read-your-writes, one query per poll: the record's `document` once the view holds
    `version` or later; None after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    query = select(table.c.document).where(
        table.c.id == record_id, table.c.community_id == community_id, table.c.version >= version
    )
    delay = 0.002
    while True:
        async with engine.connect() as conn:
            document = await conn.scalar(query)
        if document is not None or time.monotonic() >= deadline:
            return document
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
