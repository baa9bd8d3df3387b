"""One relay in its own process, for tests that kill it:
`python -m tests.support.relay_process <database url> <redis url> <stream key> <batch size>`."""

import asyncio
import sys

from redis.asyncio import Redis

from shared.db import create_engine
from shared.eventstore import EventStore
from shared.relay import Relay


async def main(database_url: str, redis_url: str, stream_key: str, batch_size: int) -> None:
    store = EventStore(create_engine(database_url))
    relay = Relay(store, Redis.from_url(redis_url), stream_key, maxlen=1_000_000, batch_size=batch_size)
    print("relaying", flush=True)
    await relay.run(asyncio.Event(), 0.01)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
