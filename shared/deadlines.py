"""Deadlines: what must happen by when, and the `…Overdue` event when it did not.

Every pillar uses the same mechanism:

- **Rules** (`DeadlineRules`): per event type, what the event means for deadlines:
  it opens a step with a due time (`Opened`), meets it (`Met`), or records that the
  step went overdue (`Missed`). The due time is in the opening event itself (the
  command handler computed it from the policy), so a later change of policy never
  moves a deadline already promised, and every read model can show it.
- **Table** (`deadlines`, in the service's own database): one row per (stream, step),
  fed by `DeadlineTracker` from the service's own event store in visible order, with
  its checkpoint in the same transaction. Why a projection rather than a row written
  by the command handler: the store appends in one autocommit INSERT (group commit),
  so there is no transaction to share; and a table derived from events can be dropped
  and rebuilt, and picks up every past event of a new rule. Applying an event twice
  changes nothing (each row keeps the stream version that opened it), so two trackers
  at once are harmless.
- **Scheduler** (`DeadlineScheduler`, in the service's worker): each round it catches
  the table up, then, for every open row due by `clock.now()`, calls the pillar's
  overdue handler, which loads the aggregate, lets it decide, and appends the
  `…Overdue` event with the expected version. The aggregate is the judge: it refuses
  a step already met or already overdue, and the version guard refuses a second
  writer (`ConcurrencyConflict`, ignored here). So a restarted scheduler finds the
  row still open and emits (never misses); a duplicated or restarted one finds the
  aggregate already overdue (never repeats). Meeting a step late is the aggregate's
  decision too: its command emits the `…OverdueResolved` event with the result.
- **Policy** (`DeadlinePolicy`): defaults per step from the pillar (`report.triage`
  24 hours, …), overridden per community, or for all (`"*"`), by the setting
  `FIVEZERO_DEADLINE_POLICY`, e.g. `{"c-mianzhou": {"report.triage": "PT12H"}}`
  (ISO 8601 durations or seconds).
- **Clock** (`Clock`): time is passed in. Tests use `ManualClock`; the real processes
  use the system clock, shifted by the seconds written in `FIVEZERO_CLOCK_OFFSET_FILE`
  when that is set, so an end-to-end test moves every process a day ahead at once.
  The offset is refused outside demo mode (`ServiceSettings.check_production_safety`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import schema_change, write_transaction
from shared.events import Envelope, utc_now
from shared.eventstore import START, ConcurrencyConflict, EntryId, EventStore

log = logging.getLogger(__name__)

# -- the clock ----------------------------------------------------------------------------


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, UTC."""


class SystemClock:
    def now(self) -> datetime:
        return utc_now()


class OffsetFileClock:
    """The system clock plus the seconds written in `path` (none or no file: no offset).
    Read at every call, so a test moves every process's time by writing one file."""

    def __init__(self, path: Path):
        self.path = path

    def now(self) -> datetime:
        try:
            offset = float(self.path.read_text().strip() or 0)
        except FileNotFoundError:
            offset = 0.0
        return utc_now() + timedelta(seconds=offset)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime):
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> None:
        self._now += by


def clock_from_settings(settings: Any) -> Clock:
    """The offset clock when `clock_offset_file` is set (demo and tests only), else the system's."""
    path = getattr(settings, "clock_offset_file", None)
    if path is None:
        return SystemClock()
    settings.check_production_safety()
    return OffsetFileClock(Path(path))


# -- the policy ---------------------------------------------------------------------------


class DeadlinePolicy:
    """How long each step may take: the pillar's defaults, overridden for every community
    (`"*"`) or for one, as in `{"c-mianzhou": {"report.triage": timedelta(hours=12)}}`."""

    def __init__(self, defaults: Mapping[str, timedelta], overrides: Mapping[str, Mapping[str, timedelta]] = {}):
        self.defaults = dict(defaults)
        self.overrides = {community: dict(steps) for community, steps in overrides.items()}

    def period(self, community_id: str, step: str) -> timedelta:
        for scope in (community_id, "*"):
            if step in self.overrides.get(scope, {}):
                return self.overrides[scope][step]
        return self.defaults[step]

    def due(self, community_id: str, step: str, start: datetime) -> datetime:
        return start + self.period(community_id, step)


