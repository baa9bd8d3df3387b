"""The gateway's read models: tables built only from the pillars' events, dropped and rebuilt at will.

One consumer group, `gateway.views`, feeds them all; each view module registers
the event types it projects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.events import Envelope

VIEWS_CONSUMER = "gateway.views"
VIEW_SOURCES = ("intake", "mediation")

views_metadata = MetaData()

Projector = Callable[[AsyncConnection, Sequence[Envelope]], Awaitable[None]]
"""Applies a run of events, in order, to one view."""


class ViewsProjection:
    """Sends each event to the view functions registered for its type; ignores the rest."""

    def __init__(self, projectors: dict[str, list[Projector]]):
        self.projectors = projectors

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        await self.apply_batch(conn, [envelope])

    async def apply_batch(self, conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
        """Each view gets the batch's events of the types it registered, in order."""
        runs: dict[Projector, list[Envelope]] = {}
        for envelope in envelopes:
            for project in self.projectors.get(envelope.type, ()):
                runs.setdefault(project, []).append(envelope)
        for project, run in runs.items():
            await project(conn, run)


def all_views() -> ViewsProjection:
    from services.gateway.views import (
        care,
        dispute_index,
        dispute_watch,
        disputes,
        households,
        network,
        reports,
        residents,
        rosters,
    )

    projectors: dict[str, list[Projector]] = {}
    # dispute_watch after disputes: it adds to the case document that disputes wrote.
    for module in (households, residents, reports, network, care, disputes, dispute_watch, dispute_index, rosters):
        for event_type, functions in module.PROJECTORS.items():
            projectors.setdefault(event_type, []).extend(functions)
    return ViewsProjection(projectors)
