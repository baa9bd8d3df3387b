"""`/api/v1/communities/{community_id}/mediators` (辖区调解员) and `/mediation-units` (辖区单位
参与调解责任): the mediation rosters. Writes go to mediation — register (POST), change
(PUT, If-Match), remove (POST `…/remove`, If-Match) — and answer from the read model; reads
come from the read model, each entry with its number of mediations (`mediations`, counted
from the cases' sessions).

Phones are sealed by mediation; lists and records show them masked, and a community worker
or head may ask for one record `?whole=true` (logged in the audit trail). Community workers,
the head and its mediators write; whoever sees the community reads. Scope is checked before
the body: out of scope is 403 for a collection and 404 for a record.
"""

# No `from __future__ import annotations`: `_controller` builds handlers whose body types
# are closure variables, which Litestar can resolve only from annotations already evaluated.
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.forward import ServiceClient, passthrough
from services.gateway.personal_data import PersonalData
from services.gateway.scope import check_collection, check_record, writable_collection_by, writable_record_by
from services.gateway.settings import GatewaySettings
from services.gateway.views import rosters as view
from shared.contracts.mediation import can_write_disputes
from shared.contracts.mediation_rosters import (
    ChangeMediationUnit,
    ChangeMediator,
    RegisterMediationUnit,
    RegisterMediator,
    RemoveFromRoster,
)
from shared.identity import Identity
from shared.problems import ProblemError

COMMUNITY = "/api/v1/communities/{community_id:str}"
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match")]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]
Services = NamedDependency[ServiceClient]
Settings = NamedDependency[GatewaySettings]
People = NamedDependency[PersonalData]
InScope = NamedDependency[None]

WRITE_COLLECTION = {"in_scope": Provide(writable_collection_by(can_write_disputes))}
WRITE_RECORD = {"in_scope": Provide(writable_record_by(can_write_disputes))}
PHONE = {"phone": "phone"}


async def shown(
    entries: list[dict[str, Any]], identity: Identity, community_id: str, personal_data: PersonalData, resource: str,
    *, whole: bool = False,
) -> list[dict[str, Any]]:
    """Entries with their phones opened by mediation: masked, or whole (and logged) when asked
    for by a role that may."""
    opened = await personal_data.show(
        identity, community_id, entries, resource, whole=whole, subject="id", fields=PHONE, service="mediation"
    )
    return [{k: v for k, v in entry.items() if k != "phone_masked"} for entry in opened]


def _router(kind: str, path: str, register_command: type, change_command: type, zh: str, en: str) -> Router:
    service_path = "/communities/{community_id}/" + path

    async def answer(
        request: Request, method: str, target: str, identity: Identity, engine: Any, services: ServiceClient,
        settings: GatewaySettings, personal_data: PersonalData, community_id: str,
    ) -> Response[Any]:
        """Forwards the write to mediation; answers once the read model shows it."""
        written = await services.send(
            "mediation", method, target, identity, body=await request.body(), headers=dict(request.headers)
        )
        if written.status_code >= 300:
            return passthrough(written)
        document = written.json()
        if settings.read_your_writes_s > 0:
            document = await view.wait_for_entry(
                engine, kind, community_id, document["id"], document["version"], settings.read_your_writes_s
            ) or {**document, "mediations": 0}
        [document] = await shown([document], identity, community_id, personal_data, "")
        location = f"{COMMUNITY.replace('{community_id:str}', community_id)}/{path}/{document['id']}"
        return Response(document, status_code=written.status_code,
                        headers={"ETag": f'"{document["version"]}"', "Location": location})

    @post("/", summary=f"Register a {en} ({zh})", status_code=201, dependencies=WRITE_COLLECTION,
          operation_id=f"{kind}_register")
    async def register(
        request: Request, community_id: FromPath[str], data: JSONBody[register_command],  # type: ignore[valid-type]
        identity: Caller, gateway_engine: GatewayEngine, services: Services, settings: Settings,
        personal_data: People, in_scope: InScope, idempotency_key: IdempotencyKey = None,
    ) -> Response[Any]:
        target = service_path.format(community_id=community_id)
        return await answer(request, "POST", target, identity, gateway_engine, services, settings, personal_data, community_id)

    @get("/", summary=f"The {en} roster, in order of registration, each with its number of mediations; phones masked",
         operation_id=f"{kind}_list")
    async def list_(
        community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine, personal_data: People,
        removed: bool = False,
    ) -> dict[str, Any]:
        await check_collection(gateway_engine, identity, community_id)
        entries = await view.roster(gateway_engine, kind, community_id, removed=removed)
        items = await shown(entries, identity, community_id, personal_data, "")
        return {"items": items, "total": len(items)}

    @get("/{entry_id:str}", summary=f"One {en} (phone masked; whole=true for workers and heads, logged)",
         operation_id=f"{kind}_get")
    async def get_one(
        community_id: FromPath[str], entry_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine,
        personal_data: People, whole: bool = False,
    ) -> Response[dict[str, Any]]:
        await check_record(gateway_engine, identity, community_id)
        document = await view.get(gateway_engine, kind, community_id, entry_id)
        if document is None:
            raise ProblemError("not_found", detail_zh=f"找不到该{zh}", detail_en=f"no such {en}")
        resource = f"{COMMUNITY.replace('{community_id:str}', community_id)}/{path}/{entry_id}"
        [document] = await shown([document], identity, community_id, personal_data, resource, whole=whole)
        return Response(document, headers={"ETag": f'"{document["version"]}"'})

    @put("/{entry_id:str}", summary=f"Change a {en}: every field (send the version in If-Match)",
         dependencies=WRITE_RECORD, operation_id=f"{kind}_change")
    async def change(
        request: Request, community_id: FromPath[str], entry_id: FromPath[str], data: JSONBody[change_command],  # type: ignore[valid-type]
        identity: Caller, gateway_engine: GatewayEngine, services: Services, settings: Settings,
        personal_data: People, in_scope: InScope, if_match: IfMatch = None,
    ) -> Response[Any]:
        if not if_match:
            raise ProblemError("precondition_required")
        target = f"{service_path.format(community_id=community_id)}/{entry_id}"
        return await answer(request, "PUT", target, identity, gateway_engine, services, settings, personal_data, community_id)

    @post("/{entry_id:str}/remove", summary=f"Remove a {en} from the roster (send the version in If-Match)",
          status_code=200, dependencies=WRITE_RECORD, operation_id=f"{kind}_remove")
    async def remove(
        request: Request, community_id: FromPath[str], entry_id: FromPath[str], data: JSONBody[RemoveFromRoster],
        identity: Caller, gateway_engine: GatewayEngine, services: Services, settings: Settings,
        personal_data: People, in_scope: InScope, if_match: IfMatch = None,
    ) -> Response[Any]:
        if not if_match:
            raise ProblemError("precondition_required")
        target = f"{service_path.format(community_id=community_id)}/{entry_id}/remove"
        return await answer(request, "POST", target, identity, gateway_engine, services, settings, personal_data, community_id)

    return Router(
        path=f"{COMMUNITY}/{path}",
        route_handlers=[register, list_, get_one, change, remove],
        dependencies={"identity": Provide(current_identity)},
        tags=["mediation"],
    )


roster_routers = [
    _router("mediator", "mediators", RegisterMediator, ChangeMediator, "调解员", "mediator"),
    _router("unit", "mediation-units", RegisterMediationUnit, ChangeMediationUnit, "参与调解单位", "unit sharing mediation duty"),
]
