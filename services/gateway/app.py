"""Wiring: `create_api(settings)` and the views worker. Nothing happens at import."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream.redis import RedisBroker
from litestar import Litestar
from litestar.openapi.spec import Components
from prometheus_client import Gauge
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.audit_api import audit
from services.gateway.care_api import CareController
from services.gateway.auth import openapi_security_schemes
from services.gateway.codelists_api import code_list_route
from services.gateway.disputes_api import disputes_router
from services.gateway.street_disputes_api import street_disputes_router
from services.gateway.rosters_api import roster_routers
from services.gateway.forward import ServiceClient
from services.gateway.households_api import HouseholdsController
from services.gateway.imports_api import import_client, import_routes
from services.gateway.ledgers_api import ledger_routes
from services.gateway.network_api import network_routes
from services.gateway.residents_api import ResidentsController
from services.gateway.org import org_metadata
from services.gateway.personal_data import PersonalData, audit_metadata
from services.gateway.org_api import org_routes
from services.gateway.reports_api import ReportsController
from services.gateway.profile_api import ProfileController
from services.gateway.scorecard_api import ScorecardController
from services.gateway.seed import seed_demo
from services.gateway.settings import GatewaySettings
from services.gateway.views import VIEW_SOURCES, VIEWS_CONSUMER, all_views, views_metadata
from shared.consumer import EventConsumer, consumer_metadata
from shared.db import create_engine, create_tables, ensure_schema
from shared.http import Metrics, database_check, service_app
from shared.streams import dead_letter_stream, events_stream
from shared.worker import ConsumerRunner, run_worker

log = logging.getLogger(__name__)


async def open_database(settings: GatewaySettings) -> AsyncEngine:
    engine = create_engine(settings.database_url(), settings.database_schema())
    await ensure_schema(engine, settings.database_schema())
    await create_tables(engine, org_metadata, views_metadata, consumer_metadata, audit_metadata)
    return engine


def pipeline_metrics(metrics: Metrics, redis: Redis) -> None:
    """Gauges read from Redis at each scrape: they describe every replica, not this process."""
    dead = Gauge("fivezero_dead_letters", "Messages a consumer gave up on", ["consumer"], registry=metrics.registry)
    pending = Gauge(
        "fivezero_consumer_pending", "Delivered, not yet acknowledged", ["consumer", "source"], registry=metrics.registry
    )
    length = Gauge("fivezero_stream_length", "Entries kept in a Redis stream", ["stream"], registry=metrics.registry)

    async def read_redis() -> None:
        dead.labels(VIEWS_CONSUMER).set(await redis.xlen(dead_letter_stream(VIEWS_CONSUMER)))
        for source in VIEW_SOURCES:
            stream = events_stream(source)
            length.labels(stream).set(await redis.xlen(stream))
            try:
                summary = await redis.xpending(stream, VIEWS_CONSUMER)
                pending.labels(VIEWS_CONSUMER, source).set(summary["pending"])
            except Exception:  # noqa: BLE001 - no group yet: nothing pending
                pending.labels(VIEWS_CONSUMER, source).set(0)

    metrics.hooks.append(read_redis)


def create_api(settings: GatewaySettings) -> Litestar:
    settings.check_production_safety()
    redis = Redis.from_url(settings.redis_url)
    metrics = Metrics("gateway")
    pipeline_metrics(metrics, redis)
    resources: dict[str, object] = {}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = await open_database(settings)
        if settings.demo and await seed_demo(engine, settings.demo_password):
            log.info("seeded the demo district")
        resources["engine"] = engine
        resources["services"] = ServiceClient(settings.service_urls(), settings.secret)
        resources["import_services"] = import_client(settings)
        resources["personal_data"] = PersonalData(resources["services"], engine)  # type: ignore[arg-type]
        try:
            yield
        finally:
            await resources["services"].close()  # type: ignore[attr-defined]
            await resources["import_services"].close()  # type: ignore[attr-defined]
            await engine.dispose()
            await redis.aclose()

    async def provide_engine() -> AsyncEngine:
        return resources["engine"]  # type: ignore[return-value]

    async def provide_services() -> ServiceClient:
        return resources["services"]  # type: ignore[return-value]

    async def provide_import_services() -> ServiceClient:
        return resources["import_services"]  # type: ignore[return-value]

    async def provide_personal_data() -> PersonalData:
        return resources["personal_data"]  # type: ignore[return-value]

    async def provide_settings() -> GatewaySettings:
        return settings

    async def database_ready() -> None:
        await database_check(resources["engine"])()  # type: ignore[arg-type]

    app = service_app(
        title="Five-Zero platform API",
        description="The one public API of the Five-Zero platform (五零工作法): identity, households, sentiment reports, dispute cases, views.",
        route_handlers=[
            *org_routes(),
            HouseholdsController,
            ResidentsController,
            ReportsController,
            *network_routes,
            code_list_route,
            audit,
            *ledger_routes,
            *import_routes,
            CareController,
            ScorecardController,
            ProfileController,
            disputes_router,
            street_disputes_router,
            *roster_routers,
        ],
        metrics=metrics,
        ready_checks={"database": database_ready, "redis": redis.ping},
        lifespan=[lifespan],
        dependencies={
            "gateway_engine": provide_engine,
            "services": provide_services,
            "import_services": provide_import_services,
            "settings": provide_settings,
            "personal_data": provide_personal_data,
        },
    )
    app.openapi_config.components = Components(security_schemes=openapi_security_schemes())  # type: ignore[union-attr]
    return app


def replica_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def run_gateway_worker(settings: GatewaySettings, stop: asyncio.Event) -> None:
    """The `gateway.views` consumer: builds the read models from every pillar's stream."""
    engine = await open_database(settings)
    redis = Redis.from_url(settings.redis_url)
    broker = RedisBroker(settings.redis_url, logger=None)
    services = ServiceClient(settings.service_urls(), settings.secret)
    consumer = EventConsumer(
        VIEWS_CONSUMER,
        engine,
        redis,
        all_views(),
        VIEW_SOURCES,
        replica=replica_name(),
        max_deliveries=settings.max_deliveries,
        claim_idle_ms=settings.claim_idle_ms,
        fetch_events=services.fetch_events,
    )
    try:
        await run_worker(broker, [], [ConsumerRunner(consumer, broker)], stop, settings.relay_poll_s)
    finally:
        await services.close()
        await redis.aclose()
        await engine.dispose()
