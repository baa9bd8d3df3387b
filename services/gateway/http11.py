"""A lean HTTP/1.1 client with keep-alive, for the gateway's calls to the pillars.

httpx cost about a millisecond of CPU per forwarded command (its connection pool checks
every connection on each request); this client writes the request in one piece and reads
the answer with httptools, the parser uvicorn already uses. It is no general client:
no TLS, no redirects, no proxies; answers must fit in memory.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httptools

# uvicorn closes a connection idle for 5 s: never send on one that may be closing.
_IDLE_REUSE_S = 2.0


class TransportError(Exception):
    """No answer: the connection could not be made, broke, or the answer took too long."""


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    """Lower-case names."""
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass
class _Exchange:
    answer: asyncio.Future
    headers: dict[str, str] = field(default_factory=dict)
    body: list[bytes] = field(default_factory=list)
    header_name: bytes = b""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.exchange: _Exchange | None = None
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.exchange is not None and not self.exchange.answer.done():
            self.exchange.answer.set_exception(TransportError(f"connection lost: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            if self.exchange is not None and not self.exchange.answer.done():
                self.exchange.answer.set_exception(TransportError(f"bad answer: {error}"))
            self.close()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.exchange.headers[name.decode("latin-1").lower()] = value.decode("latin-1")  # type: ignore[union-attr]

    def on_body(self, body: bytes) -> None:
        self.exchange.body.append(body)  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        exchange = self.exchange
        if exchange is not None and not exchange.answer.done():
            answer = Answer(self.parser.get_status_code(), exchange.headers, b"".join(exchange.body))
            exchange.answer.set_result((answer, self.parser.should_keep_alive()))

    async def request(self, head: bytes, body: bytes) -> tuple[Answer, bool]:
        self.exchange = _Exchange(asyncio.get_running_loop().create_future())
        self.transport.write(head + body if len(body) < 65536 else head)  # type: ignore[union-attr]
        if len(body) >= 65536:
            self.transport.write(body)  # type: ignore[union-attr]
        try:
            return await self.exchange.answer
        finally:
            self.exchange = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Http11Client:
    """Keep-alive connections to one `http://host:port` origin, at most `max_connections`."""

    def __init__(self, base_url: str, timeout_s: float = 10.0, max_connections: int = 16):
        origin = urlsplit(base_url)
        if origin.scheme != "http" or not origin.hostname:
            raise ValueError(f"only http://host:port origins: {base_url}")
        self.host, self.port = origin.hostname, origin.port or 80
        self.prefix = origin.path.rstrip("/")
        self.host_header = origin.netloc
        self.timeout_s = timeout_s
        self.slots = asyncio.Semaphore(max_connections)
        self.idle: list[_Connection] = []

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
        lines = [f"{method} {self.prefix}{path} HTTP/1.1", f"host: {self.host_header}", f"content-length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        async with self.slots:
            connection = await self._connection()
            try:
                async with asyncio.timeout(self.timeout_s):
                    answer, keep_alive = await connection.request(head, body)
            except BaseException as error:
                connection.close()
                if isinstance(error, (OSError, TimeoutError)):
                    raise TransportError(repr(error)) from error
                raise
            if keep_alive and not connection.closed:
                connection.idle_since = time.monotonic()
                self.idle.append(connection)
            else:
                connection.close()
            return answer

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed and now - connection.idle_since < _IDLE_REUSE_S:
                return connection
            connection.close()
        try:
            async with asyncio.timeout(self.timeout_s):
                _, connection = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
        except (OSError, TimeoutError) as error:
            raise TransportError(repr(error)) from error
        return connection

    async def close(self) -> None:
        while self.idle:
            self.idle.pop().close()
