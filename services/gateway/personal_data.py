"""Personal data in what the gateway shows: masked by default, whole only to the roles
whose work needs it, and every whole view written to an audit trail (PIPL art. 51).

Read models hold personal data only sealed (intake keeps the keys); the gateway asks
intake to open what a page shows, then masks it or, for a permitted role, logs and
shows it whole. An erased resident's values open as None: nothing left to show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Identity, Index, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.forward import ServiceClient
from shared.contracts.intake_residents import SEALED_FIELDS
from shared.db import write_transaction
from shared.events import utc_now
from shared.identity import COMMUNITY_HEAD, COMMUNITY_WORKER, Identity as Caller, service_identity
from shared.masking import mask_id_number, mask_phone
from shared.problems import ProblemError

PERSON_FIELDS = {field: field for field in SEALED_FIELDS}
"""A person's own sealed fields: phone and citizen ID number."""

WHOLE_VIEW_ROLES = (COMMUNITY_HEAD, COMMUNITY_WORKER)
"""Roles that contact residents and so see phones and ID numbers whole (logged)."""

def _hidden(_value: str) -> str:
    return "****"


_MASKS = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "elderly_alone.relative_phone": mask_phone,
}
"""How a field shows when masked; any other sealed field (hardship cause, custody history)
shows as `****`."""

audit_metadata = MetaData()

audit_log = Table(
    "audit_log",
    audit_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("community_id", String(100), nullable=False),
    Column("subject_id", String(100), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("resource", String(300), nullable=False),
    Index("audit_log_community", "community_id", "id"),
)
"""One row per person whose personal data a user saw whole: who, when, what, where."""


class PersonalData:
    def __init__(self, services: ServiceClient, engine: AsyncEngine):
        self._services = services
        self._engine = engine

    async def show(
        self,
        caller: Caller,
        community_id: str,
        people: list[dict[str, Any]],
        resource: str,
        *,
        whole: bool = False,
        subject: str = "resident_id",
        fields: Mapping[str, str] = PERSON_FIELDS,
        service: str = "intake",
    ) -> list[dict[str, Any]]:
        """`people` with their sealed fields opened: whole (and logged) when asked for and
        the caller's role permits it, otherwise masked. `subject` names the key that holds
        each person's resident id; `fields` maps each key holding a sealed value to the
        field it was sealed as; `service` is the pillar that sealed them (and keeps the keys)."""
        places = [
            (index, key)
            for index, person in enumerate(people)
            for key in fields
            if person.get(key) and person.get(subject)
        ]
        items = [(people[i][subject], fields[key], people[i][key]) for i, key in places]
        values = await self.reveal(caller, community_id, items, resource, whole=whole, service=service)
        shown = [dict(person) for person in people]
        for (index, key), value in zip(places, values, strict=True):
            shown[index][key] = value
        return shown

    async def reveal(
        self,
        caller: Caller,
        community_id: str,
        items: list[tuple[str, str, str]],
        resource: str,
        *,
        whole: bool = False,
        service: str = "intake",
    ) -> list[str | None]:
        """Each (resident id, field, sealed value) opened: whole, with one audit row per
        resident, when asked and allowed; else masked. None where the resident is erased."""
        whole = whole and caller.has_role(*WHOLE_VIEW_ROLES)
        values = await self._open([(sealed, field) for _resident, field, sealed in items], service)
        if not whole:
            return [None if v is None else _MASKS.get(field, _hidden)(v) for (_r, field, _s), v in zip(items, values, strict=True)]
        fields_by_resident: dict[str, list[str]] = {}
        for (resident_id, field, _sealed), value in zip(items, values, strict=True):
            if value is not None:
                fields_by_resident.setdefault(resident_id, []).append(field)
        await self._log(caller, community_id, fields_by_resident, resource)
        return values

    async def _open(self, items: list[tuple[str, str]], service: str = "intake") -> list[str | None]:
        if not items:
            return []
        body = json.dumps({"items": [{"sealed": sealed, "field": field} for sealed, field in items]}).encode()
        answer = await self._services.send(
            service, "POST", "/sealed/open", service_identity("gateway"), body=body,
            headers={"content-type": "application/json"},
        )
        if answer.status_code != 200:
            raise ProblemError(
                "service_unavailable", detail_zh="暂时无法读取个人信息", detail_en="personal data cannot be read now"
            )
        return answer.json()["values"]

    async def _log(self, caller: Caller, community_id: str, fields_by_resident: dict[str, list[str]], resource: str) -> None:
        if not fields_by_resident:
            return
        at = utc_now()
        rows = [
            {
                "at": at,
                "actor": caller.username,
                "roles": list(caller.roles),
                "community_id": community_id,
                "subject_id": resident_id,
                "fields": fields,
                "resource": resource,
            }
            for resident_id, fields in fields_by_resident.items()
        ]
        async with write_transaction(self._engine) as conn:
            await conn.execute(insert(audit_log), rows)


async def audit_trail(
    engine: AsyncEngine, community_ids: list[str] | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; `community_ids` None means every community (the district)."""
    statement = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if community_ids is not None:
        statement = statement.where(audit_log.c.community_id.in_(community_ids))
    if before is not None:
        statement = statement.where(audit_log.c.id < before)
    async with engine.connect() as conn:
        rows = (await conn.execute(statement)).mappings().all()
    return [{**row, "at": _iso(row["at"])} for row in rows]


def _iso(at: datetime) -> str:
    return at.isoformat()
