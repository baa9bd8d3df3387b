"""`…/households/{id}/visits` and `…/residents/{id}/contacts`: a visit or a contact goes to
intake; the answer comes back once the read models hold it, so the scorecard shows it."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.forward import ServiceClient, passthrough
from services.gateway.scope import check_record
from services.gateway.settings import GatewaySettings
from services.gateway.views.households import wait_for_household
from services.gateway.views.residents import wait_for_resident
from shared.contracts.intake_care import RecordContact, RecordHouseholdVisit

PATH = "/api/v1/communities/{community_id:str}"


class CareController(Controller):
    path = PATH
    tags = ["care"]
    dependencies = {"identity": Provide(current_identity)}

    @post("/households/{household_id:str}/visits", summary="Record a household visit (入户走访)", status_code=201,
          description="Who visited, on which day (today when left out; never in the future) and a note. The next "
                      "visit falls due a revisit period (a year by default) after the latest visit; a visit after "
                      "the deadline resolves the overdue (`late`: true).")
    async def visit(
        self, request: Request, community_id: FromPath[str], household_id: FromPath[str],
        data: JSONBody[RecordHouseholdVisit], identity: Caller, gateway_engine: GatewayEngine,
        services: NamedDependency[ServiceClient], settings: NamedDependency[GatewaySettings],
    ) -> Response[Any]:
        await check_record(gateway_engine, identity, community_id, writes=True)
        path = f"/communities/{community_id}/households/{household_id}/visits"
        answer = await _forwarded(request, services, identity, path)
        if answer.status_code < 300:
            version = answer.json()["version"]
            await wait_for_household(gateway_engine, community_id, household_id, version, settings.read_your_writes_s)
        return passthrough(answer)

    @post("/residents/{resident_id:str}/contacts", summary="Record a contact with a resident (a visit or a call)",
          status_code=201,
          description="How (`visit` or `phone`), by whom, on which day (today when left out) and a note. For a "
                      "resident on the elderly-alone ledger the next contact falls due 30 days (by default) after "
                      "the latest one; a contact after the deadline resolves the overdue (`late`: true).")
    async def contact(
        self, request: Request, community_id: FromPath[str], resident_id: FromPath[str], data: JSONBody[RecordContact],
        identity: Caller, gateway_engine: GatewayEngine, services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings],
    ) -> Response[Any]:
        await check_record(gateway_engine, identity, community_id, writes=True)
        path = f"/communities/{community_id}/residents/{resident_id}/contacts"
        answer = await _forwarded(request, services, identity, path)
        if answer.status_code < 300:
            version = answer.json()["version"]
            await wait_for_resident(gateway_engine, community_id, resident_id, version, settings.read_your_writes_s)
        return passthrough(answer)


async def _forwarded(request: Request, services: ServiceClient, identity: Caller, path: str) -> Any:
    return await services.send("intake", "POST", path, identity, body=await request.body(), headers=dict(request.headers))
