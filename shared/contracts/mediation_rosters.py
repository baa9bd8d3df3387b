"""Mediation's rosters (pillar 2): the community's mediators (辖区调解员) and the local
organisations that share mediation duty (辖区单位参与调解责任), as the book's two tables
keep them, with the requests, events, streams and documents of both.

A phone is sealed under the roster entry's own subject (`mediator-<id>`,
`mediation-unit-<id>`, `shared.sealing`, keys in mediation's database) and the events carry
its masked form too, as intake does for a named information officer.

How often each took part in mediation (参与调解次数) is not kept on the roster: it is
counted from the cases' `MediationSessionHeld` events. A session names roster mediators by
id (`mediator_ids`) and roster units by id (`unit_ids`) when known; a mediator named in a
session only by name counts for the one active roster mediator of the community with that
name (none when the name is ambiguous).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import Field

from shared.contracts.intake_requests import Command, Name, Note, Phone, Sex, WorkUnit
from shared.events import DomainEvent, Envelope, event

UnitName = Annotated[str, Field(min_length=1, max_length=100)]
MAX_ROSTER_IDS = 20


def roster_id(community_id: str, kind: str, key: str | None) -> str:
    """The id a retried request (same Idempotency-Key) names again; a fresh one without a key."""
    if key:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:{community_id}:{kind}:{key}"))
    return str(uuid.uuid4())


def mediator_stream(mediator_id: str) -> str:
    return f"mediator-{mediator_id}"


def unit_stream(unit_id: str) -> str:
    return f"mediation-unit-{unit_id}"


def mediator_subject(mediator_id: str) -> str:
    """The data subject a mediator's phone is sealed for."""
    return f"mediator-{mediator_id}"


def unit_subject(unit_id: str) -> str:
    """The data subject the phone of a unit's person responsible is sealed for."""
    return f"mediation-unit-{unit_id}"


# -- requests ---------------------------------------------------------------------------


class RegisterMediator(Command):
    name: Name
    sex: Sex
    work_unit: WorkUnit = None
    phone: Phone = None
    remarks: Note = None


class ChangeMediator(RegisterMediator):
    """The roster entry as it now stands: every field is replaced (send the version in If-Match)."""


class RegisterMediationUnit(Command):
    unit_name: UnitName
    """单位: the organisation sharing mediation duty."""
    person_responsible: Name
    """参与调解责任人."""
    phone: Phone = None
    remarks: Note = None


class ChangeMediationUnit(RegisterMediationUnit):
    """The roster entry as it now stands: every field is replaced (send the version in If-Match)."""


class RemoveFromRoster(Command):
    reason: Note = None


# -- events -----------------------------------------------------------------------------


class _MediatorFields(DomainEvent):
    """A mediator as recorded: `phone` is sealed; `phone_masked` is its masked form."""

    mediator_id: str
    name: str
    sex: str
    work_unit: str | None = None
    phone: str | None = None
    phone_masked: str | None = None
    remarks: str | None = None


@event
class MediatorRegistered(_MediatorFields):
    event_type = "mediation.MediatorRegistered"


@event
class MediatorChanged(_MediatorFields):
    event_type = "mediation.MediatorChanged"


@event
class MediatorRemoved(DomainEvent):
    event_type = "mediation.MediatorRemoved"

    mediator_id: str
    reason: str | None = None


class _UnitFields(DomainEvent):
    """A unit sharing mediation duty as recorded: `phone` is sealed; `phone_masked` masked."""

    unit_id: str
    unit_name: str
    person_responsible: str
    phone: str | None = None
    phone_masked: str | None = None
    remarks: str | None = None


@event
class MediationUnitRegistered(_UnitFields):
    event_type = "mediation.MediationUnitRegistered"


@event
class MediationUnitChanged(_UnitFields):
    event_type = "mediation.MediationUnitChanged"


@event
class MediationUnitRemoved(DomainEvent):
    event_type = "mediation.MediationUnitRemoved"

    unit_id: str
    reason: str | None = None


MEDIATOR_EVENTS = (MediatorRegistered, MediatorChanged, MediatorRemoved)
UNIT_EVENTS = (MediationUnitRegistered, MediationUnitChanged, MediationUnitRemoved)

_MEDIATOR_FIELDS = ("name", "sex", "work_unit", "phone", "phone_masked", "remarks")
_UNIT_FIELDS = ("unit_name", "person_responsible", "phone", "phone_masked", "remarks")


# -- the documents ----------------------------------------------------------------------


def roster_document(document: dict[str, Any] | None, envelope: Envelope) -> dict[str, Any]:
    """A mediator or unit as a client sees it after `envelope`; the phone stays sealed here."""
    data, kind, at = envelope.data, envelope.type, envelope.occurred_at.isoformat()
    if kind in (MediatorRegistered.event_type, MediationUnitRegistered.event_type):
        mediator = kind == MediatorRegistered.event_type
        fields = _MEDIATOR_FIELDS if mediator else _UNIT_FIELDS
        document = {
            "id": data["mediator_id"] if mediator else data["unit_id"], "community_id": envelope.community_id,
            **{name: data.get(name) for name in fields}, "removed": None, "created_at": at,
        }
    elif document is None:
        return {}
    elif kind in (MediatorChanged.event_type, MediationUnitChanged.event_type):
        fields = _MEDIATOR_FIELDS if kind == MediatorChanged.event_type else _UNIT_FIELDS
        document = {**document, **{name: data.get(name) for name in fields}}
    elif kind in (MediatorRemoved.event_type, MediationUnitRemoved.event_type):
        document = {**document, "removed": {"reason": data.get("reason"), "at": at}}
    else:
        return document
    document["version"] = envelope.version
    document["updated_at"] = at
    return document


def mediation_counts(
    sessions: Iterable[dict[str, Any]], mediators: Iterable[dict[str, Any]]
) -> tuple[dict[str, int], dict[str, int]]:
    """参与调解次数: per roster mediator and per roster unit, the sessions they took part in.

    `sessions` are session records of one community's cases (`mediators`, `mediator_ids`,
    `unit_ids`); `mediators` its roster mediators. A session's ids count for them; each of
    its names not covered by an id counts for the one active roster mediator of that name."""
    by_name: dict[str, list[str]] = {}
    names_of: dict[str, str] = {}
    for mediator in mediators:
        names_of[mediator["id"]] = mediator["name"]
        if not mediator.get("removed"):
            by_name.setdefault(mediator["name"], []).append(mediator["id"])
    mediator_counts: dict[str, int] = {}
    unit_counts: dict[str, int] = {}
    for session in sessions:
        ids = set(session.get("mediator_ids") or ())
        named = {names_of.get(mediator_id) for mediator_id in ids}
        for name in session.get("mediators") or ():
            if name not in named and len(by_name.get(name, ())) == 1:
                ids.add(by_name[name][0])
        for mediator_id in ids:
            mediator_counts[mediator_id] = mediator_counts.get(mediator_id, 0) + 1
        for unit_id in set(session.get("unit_ids") or ()):
            unit_counts[unit_id] = unit_counts.get(unit_id, 0) + 1
    return mediator_counts, unit_counts
