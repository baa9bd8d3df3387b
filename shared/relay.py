"""The relay: publishes a service's stored events to its Redis stream, in visible order.

Each event goes out with the explicit entry ID the store gave it, so Redis itself
refuses a republished event and the stream's last entry is the relay's cursor.
A wiped Redis (an empty stream) makes the relay start again from the beginning.
"""

from __future__ import annotations

import asyncio
import logging

from faststream.redis.parser import BinaryMessageFormatV1
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.eventstore import START, EntryId, EventStore, StoredEvent

log = logging.getLogger(__name__)

_ALREADY_PUBLISHED = "equal or smaller"
_RECHECKS_AFTER_PING_S = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
_WAIT_SLICE_S = 0.1


class RelayPinger:
    """An `EventStore.after_append` listener that pings the relay without making the append wait.

    At most one PUBLISH is in flight; appends during it ask for one more, so a burst of
    appends costs a ping or two, not one each. A lost ping only delays the relay to its poll.
    """

    def __init__(self, redis: Redis, channel: str):
        self.redis = redis
        self.channel = channel
        self._sending: asyncio.Task | None = None
        self._again = False

    async def __call__(self, _appended: list) -> None:
        if self._sending is None:
            self._sending = asyncio.create_task(self._send())
        else:
            self._again = True

    async def _send(self) -> None:
        try:
            while True:
                self._again = False
                try:
                    await self.redis.publish(self.channel, b"")
                except Exception:  # noqa: BLE001 - the relay's own poll still finds the events
                    log.debug("could not ping %s", self.channel, exc_info=True)
                if not self._again:
                    return
        finally:
            self._sending = None


def _utf8(value: str) -> bytes:
    # FastStream 0.7 writes a str header's length in characters but its bytes in UTF-8, so
    # one non-ASCII header corrupts the whole entry (no headers, body unreadable); given
    # bytes, it writes their true length, and subscribers still read a str.
    return value.encode()


async def encode_for_stream(stored: StoredEvent) -> bytes:
    """FastStream's wire format, so subscribers get the headers as well as the body."""
    envelope = stored.envelope
    return await BinaryMessageFormatV1.encode(
        message=envelope.model_dump_json().encode(),
        reply_to=None,
        headers={
            "content-type": "application/json",
            "event_type": _utf8(envelope.type),
            "stream_id": _utf8(envelope.stream_id),
            "community_id": _utf8(envelope.community_id),
            "correlation_id": _utf8(envelope.correlation_id),
        },
        correlation_id=envelope.correlation_id,
    )


class Relay:
    def __init__(
        self,
        store: EventStore,
        redis: Redis,
        stream_key: str,
        maxlen: int,
        batch_size: int = 500,
        wake_channel: str | None = None,
    ):
        self.store = store
        self.redis = redis
        self.stream_key = stream_key
        self.maxlen = maxlen
        self.batch_size = batch_size
        self.wake_channel = wake_channel
        self.published_total = 0

    async def cursor(self) -> EntryId:
        """The stream's last ID ever added: everything up to it is published.

        Not the last entry still there: a stream trimmed to nothing keeps its last ID,
        and Redis refuses anything at or below it. Only a deleted stream starts over.
        """
        try:
            info = await self.redis.xinfo_stream(self.stream_key)
        except ResponseError as error:
            if "no such key" in str(error).lower():
                return START
            raise
        return EntryId.parse(info["last-generated-id"])

    async def publish_batch(self) -> int:
        """Publishes the next batch after the stream's last entry; returns how many went out."""
        batch = await self.store.read_all(await self.cursor(), self.batch_size)
        if not batch:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        for stored in batch:
            pipe.xadd(
                self.stream_key,
                {"__data__": await encode_for_stream(stored)},
                id=str(stored.entry_id),
                maxlen=self.maxlen,
                approximate=True,
            )
        results = await pipe.execute(raise_on_error=False)
        published = 0
        for result in results:
            if isinstance(result, ResponseError):
                if _ALREADY_PUBLISHED not in str(result):
                    raise result
            elif isinstance(result, Exception):
                raise result
            else:
                published += 1
        self.published_total += published
        return published

    async def run(self, stop: asyncio.Event, idle_poll_s: float) -> None:
        """Publishes until `stop` is set; a Redis or database outage is retried, not fatal.

        Idle, it waits for a ping on `wake_channel` (sent after each append), and looks
        at the store every `idle_poll_s` anyway, in case a ping was lost.
        """
        wake = WakeUp(self.redis, self.wake_channel)
        try:
            await self._run(stop, idle_poll_s, wake)
        finally:
            await wake.close()

    async def _run(self, stop: asyncio.Event, idle_poll_s: float, wake: WakeUp) -> None:
        failures = 0
        rechecks: list[float] = []
        while not stop.is_set():
            try:
                published = await self.publish_batch()
                failures = 0
            except Exception:  # noqa: BLE001 - keep relaying once the outage ends
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.exception("relay to %s failed (%d in a row)", self.stream_key, failures)
                published = 0
                await _sleep_or_stop(stop, min(5.0, 0.1 * failures))
                continue
            if published:
                rechecks = []
                if published >= self.batch_size:
                    continue  # more may be waiting
                # A short batch took everything visible: an append since then has pinged
                # us, so wait for its ping instead of reading the store once more.
            elif rechecks:
                # Pinged, but nothing visible yet (PostgreSQL: an older transaction is still
                # open somewhere on the server): look again soon, not after a whole poll.
                await _sleep_or_stop(stop, rechecks.pop(0))
                continue
            if await wake.wait(stop, idle_poll_s):
                rechecks = list(_RECHECKS_AFTER_PING_S)


class WakeUp:
    """Waits for a ping on a pub/sub channel, or for a timeout, whichever comes first."""

    def __init__(self, redis: Redis, channel: str | None):
        self.channel = channel
        self.pubsub = redis.pubsub(ignore_subscribe_messages=True) if channel else None
        self.subscribed = False

    async def wait(self, stop: asyncio.Event, timeout_s: float) -> bool:
        """True when pinged; returns early, False, once `stop` is set."""
        if self.pubsub is None:
            await _sleep_or_stop(stop, timeout_s)
            return False
        deadline = asyncio.get_running_loop().time() + timeout_s
        try:
            if not self.subscribed:
                await self.pubsub.subscribe(self.channel)
                self.subscribed = True
            # In slices: get_message cannot also watch `stop`.
            while not stop.is_set():
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    return False
                if await self.pubsub.get_message(timeout=min(remaining, _WAIT_SLICE_S)) is not None:
                    while await self.pubsub.get_message(timeout=0) is not None:
                        pass  # one batch read serves every ping that is already here
                    return True
            return False
        except Exception:  # noqa: BLE001 - without pings the relay still polls
            self.subscribed = False
            await _sleep_or_stop(stop, timeout_s)
            return False

    async def close(self) -> None:
        if self.pubsub is not None:
            await self.pubsub.aclose()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