# -- what events mean for deadlines -------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    step: str
    due_at: datetime


@dataclass(frozen=True)
class Met:
    step: str


@dataclass(frozen=True)
class Missed:
    """The `…Overdue` event for the step was recorded."""

    step: str


DeadlineChange = Opened | Met | Missed
DeadlineRules = Mapping[str, Callable[[Envelope], Sequence[DeadlineChange]]]
"""Per event type: what that event opens, meets or marks overdue (in order)."""


@dataclass(frozen=True)
class DueDeadline:
    stream_id: str
    step: str
    community_id: str
    due_at: datetime


OverdueHandler = Callable[[DueDeadline, datetime], Awaitable[None]]
"""Loads the aggregate, decides, appends the `…Overdue` event with the expected version."""

# -- the table ----------------------------------------------------------------------------

deadlines_metadata = MetaData()

deadlines = Table(
    "deadlines",
    deadlines_metadata,
    Column("stream_id", String(200), primary_key=True),
    Column("step", String(100), primary_key=True),
    Column("community_id", String(100), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("opened_version", Integer, nullable=False),
    Column("met_at", DateTime(timezone=True), nullable=True),
    Column("overdue_at", DateTime(timezone=True), nullable=True),
    Index("deadlines_open", "met_at", "overdue_at", "due_at"),
)
"""One row per step of an aggregate; a recurring step reopens its row (a later `opened_version`)."""

deadline_checkpoint = Table(
    "deadline_checkpoint",
    deadlines_metadata,
    Column("name", String(50), primary_key=True),
    Column("entry_major", BigInteger, nullable=False),
    Column("entry_minor", BigInteger, nullable=False),
)
"""The last store entry the table has applied."""

_CHECKPOINT = "deadlines"


class DeadlineTracker:
    """Keeps the `deadlines` table in step with the service's own event store."""

    def __init__(self, store: EventStore, rules: DeadlineRules, batch_size: int = 500):
        self.store = store
        self.engine = store.engine
        self.rules = rules
        self.batch_size = batch_size

    async def setup(self) -> None:
        async with schema_change(self.engine) as conn:
            await conn.run_sync(deadlines_metadata.create_all)

    async def catch_up(self) -> int:
        """Applies every event stored since the checkpoint; returns how many it read."""
        total = 0
        while True:
            batch = await self.store.read_all(await self.checkpoint(), self.batch_size)
            if not batch:
                return total
            async with write_transaction(self.engine) as conn:
                await self._apply_all(conn, [stored.envelope for stored in batch])
                await _advance(conn, batch[-1].entry_id)
            total += len(batch)

    async def checkpoint(self) -> EntryId:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(deadline_checkpoint.c.entry_major, deadline_checkpoint.c.entry_minor).where(
                        deadline_checkpoint.c.name == _CHECKPOINT
                    )
                )
            ).first()
        return START if row is None else EntryId(*row)

    async def due(self, now: datetime, limit: int = 200) -> list[DueDeadline]:
        """Open steps due by `now`, earliest first."""
        query = (
            select(deadlines.c.stream_id, deadlines.c.step, deadlines.c.community_id, deadlines.c.due_at)
            .where(deadlines.c.met_at.is_(None), deadlines.c.overdue_at.is_(None), deadlines.c.due_at <= _utc(now))
            .order_by(deadlines.c.due_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [DueDeadline(row.stream_id, row.step, row.community_id, _aware(row.due_at)) for row in rows]

    async def _apply_all(self, conn: AsyncConnection, envelopes: list[Envelope]) -> None:
        """In order; a run of openings (a household import opens thousands) goes out as one
        statement, cut wherever a step closes or the same deadline opens again."""
        opening: dict[tuple[str, str], dict[str, Any]] = {}
        for envelope in envelopes:
            rule = self.rules.get(envelope.type)
            for change in rule(envelope) if rule else ():
                if isinstance(change, Opened) and (envelope.stream_id, change.step) not in opening:
                    opening[(envelope.stream_id, change.step)] = _opening(envelope, change)
                    continue
                await _open_all(conn, list(opening.values()))
                opening = {}
                if isinstance(change, Opened):
                    opening[(envelope.stream_id, change.step)] = _opening(envelope, change)
                else:
                    await _close(conn, envelope, change)
        await _open_all(conn, list(opening.values()))


async def _close(conn: AsyncConnection, envelope: Envelope, change: Met | Missed) -> None:
    column = "met_at" if isinstance(change, Met) else "overdue_at"
    await conn.execute(
        update(deadlines)
        .where(
            deadlines.c.stream_id == envelope.stream_id,
            deadlines.c.step == change.step,
            deadlines.c.opened_version <= envelope.version,
            deadlines.c[column].is_(None),
        )
        .values({column: _utc(envelope.occurred_at)})
    )


def _opening(envelope: Envelope, opened: Opened) -> dict[str, Any]:
    return {
        "stream_id": envelope.stream_id,
        "step": opened.step,
        "community_id": envelope.community_id,
        "due_at": _utc(opened.due_at),
        "opened_version": envelope.version,
        "met_at": None,
        "overdue_at": None,
    }


async def _open_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Inserts the rows, or reopens each for a later cycle; an event applied again changes
    nothing. No two rows may name the same deadline."""
    if rows:
        await conn.execute(_open_statement(conn.dialect.name), rows)


@functools.cache
def _open_statement(dialect: str) -> Any:
    # Built once and given rows as parameters, so SQLAlchemy compiles it once.
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    statement = insert(deadlines)
    return statement.on_conflict_do_update(
        index_elements=["stream_id", "step"],
        set_={name: statement.excluded[name] for name in ("due_at", "opened_version", "met_at", "overdue_at")},
        where=deadlines.c.opened_version < statement.excluded.opened_version,
    )


async def _advance(conn: AsyncConnection, entry_id: EntryId) -> None:
    """Moves the checkpoint forward, never back (another tracker may have gone further)."""
    moved = await conn.execute(
        update(deadline_checkpoint)
        .where(
            deadline_checkpoint.c.name == _CHECKPOINT,
            tuple_(deadline_checkpoint.c.entry_major, deadline_checkpoint.c.entry_minor)
            < tuple_(entry_id.major, entry_id.minor),
        )
        .values(entry_major=entry_id.major, entry_minor=entry_id.minor)
    )
    if moved.rowcount == 0:
        exists = await conn.scalar(select(deadline_checkpoint.c.name).where(deadline_checkpoint.c.name == _CHECKPOINT))
        if exists is None:
            await conn.execute(
                deadline_checkpoint.insert().values(
                    name=_CHECKPOINT, entry_major=entry_id.major, entry_minor=entry_id.minor
                )
            )


# -- the scheduler ------------------------------------------------------------------------


class DeadlineScheduler:
    """Emits the `…Overdue` events of steps whose deadline passed unmet."""

    def __init__(
        self,
        tracker: DeadlineTracker,
        clock: Clock,
        on_overdue: Mapping[str, OverdueHandler],
        poll_s: float = 1.0,
    ):
        self.tracker = tracker
        self.clock = clock
        self.on_overdue = on_overdue
        self.poll_s = poll_s

    async def run_once(self) -> int:
        """One round: catch up, then hand every due step to its handler; returns how many."""
        await self.tracker.catch_up()
        now = self.clock.now()
        handled = 0
        for deadline in await self.tracker.due(now):
            try:
                await self.on_overdue[deadline.step](deadline, now)
            except ConcurrencyConflict:
                pass  # the aggregate moved meanwhile (met, or another scheduler won): next round sees which
            except Exception:  # noqa: BLE001 - one broken aggregate must not hold up the others
                log.exception("overdue of %s %s failed; retrying next round", deadline.stream_id, deadline.step)
            handled += 1
        if handled:
            await self.tracker.catch_up()
        return handled

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds every `poll_s` until `stop`; an outage is logged and retried, never fatal."""
        await self.tracker.setup()
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # noqa: BLE001 - the database may be briefly away; try next round
                log.warning("deadline round failed; retrying", exc_info=True)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.poll_s)
            except TimeoutError:
                pass


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every one we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


CHINA = ZoneInfo("Asia/Shanghai")


def china_date(clock: Clock) -> date:
    """The calendar day in China now: the day a label lapses or a deadline falls on."""
    return clock.now().astimezone(CHINA).date()
