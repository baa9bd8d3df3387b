"""What every service's HTTP API has in common: operations endpoints, problems, limits.

`/health` says the process lives; `/ready` that its database and Redis answer;
`/metrics` is Prometheus text; `/schema` the OpenAPI document; and the internal
`GET /events?after=<cursor>` serves the service's own history to other services.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from litestar.params import FromQuery
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.eventstore import EntryId, EventStore
from shared.identity import IDENTITY_HEADER, Identity, InvalidIdentity, VerifiedIdentities
from shared.problems import ProblemError, exception_handlers

MAX_BODY_BYTES = 1024 * 1024

MetricsHook = Callable[[], Awaitable[None]]
"""Run before each scrape, to set gauges that live outside the process (Redis, the database)."""


class Metrics:
    """One process's Prometheus registry: no global state shared between apps in tests."""

    def __init__(self, service: str):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fivezero_http_requests",
            "HTTP requests answered",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fivezero_http_request_seconds",
            "HTTP request latency",
            ["service", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.service = service
        self.hooks: list[MetricsHook] = []

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def measure(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = {"code": 500}

            async def send_and_note(message: Any) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_and_note)
            finally:
                route = scope.get("path_template") or "unrouted"
                self.requests.labels(self.service, scope["method"], route, status["code"]).inc()
                self.latency.labels(self.service, route).observe(time.perf_counter() - started)

        return measure

    async def render(self) -> bytes:
        for hook in self.hooks:
            await hook()
        return generate_latest(self.registry)


def ops_routes(metrics: Metrics, ready_checks: dict[str, Callable[[], Awaitable[Any]]]) -> list:
    @get("/health", summary="Liveness", include_in_schema=True, tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Readiness: database and Redis answer", tags=["operations"])
    async def ready() -> Response[dict[str, Any]]:
        results: dict[str, str] = {}
        for name, check in ready_checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as error:  # noqa: BLE001 - reported, not raised
                results[name] = f"failed: {type(error).__name__}"
        healthy = all(value == "ok" for value in results.values())
        return Response({"status": "ready" if healthy else "not ready", "checks": results}, status_code=200 if healthy else 503)

    @get("/metrics", summary="Prometheus metrics", tags=["operations"], media_type=CONTENT_TYPE_LATEST)
    async def metrics_endpoint() -> Response[bytes]:
        # Litestar appends "; charset=utf-8" to a text/* media type, and CONTENT_TYPE_LATEST has one.
        return Response(await metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [health, ready, metrics_endpoint]


def database_check(engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return check


def identity_of(request: Request, identities: VerifiedIdentities) -> Identity:
    """The gateway-signed identity of the caller; services trust nothing else."""
    token = request.headers.get(IDENTITY_HEADER)
    if not token:
        raise ProblemError("unauthenticated")
    try:
        return identities.verify(token)
    except InvalidIdentity as error:
        raise ProblemError("unauthenticated") from error


def events_route(secret: str) -> Any:
    """`GET /events?after=<entry id>&limit=`: the store (dependency `store`) for other services."""
    identities = VerifiedIdentities(secret)

    @get("/events", summary="Events after a cursor, in visible order (services only)", tags=["internal"])
    async def events(
        request: Request, store: NamedDependency[EventStore], after: FromQuery[str] = "0-0", limit: FromQuery[int] = 500
    ) -> dict[str, Any]:
        caller = identity_of(request, identities)
        if not caller.is_service:
            raise ProblemError("forbidden")
        try:
            cursor = EntryId.parse(after)
        except ValueError as error:
            raise ProblemError(
                "validation_failed",
                detail_zh=f"游标格式应为 <数字>-<数字>：{after}",
                detail_en=f"cursor must look like <number>-<number>: {after}",
            ) from error
        page = await store.read_all(cursor, max(1, min(limit, 1000)))
        return {
            "events": [
                {"entry_id": str(item.entry_id), "envelope": item.envelope.model_dump(mode="json")}
                for item in page
            ],
            "next": str(page[-1].entry_id) if page else str(cursor),
        }

    return events


def service_app(
    *,
    title: str,
    route_handlers: Sequence[Any],
    metrics: Metrics,
    ready_checks: dict[str, Callable[[], Awaitable[Any]]],
    lifespan: Sequence[Any] = (),
    dependencies: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    description: str = "",
) -> Litestar:
    return Litestar(
        route_handlers=[*route_handlers, *ops_routes(metrics, ready_checks)],
        exception_handlers=exception_handlers(),
        request_max_body_size=MAX_BODY_BYTES,
        middleware=[metrics.middleware],
        lifespan=list(lifespan),
        dependencies={k: v if isinstance(v, Provide) else Provide(v, use_cache=True) for k, v in (dependencies or {}).items()},
        state=State(state or {}),
        # JSON at /schema itself: the HTML viewers load scripts from a CDN, blank offline.
        openapi_config=OpenAPIConfig(
            title=title,
            version="1.0.0",
            path="/schema",
            description=description,
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
        ),
        logging_config=None,
    )
