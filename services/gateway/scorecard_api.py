"""`/communities/{id}/scorecard`, `/streets/{id}/scorecard`, `/district/scorecard` and
`/communities/{id}/worklist`: the "zero" figures with every breach by name, and what is due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, Parameter

from services.gateway import scorecard, worklist_mediation
from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.org import Community, recent_org_chart
from services.gateway.scope import check_collection, overseen_street
from services.gateway.settings import GatewaySettings
from shared.deadlines import clock_from_settings
from shared.problems import ProblemError

SCORECARD_DESCRIPTION = """
Intake's part of the five "zero" figures, computed from events:

- **zero_blind_spots**: `households`; `households_surveyed`, the households registered or
  visited (入户走访) within their revisit period (one year unless the community's policy says
  otherwise), i.e. every household whose revisit is not overdue; `surveyed_share` =
  households_surveyed ÷ households (null without households); `reports_past_deadline`, open
  sentiment reports past their triage or reply deadline.
- **zero_omission**: `elderly_contacts_overdue`, residents on the elderly-alone ledger not
  contacted within their contact period (30 days by default).

Every breach is listed by name (household head, report excerpt, resident name) with its id,
its deadline and `overdue_days`.
"""


WORKLIST_DESCRIPTION = """
Every deadline overdue or falling due within `within_days`, earliest due first, each with its
`kind`, the `id` of what it is about, `due_at`, `overdue` and `overdue_days`:

- intake's: `household_revisit` (the household's head, compound, building), `elderly_contact`
  (the resident), `report_triage` and `report_reply` (an excerpt of the report);
- mediation's, for each case not yet closed (`id` the case): `dispute_accept`,
  `dispute_first_session`, `dispute_resolution` (an agreement or a transfer),
  `dispute_first_follow_up`, `dispute_clause` (each clause of the agreement not yet
  fulfilled: `clause_no`, `obligation`, `due_on`, and the party who owes it, `party_id` and
  `party`) and `dispute_judicial_confirmation` (the end of the 30 days in which the parties
  may ask a court to confirm the agreement, art. 33: listed until it passes, never overdue);
  each with the case's `parties` by name, `category` and `category_label`, `cause_excerpt`,
  `compound`, `status`, `step_label` and `mediators`, the mediators designated, whom the item
  is for (none yet before acceptance: the community's workers).
"""


class ScorecardController(Controller):
    path = "/api/v1"
    tags = ["scorecard"]
    dependencies = {"identity": Provide(current_identity)}

    @get("/communities/{community_id:str}/scorecard", summary="A community's zero figures, breaches by name",
         description=SCORECARD_DESCRIPTION)
    async def community(
        self, community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine,
        settings: NamedDependency[GatewaySettings],
    ) -> dict[str, Any]:
        await check_collection(gateway_engine, identity, community_id)
        return await scorecard.community_scorecard(gateway_engine, community_id, clock_from_settings(settings).now())

    @get("/streets/{street_id:str}/scorecard", summary="A street's communities' zero figures and their sums",
         description="The figures of each community of the street (see the community scorecard) and their sums; "
                     "for the street's officers and the district.")
    async def street(
        self, street_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine,
        settings: NamedDependency[GatewaySettings],
    ) -> dict[str, Any]:
        communities = await overseen_street(gateway_engine, identity, street_id)
        return {"street_id": street_id, **await _rolled_up(gateway_engine, communities, settings)}

    @get("/district/scorecard", summary="The district's communities' zero figures and their sums",
         description="The figures of every community of the caller's district and their sums; district staff only.")
    async def district(
        self, identity: Caller, gateway_engine: GatewayEngine, settings: NamedDependency[GatewaySettings]
    ) -> dict[str, Any]:
        org = await recent_org_chart(gateway_engine)
        if not identity.all_communities or identity.district_id is None:
            raise ProblemError("forbidden")
        communities = org.communities_of_district(identity.district_id)
        return {"district_id": identity.district_id, **await _rolled_up(gateway_engine, communities, settings)}

    @get("/communities/{community_id:str}/worklist", summary="What is overdue or due soon, for whom: intake's and mediation's items",
         description=WORKLIST_DESCRIPTION)
    async def worklist(
        self, community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine,
        settings: NamedDependency[GatewaySettings],
        within_days: int = Parameter(default=7, ge=0, le=366, description="Also list what falls due within these days"),
    ) -> dict[str, Any]:
        await check_collection(gateway_engine, identity, community_id)
        now = clock_from_settings(settings).now()
        items = await scorecard.worklist(gateway_engine, community_id, now, timedelta(days=within_days),
                                         worklist_mediation.deadline_policy(settings))
        return {"as_of": now.isoformat(), "within_days": within_days, "items": items}


async def _rolled_up(engine: GatewayEngine, communities: tuple[Community, ...], settings: GatewaySettings) -> dict[str, Any]:
    now = clock_from_settings(settings).now()
    cards = [await scorecard.community_scorecard(engine, community.id, now) for community in communities]
    return scorecard.rolled_up(cards, {community.id: community.name for community in communities}, now)
