"""`/residents/{id}/profile`: one resident across the pillars.

The resident with their labels (reentry only for staff with that duty) and personal data as
the caller's role may see it (whole views logged); intake's part: their household with its
visits, the contacts with them and the deadline of the next, the reports they made, and the
records merged into theirs; mediation's part: the dispute cases they are a party to
(`profile_mediation`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.personal_data import PersonalData
from services.gateway.profile_mediation import mediation_part
from services.gateway.residents_api import _shown
from services.gateway.scope import check_record
from services.gateway.settings import GatewaySettings
from services.gateway.views import care
from services.gateway.views.households import get_household
from services.gateway.views.reports import get_report
from services.gateway.worklist_mediation import deadline_policy
from shared.contracts.intake_care import CONTACT_STEP, REVISIT_STEP
from shared.deadlines import clock_from_settings
from shared.problems import ProblemError


PROFILE_DESCRIPTION = """
- `resident`: the record, personal data as the caller's role may see it (whole views logged).
- `intake`: the household with its visits and next visit, the labels, the contacts and the
  next one's deadline, the reports the resident made, and the records merged into theirs.
- `mediation`: `cases`, the dispute cases in which the resident, or a record merged into
  theirs, is a party, newest first (only those of communities the caller sees): `id`,
  `registered_on`, `category` and `category_label`, `dispute_cause`, `status` and
  `status_label`, `outcome` and `outcome_label`, the resident's `side` (a or b),
  `other_parties` by name, `escalation_risk` (flagged as a repeat dispute), `overdue_steps`
  (the steps of the case now past their deadline) and `clauses_owed`, the agreement's clauses
  the resident owes with `due_on` and `fulfilled`.
"""


class ProfileController(Controller):
    path = "/api/v1"
    tags = ["residents"]
    dependencies = {"identity": Provide(current_identity)}

    @get("/communities/{community_id:str}/residents/{resident_id:str}/profile",
         summary="One resident across the pillars: household, labels, contacts, reports, merges, dispute cases",
         description=PROFILE_DESCRIPTION)
    async def in_community(
        self, community_id: FromPath[str], resident_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine,
        personal_data: NamedDependency[PersonalData], settings: NamedDependency[GatewaySettings],
    ) -> dict[str, Any]:
        await check_record(gateway_engine, identity, community_id)
        return await _profile(gateway_engine, personal_data, settings, identity, community_id, resident_id)

    @get("/residents/{resident_id:str}/profile", summary="One resident across the pillars, wherever they live",
         description="As `/communities/{community_id}/residents/{resident_id}/profile`, found by the resident's id; "
                     "404 for a resident outside the caller's scope.")
    async def anywhere(
        self, resident_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine,
        personal_data: NamedDependency[PersonalData], settings: NamedDependency[GatewaySettings],
    ) -> dict[str, Any]:
        community_id = await care.community_of_resident(gateway_engine, resident_id)
        if community_id is None or not identity.can_see(community_id):
            raise ProblemError("not_found", detail_zh="找不到该居民", detail_en="no such resident")
        return await _profile(gateway_engine, personal_data, settings, identity, community_id, resident_id)


async def _profile(
    engine: GatewayEngine, personal_data: PersonalData, settings: GatewaySettings, identity: Caller, community_id: str,
    resident_id: str,
) -> dict[str, Any]:
    resident = (await _shown(engine, personal_data, identity, community_id, resident_id, whole=True)).content
    contact_deadline = await care.deadline_of(engine, resident_id, CONTACT_STEP)
    report_ids = await care.reports_by(engine, [resident_id, *resident["absorbed"]])
    made = [document for report_id in report_ids if (document := await get_report(engine, community_id, report_id))]
    return {
        "resident": resident,
        "intake": {
            "household": await _household(engine, community_id, resident.get("household_id")),
            "labels": resident["labels"],
            "contacts": await care.log_of(engine, resident_id, "contact"),
            "next_contact": _deadline(contact_deadline),
            "reports": [_report(document) for document in sorted(made, key=lambda d: d["created_at"], reverse=True)],
            "merges": {"merged_into": resident.get("merged_into"), "absorbed": resident["absorbed"]},
        },
        "mediation": await mediation_part(
            engine, identity, [resident_id, *resident["absorbed"]], deadline_policy(settings),
            clock_from_settings(settings).now(),
        ),
    }


async def _household(engine: GatewayEngine, community_id: str, household_id: str | None) -> dict[str, Any] | None:
    document = await get_household(engine, community_id, household_id) if household_id else None
    if document is None:
        return None
    return {
        "id": household_id,
        "head_name": document["head"]["name"],
        "address": document["address"],
        "household_size": document["household_size"],
        "next_visit": _deadline(await care.deadline_of(engine, household_id, REVISIT_STEP)),
        "visits": await care.log_of(engine, household_id, "visit"),
    }


def _deadline(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    due_at: datetime = row["due_at"]
    return {"due_at": due_at.isoformat(), "overdue": row["overdue"], "last_done_on": row["last_done_on"]}


def _report(document: dict[str, Any]) -> dict[str, Any]:
    fields = ("id", "created_at", "channel", "channel_label", "status", "category", "text", "overdue")
    return {name: document.get(name) for name in fields}
