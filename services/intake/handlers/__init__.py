"""One short function per command: load the stream, decide, append with the expected version."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shared.contracts.intake_care import CARE_DEADLINE_DEFAULTS
from shared.deadlines import Clock, DeadlinePolicy, SystemClock, china_date
from shared.eventstore import EventStore
from shared.sealing import Sealer


@dataclass(frozen=True)
class Intake:
    """What intake's handlers work with: its event store, the sealer of personal data,
    and the key of the ID-number digests in its duplicate index."""

    store: EventStore
    sealer: Sealer
    digest_key: bytes
    clock: Clock = field(default_factory=SystemClock)
    """Now, for the deadlines a registration, a label, a visit or a contact starts."""
    policy: DeadlinePolicy = field(default_factory=lambda: DeadlinePolicy(CARE_DEADLINE_DEFAULTS))
    """How long until a household's revisit or an elderly resident's contact is due."""

    def today(self) -> date:
        """The community's date (China), for labels that lapse."""
        return china_date(self.clock)


class VersionMismatch(Exception):
    """The caller's `If-Match` version is not the record's current version."""

    def __init__(self, current: int):
        super().__init__(f"current version is {current}")
        self.current = current
