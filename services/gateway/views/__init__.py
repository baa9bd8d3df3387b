"""The gateway's read models: tables built only from the pillars' events, dropped and rebuilt at will.

One consumer group, `gateway.views`, feeds them all; each view module registers
the event types it projects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

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
    from services.gateway.views import households, reports

    return ViewsProjection({**households.PROJECTORS, **reports.PROJECTORS})
