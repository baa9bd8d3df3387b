"""Names of every Redis key the platform uses, in one place.

The braces are a Redis Cluster hash tag: all keys of one service share a slot.
"""


def events_stream(service: str) -> str:
    """The stream a service's relay publishes its events to."""
    return f"fz:{{{service}}}:events"


def dead_letter_stream(consumer: str) -> str:
    """Where a consumer puts the messages it gave up on, with their errors."""
    return f"fz:{{{consumer}}}:dead"


def appended_channel(service: str) -> str:
    """Pub/sub channel the service's API pings after an append, to wake its relay at once."""
    return f"fz:{{{service}}}:appended"
