"""The event envelope and the registry of domain event types.

A domain event is a frozen pydantic model named in the past tense. Its stored
form is an `Envelope`: who, when, which stream and version, and the event's data.
Stored events are a published format: change an event only by adding fields,
and register an upcaster for an old `schema_version`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class DomainEvent(BaseModel):
    """Base of every event; subclasses set `event_type` as `<service>.<PastTenseName>`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1


class Envelope(BaseModel):
    """An event as stored and published."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID
    type: str
    stream_id: str
    version: int
    position: int
    community_id: str
    occurred_at: datetime
    actor: str
    correlation_id: str
    causation_id: str | None = None
    schema_version: int = 1
    data: dict[str, Any]

    def payload(self) -> DomainEvent:
        return decode_event(self.type, self.schema_version, self.data)


@dataclass(frozen=True)
class CommandContext:
    """Who asked, for which community, as part of what: stamped on every event it causes."""

    community_id: str
    actor: str
    correlation_id: str
    causation_id: str | None = None

    @classmethod
    def new(cls, community_id: str, actor: str, causation_id: str | None = None) -> CommandContext:
        return cls(community_id, actor, str(uuid.uuid4()), causation_id)


_EVENT_TYPES: dict[str, type[DomainEvent]] = {}
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


def event(cls: type[DomainEvent]) -> type[DomainEvent]:
    """Class decorator: registers a domain event under its `event_type`."""
    existing = _EVENT_TYPES.get(cls.event_type)
    if existing is not None and existing is not cls:
        raise ValueError(f"event type {cls.event_type} registered twice")
    _EVENT_TYPES[cls.event_type] = cls
    return cls


def upcaster(event_type: str, from_version: int):
    """Registers a function that turns data of `from_version` into `from_version + 1`."""

    def register(fn: Callable[[dict[str, Any]], dict[str, Any]]):
        _UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


def decode_event(event_type: str, schema_version: int, data: dict[str, Any]) -> DomainEvent:
    cls = _EVENT_TYPES.get(event_type)
    if cls is None:
        raise KeyError(f"unknown event type {event_type}")
    while schema_version < cls.schema_version:
        data = _UPCASTERS[(event_type, schema_version)](data)
        schema_version += 1
    return cls.model_validate(data)


def utc_now() -> datetime:
    return datetime.now(UTC)
