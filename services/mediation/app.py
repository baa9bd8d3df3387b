"""Wiring: `create_api(settings)` and the worker. Nothing happens at import."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream.redis import RedisBroker
from litestar import Litestar
from redis.asyncio import Redis

from services.mediation import deadlines
from services.mediation.api import routes
from services.mediation.reactions import reactions_consumer
from services.mediation.settings import MediationSettings
from shared.db import create_engine, ensure_schema
from shared.deadlines import DeadlineScheduler, DeadlineTracker, clock_from_settings
from shared.eventstore import EventStore
from shared.http import Metrics, database_check, events_route, service_app
from shared.identity import VerifiedIdentities
from shared.relay import Relay, RelayPinger
from shared.reactions import replica_name
from shared.sealing import Sealer
from shared.streams import appended_channel, events_stream
from shared.worker import ConsumerRunner, run_worker


async def open_store(settings: MediationSettings) -> EventStore:
    engine = create_engine(settings.database_url(), settings.database_schema())
    await ensure_schema(engine, settings.database_schema())
    store = EventStore(engine)
    await store.setup()
    return store


def create_api(settings: MediationSettings) -> Litestar:
    settings.check_production_safety()
    ready: dict[str, EventStore] = {}
    redis = Redis.from_url(settings.redis_url)
    metrics = Metrics("mediation")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = await open_store(settings)
        store.after_append.append(RelayPinger(redis, appended_channel("mediation")))
        ready["store"] = store
        ready["sealer"] = sealer = Sealer(store.engine, settings.secret, "mediation")
        await sealer.setup()
        try:
            yield
        finally:
            await store.close()
            await store.engine.dispose()
            await redis.aclose()

    async def provide_store() -> EventStore:
        return ready["store"]

    async def provide_sealer() -> Sealer:
        return ready["sealer"]

    async def database_ready() -> None:
        await database_check(ready["store"].engine)()

    return service_app(
        title="Five-Zero mediation (internal)",
        description="Pillar 2: dispute cases and their mediation. Called by the gateway with its signed identity.",
        route_handlers=[*routes, events_route(settings.secret)],
        metrics=metrics,
        ready_checks={"database": database_ready, "redis": redis.ping},
        lifespan=[lifespan],
        dependencies={"store": provide_store, "sealer": provide_sealer},
        state={"identities": VerifiedIdentities(settings.secret)},
    )


async def run_mediation_worker(settings: MediationSettings, stop: asyncio.Event) -> None:
    """The relay of mediation's store to `fz:{mediation}:events`, the reactions to
    intake's events (a report triaged as a dispute opens a case), and the deadline scheduler."""
    store = await open_store(settings)
    broker = RedisBroker(settings.redis_url, logger=None)
    redis = Redis.from_url(settings.redis_url)
    relay = Relay(
        store, redis, events_stream("mediation"), settings.stream_maxlen, wake_channel=appended_channel("mediation")
    )
    reactions, intake_events = reactions_consumer(store, redis, settings, replica_name())
    scheduler = DeadlineScheduler(
        DeadlineTracker(store, deadlines.rules(deadlines.policy(settings.deadline_policy))),
        clock_from_settings(settings),
        deadlines.overdue_handlers(store),
        settings.deadline_poll_s,
    )
    try:
        await asyncio.gather(
            run_worker(broker, [relay], [ConsumerRunner(reactions, broker)], stop, settings.relay_poll_s),
            scheduler.run(stop),
        )
    finally:
        await intake_events.close()
        await redis.aclose()
        await store.close()
        await store.engine.dispose()
