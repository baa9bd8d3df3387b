"""One short function per command: load the stream, decide, append with the expected version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared.eventstore import EventStore
from shared.sealing import Sealer


@dataclass(frozen=True)
class Intake:
    """What intake's handlers work with: its event store, the sealer of personal data,
    and the key of the ID-number digests in its duplicate index."""

    store: EventStore
    sealer: Sealer
    digest_key: bytes
    today: Callable[[], date] = lambda: china_today()
    """The community's date, for labels that lapse; tests pass their own."""


def china_today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


class VersionMismatch(Exception):
    """The caller's `If-Match` version is not the record's current version."""

    def __init__(self, current: int):
        super().__init__(f"current version is {current}")
        self.current = current
