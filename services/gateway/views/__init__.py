"""The gateway's read models: tables built only from the pillars' events, dropped and rebuilt at will.

One consumer group, `gateway.views`, feeds them all; each view module registers
the event types it projects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.consumer import stream_versions
from shared.events import Envelope

VIEWS_CONSUMER = "gateway.views"
VIEW_SOURCES = ("intake",)

views_metadata = MetaData()

Projector = Callable[[AsyncConnection, Envelope], Awaitable[None]]


class ViewsProjection:
    """Sends each event to the view functions registered for its type; ignores the rest."""

    def __init__(self, projectors: dict[str, list[Projector]]):
        self.projectors = projectors

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        for project in self.projectors.get(envelope.type, ()):
            await project(conn, envelope)


def all_views() -> ViewsProjection:
    from services.gateway.views import households

    return ViewsProjection(households.PROJECTORS)


async def wait_until_applied(engine: AsyncEngine, stream_id: str, version: int, timeout_s: float) -> bool:
    """Read-your-writes: True once the read models hold `stream_id` at `version` or later."""
    deadline = time.monotonic() + timeout_s
    query = select(stream_versions.c.version).where(
        stream_versions.c.consumer == VIEWS_CONSUMER, stream_versions.c.stream_id == stream_id
    )
    delay = 0.002
    while True:
        async with engine.connect() as conn:
            applied = await conn.scalar(query)
        if applied is not None and applied >= version:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
