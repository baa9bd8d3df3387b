"""Wiring: `create_api(settings)` and `create_worker(settings)`. Nothing happens at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream.redis import RedisBroker
from litestar import Litestar
from litestar.di import Provide
from redis.asyncio import Redis

from services.intake import deadlines
from services.intake.api import routes
from services.intake.settings import IntakeSettings
from services.intake.handlers import Intake
from services.intake.reactions import reactions_consumer
from services.intake.registry import registry_metadata
from services.intake.seed import seed_demo_network
from shared.db import create_engine, create_tables, ensure_schema
from shared.deadlines import DeadlineScheduler, DeadlineTracker, clock_from_settings
from shared.eventstore import EventStore
from shared.http import Metrics, database_check, events_route, service_app
from shared.identity import VerifiedIdentities
from shared.reactions import replica_name
from shared.relay import Relay, RelayPinger
from shared.sealing import Sealer, key_encryption_key
from shared.streams import appended_channel, events_stream
from shared.worker import ConsumerRunner, run_worker

log = logging.getLogger(__name__)


async def open_store(settings: IntakeSettings) -> EventStore:
    engine = create_engine(settings.database_url(), settings.database_schema())
    await ensure_schema(engine, settings.database_schema())
    store = EventStore(engine)
    await store.setup()
    return store


def create_api(settings: IntakeSettings) -> Litestar:
    settings.check_production_safety()
    ready: dict[str, Intake] = {}
    redis = Redis.from_url(settings.redis_url)
    metrics = Metrics("intake")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = await open_store(settings)
        store.after_append.append(RelayPinger(redis, appended_channel("intake")))
        sealer = Sealer(store.engine, settings.secret, "intake")
        await sealer.setup()
        await create_tables(store.engine, registry_metadata)
        ready["intake"] = Intake(store, sealer, key_encryption_key(settings.secret, "intake-id-digests"), clock, policy)
        try:
            # Here, not in deploy/run.py: intake's own data, written before its API answers, by
            # every way of starting it in demo mode (`make run`, the e2e platform, `api`/`all`).
            if settings.demo and (written := await seed_demo_network(store, sealer)):
                log.info("seeded the demo information network (%d events)", written)
            yield
        finally:
            await store.close()
            await store.engine.dispose()
            await redis.aclose()

    async def provide_intake() -> Intake:
        return ready["intake"]

    async def provide_store() -> EventStore:
        return ready["intake"].store

    async def provide_sealer() -> Sealer:
        return ready["intake"].sealer

    clock = clock_from_settings(settings)
    policy = deadlines.policy(settings.deadline_policy)

    async def database_ready() -> None:
        await database_check(ready["intake"].store.engine)()

    return service_app(
        title="Five-Zero intake (internal)",
        description="Pillar 1: households, residents and sentiment reports. Called by the gateway with its signed identity.",
        route_handlers=[*routes, events_route(settings.secret)],
        metrics=metrics,
        ready_checks={"database": database_ready, "redis": redis.ping},
        lifespan=[lifespan],
        dependencies={
            "intake": provide_intake,
            "store": provide_store,
            "sealer": provide_sealer,
            "deadline_policy": Provide(lambda: policy, sync_to_thread=False),
            "clock": Provide(lambda: clock, sync_to_thread=False),
        },
        state={"identities": VerifiedIdentities(settings.secret)},
    )


async def run_intake_worker(settings: IntakeSettings, stop: asyncio.Event) -> None:
    """The relay of intake's store to `fz:{intake}:events`, the deadline scheduler, and the
    reactions to mediation's events (a closed case replies to its report)."""
    store = await open_store(settings)
    broker = RedisBroker(settings.redis_url, logger=None)
    redis = Redis.from_url(settings.redis_url)
    relay = Relay(
        store, redis, events_stream("intake"), settings.stream_maxlen, wake_channel=appended_channel("intake")
    )
    scheduler = DeadlineScheduler(
        DeadlineTracker(store, deadlines.RULES),
        clock_from_settings(settings),
        deadlines.overdue_handlers(store),
        settings.deadline_poll_s,
    )
    reactions, mediation_events = reactions_consumer(store, redis, settings, replica_name())
    try:
        await asyncio.gather(
            run_worker(broker, [relay], [ConsumerRunner(reactions, broker)], stop, settings.relay_poll_s),
            scheduler.run(stop),
        )
    finally:
        await mediation_events.close()
        await redis.aclose()
        await store.close()
        await store.engine.dispose()
