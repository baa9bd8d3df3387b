"""Runs a service's background work: its relay, and its consumers with their watchdog.

The watchdog notices a consumer group that vanished (a wiped Redis stops a FastStream
subscriber for good), re-creates it at the consumer's checkpoint, catches up from the
owning service if Redis lacks the history, and restarts the stopped subscribers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from faststream.redis import RedisBroker

from shared.consumer import EventConsumer
from shared.relay import Relay

log = logging.getLogger(__name__)


class ConsumerRunner:
    def __init__(
        self,
        consumer: EventConsumer,
        broker: RedisBroker,
        watch_interval_s: float = 1.0,
        prune_every: int = 300,
    ):
        self.consumer = consumer
        self.broker = broker
        self.watch_interval_s = watch_interval_s
        self.prune_every = prune_every
        self.subscribers = consumer.subscribe(broker)

    async def prepare(self) -> None:
        """Before the broker starts: tables, catch-up where Redis lacks history, groups."""
        await self.consumer.setup()
        await self.catch_up_where_needed()
        await self.consumer.ensure_groups()

    async def catch_up_where_needed(self) -> None:
        for source in self.consumer.sources:
            try:
                if await self.consumer.needs_catch_up(source):
                    count = await self.consumer.catch_up(source)
                    if count:
                        log.info("%s caught up %d events of %s over HTTP", self.consumer.name, count, source)
            except Exception:  # noqa: BLE001 - the watchdog tries again
                log.warning("%s could not catch up on %s yet", self.consumer.name, source, exc_info=True)

    async def watch(self, stop: asyncio.Event) -> None:
        rounds = 0
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.watch_interval_s)
                return
            except TimeoutError:
                pass
            rounds += 1
            try:
                await self.heal()
                if rounds % self.prune_every == 0:
                    for source in self.consumer.sources:
                        await self.consumer.prune_applied(source)
            except Exception:  # noqa: BLE001 - Redis may be down; try again next round
                log.warning("%s watchdog could not check Redis", self.consumer.name, exc_info=True)

    async def heal(self) -> None:
        stopped = [subscriber for subscriber in self.subscribers if not subscriber.running]
        groups_recreated = await self.consumer.ensure_groups()
        if not stopped and not groups_recreated:
            return
        log.warning(
            "%s: %d subscribers stopped, groups re-created: %s; restarting",
            self.consumer.name,
            len(stopped),
            groups_recreated,
        )
        await self.catch_up_where_needed()
        for subscriber in self.subscribers:
            if groups_recreated and subscriber.running:
                await subscriber.stop()
            if not subscriber.running:
                await subscriber.start()


async def run_worker(
    broker: RedisBroker,
    relays: Sequence[Relay],
    runners: Sequence[ConsumerRunner],
    stop: asyncio.Event,
    relay_idle_s: float,
) -> None:
    """Runs until `stop` is set, then stops everything cleanly."""
    await broker.connect()
    for runner in runners:
        await runner.prepare()
    if runners:
        await broker.start()
    tasks = [asyncio.create_task(relay.run(stop, relay_idle_s)) for relay in relays]
    tasks += [asyncio.create_task(runner.watch(stop)) for runner in runners]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await broker.stop()
