"""A pillar's reactions to another pillar's events: mediation opens a case when intake routes
a report to it; intake replies to the reporter when mediation closes that case.

A reaction writes to the reacting service's own event store, through its own domain, and
must be idempotent by itself: the same event delivered twice, replayed from `GET /events`,
or redelivered after a crash between the write and the consumer's bookkeeping, must have
its effect once. (The store's writer has its own connections, so the write cannot share
the consumer's transaction; on SQLite it must not even run inside it, or the two would wait
for each other's lock. So the reaction runs first, then the consumer records the entry.)

`ReactionConsumer` is an `EventConsumer` (its consumer group, its dead letters, its
catch-up) whose projection records nothing: every event goes through `react` before the
consumer's transaction records it as applied.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.consumer import EventConsumer
from shared.events import Envelope
from shared.eventstore import EntryId, StoredEvent
from shared.identity import IDENTITY_HEADER, IdentitySigner, service_identity

React = Callable[[Envelope], Awaitable[None]]


class _Nothing:
    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        return None


class ReactionConsumer(EventConsumer):
    def __init__(self, name: str, engine: Any, redis: Any, react: React, sources: Sequence[str], **kwargs: Any):
        super().__init__(name, engine, redis, _Nothing(), sources, **kwargs)
        self.react = react

    async def handle(self, source: str, entry_id: EntryId, envelope: Envelope) -> bool:
        await self.react(envelope)
        return await super().handle(source, entry_id, envelope)

    async def handle_batch(self, source: str, events: Sequence[tuple[EntryId, Envelope]]) -> int:
        for _, envelope in events:
            await self.react(envelope)
        return await super().handle_batch(source, events)


class EventsClient:
    """Pages of another service's history (`GET /events`), for a consumer catching up."""

    def __init__(self, me: str, urls: dict[str, str], secret: str):
        self.me, self.urls = me, urls
        self.identities = IdentitySigner(secret)
        self.http = httpx.AsyncClient(timeout=10.0)

    async def fetch_events(self, service: str, after: EntryId, limit: int) -> Sequence[StoredEvent]:
        response = await self.http.get(
            f"{self.urls[service]}/events",
            params={"after": str(after), "limit": limit},
            headers={IDENTITY_HEADER: self.identities.token(service_identity(self.me))},
        )
        response.raise_for_status()
        return [
            StoredEvent(EntryId.parse(item["entry_id"]), Envelope.model_validate(item["envelope"]))
            for item in response.json()["events"]
        ]

    async def close(self) -> None:
        await self.http.aclose()


def replica_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def reactions_of(
    service: str,
    source: str,
    source_url: str,
    store: Any,
    redis: Any,
    react: Callable[[Envelope], Awaitable[None]],
    settings: Any,
    replica: str,
) -> tuple[ReactionConsumer, EventsClient]:
    """`service`'s reactions to `source`'s events: the consumer of `fz:{<source>}:events`
    (group `<service>.reactions`), catching up from `source`'s `GET /events` at
    `source_url` when Redis lacks the history; and that client, to close."""
    client = EventsClient(service, {source: source_url}, settings.secret)
    consumer = ReactionConsumer(
        f"{service}.reactions",
        store.engine,
        redis,
        react,
        (source,),
        replica=replica,
        max_deliveries=settings.max_deliveries,
        claim_idle_ms=settings.claim_idle_ms,
        fetch_events=client.fetch_events,
    )
    return consumer, client
