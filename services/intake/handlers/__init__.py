"""One short function per command: load the stream, decide, append with the expected version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from shared.deadlines import SystemClock, china_date
from shared.eventstore import EventStore
from shared.sealing import Sealer


@dataclass(frozen=True)
class Intake:
    """What intake's handlers work with: its event store, the sealer of personal data,
    and the key of the ID-number digests in its duplicate index."""

    store: EventStore
    sealer: Sealer
    digest_key: bytes
    today: Callable[[], date] = lambda: china_date(SystemClock())
    """The community's date, for labels that lapse; tests and demos pass their own clock."""


class VersionMismatch(Exception):
    """The caller's `If-Match` version is not the record's current version."""

    def __init__(self, current: int):
        super().__init__(f"current version is {current}")
        self.current = current
