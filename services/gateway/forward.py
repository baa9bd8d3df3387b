"""Commands go to the owning service with the caller's identity, signed by the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from litestar import Response
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.http11 import Answer, Http11Client, TransportError
from services.gateway.views.pages import wait_for_version
from shared.events import Envelope
from shared.eventstore import EntryId, StoredEvent
from shared.identity import IDENTITY_HEADER, Identity, IdentitySigner, service_identity
from shared.problems import ProblemError

_FORWARDED_HEADERS = ("content-type", "accept-language", "idempotency-key", "if-match")
_RETURNED_HEADERS = ("etag", "content-type", "content-language")


class ServiceClient:
    """One HTTP client for all pillars' internal APIs (connection pooling, timeouts)."""

    def __init__(self, urls: dict[str, str], secret: str, timeout_s: float = 10.0):
        self.urls = urls
        self.identities = IdentitySigner(secret)
        self.commands = {service: Http11Client(url, timeout_s) for service, url in urls.items()}
        self.http = httpx.AsyncClient(timeout=timeout_s)  # catch-up pages: rare, so the general client

    async def close(self) -> None:
        for client in self.commands.values():
            await client.close()
        await self.http.aclose()

    async def send(
        self,
        service: str,
        method: str,
        path: str,
        caller: Identity,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        forwarded = {k: v for k, v in (headers or {}).items() if k.lower() in _FORWARDED_HEADERS}
        forwarded[IDENTITY_HEADER] = self.identities.token(caller)
        try:
            return await self.commands[service].request(method, path, body or b"", forwarded)
        except TransportError as error:
            raise ProblemError(
                "service_unavailable",
                detail_zh=f"{service} 服务暂时无法访问",
                detail_en=f"the {service} service cannot be reached",
            ) from error

    async def fetch_events(self, service: str, after: EntryId, limit: int) -> Sequence[StoredEvent]:
        """A page of a service's history, for a consumer catching up without Redis."""
        response = await self.http.get(
            f"{self.urls[service]}/events",
            params={"after": str(after), "limit": limit},
            headers={IDENTITY_HEADER: self.identities.token(service_identity("gateway"))},
        )
        response.raise_for_status()
        return [
            StoredEvent(EntryId.parse(item["entry_id"]), Envelope.model_validate(item["envelope"]))
            for item in response.json()["events"]
        ]


def passthrough(response: Answer) -> Response[Any]:
    """The owning service's answer (a problem, usually) as the gateway's own."""
    headers = {k: v for k, v in response.headers.items() if k.lower() in _RETURNED_HEADERS}
    return Response(
        content=response.content,
        status_code=response.status_code,
        headers=headers,
        media_type=response.headers.get("content-type", "application/json"),
    )


async def shown_when_read(
    answer: Answer,
    engine: AsyncEngine,
    table: Table,
    community_id: str,
    timeout_s: float,
    location: str | None = None,
) -> tuple[dict[str, Any] | None, Response[Any]]:
    """A service's answer to a write, given once the gateway's read model `table` shows
    it (for up to `timeout_s`; 0: at once), so the client's next GET sees its own write.
    Returns the record shown (None for a problem) and the response; `location`: the
    collection's path, for a Location header."""
    if answer.status_code >= 300:
        return None, passthrough(answer)
    written = answer.json()
    shown = written
    if timeout_s > 0:
        shown = await wait_for_version(engine, table, written["id"], community_id, written["version"], timeout_s) or written
    headers = {"ETag": f'"{shown["version"]}"'}
    if location is not None:
        headers["Location"] = f"{location}/{shown['id']}"
    return shown, Response(shown, status_code=answer.status_code, headers=headers)

