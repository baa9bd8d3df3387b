"""`/api/v1/communities/{community_id}/households`: writes go to intake, reads come from the read model."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody, Parameter

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.forward import ServiceClient, passthrough
from services.gateway.http11 import Answer
from services.gateway.personal_data import PersonalData
from services.gateway.scope import (
    check_collection,
    check_record,
    writable_collection,
    writable_record,
)
from services.gateway.settings import GatewaySettings
from services.gateway.views import households as view
from services.gateway.views import residents as residents_view
from shared.contracts.intake_requests import ChangeHousehold, RegisterHousehold
from shared.problems import ProblemError

PATH = "/api/v1/communities/{community_id:str}/households"


async def shown(
    personal_data: PersonalData,
    identity: Caller,
    community_id: str,
    documents: list[dict[str, Any]],
    resource: str,
    *,
    whole: bool = False,
) -> list[dict[str, Any]]:
    """Households with their people's personal data masked, or whole (and logged) where
    asked and allowed; one call to intake for the whole page."""
    people = [person for document in documents for person in [document["head"], *(document["members"] or [])]]
    opened = iter(await personal_data.show(identity, community_id, people, resource, whole=whole))
    result = []
    for document in documents:
        head = next(opened)
        members = [next(opened) for _ in document["members"] or []]
        result.append({**document, "head": head, "members": members})
    return result


class HouseholdsController(Controller):
    path = PATH
    tags = ["households"]
    dependencies = {"identity": Provide(current_identity)}

    @post(
        "/",
        summary="Register a household (社情民意统计表)",
        status_code=201,
        dependencies={"in_scope": Provide(writable_collection)},
    )
    async def register(
        self,
        request: Request,
        community_id: FromPath[str],
        data: JSONBody[RegisterHousehold],
        identity: Caller,
        gateway_engine: GatewayEngine,
        services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings],
        in_scope: NamedDependency[None],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
    ) -> Response[Any]:
        answer = await services.send(
            "intake", "POST", f"/communities/{community_id}/households", identity,
            body=await request.body(), headers=dict(request.headers),
        )
        return await _as_read_model(answer, gateway_engine, settings, community_id)

    @get("/", summary="Households, newest first; search by a name (characters, pinyin or initials: wxy), compound, building")
    async def list_(
        self,
        community_id: FromPath[str],
        identity: Caller,
        gateway_engine: GatewayEngine,
        personal_data: NamedDependency[PersonalData],
        q: str | None = Parameter(default=None, max_length=50, description="a name, or part of one"),
        compound: str | None = Parameter(default=None, max_length=50),
        building: str | None = Parameter(default=None, max_length=20),
        cursor: str | None = Parameter(default=None, max_length=500),
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> dict[str, Any]:
        await check_collection(gateway_engine, identity, community_id)
        items, next_cursor = await view.list_households(
            gateway_engine, community_id, limit=limit, cursor=cursor, name=q, compound=compound, building=building
        )
        resource = f"/api/v1/communities/{community_id}/households"
        return {"items": await shown(personal_data, identity, community_id, items, resource), "next_cursor": next_cursor}

    @get("/{household_id:str}", summary="One household")
    async def get_one(
        self,
        community_id: FromPath[str],
        household_id: FromPath[str],
        identity: Caller,
        gateway_engine: GatewayEngine,
        personal_data: NamedDependency[PersonalData],
    ) -> Response[dict[str, Any]]:
        """Phones and ID numbers whole for community workers and heads (each view logged), masked for others."""
        await check_record(gateway_engine, identity, community_id)
        document = await view.get_household(gateway_engine, community_id, household_id)
        if document is None:
            raise ProblemError("not_found", detail_zh="找不到该户", detail_en="no such household")
        resource = f"/api/v1/communities/{community_id}/households/{household_id}"
        [document] = await shown(personal_data, identity, community_id, [document], resource, whole=True)
        return Response(document, headers={"ETag": f'"{document["version"]}"'})

    @patch(
        "/{household_id:str}",
        summary="Change a household (send its version in If-Match)",
        dependencies={"in_scope": Provide(writable_record)},
    )
    async def change(
        self,
        request: Request,
        community_id: FromPath[str],
        household_id: FromPath[str],
        data: JSONBody[ChangeHousehold],
        identity: Caller,
        gateway_engine: GatewayEngine,
        services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings],
        in_scope: NamedDependency[None],
        if_match: Annotated[str | None, HeaderParameter(name="If-Match")] = None,
    ) -> Response[Any]:
        if not if_match:
            raise ProblemError("precondition_required")
        answer = await services.send(
            "intake", "PATCH", f"/communities/{community_id}/households/{household_id}", identity,
            body=await request.body(), headers=dict(request.headers),
        )
        return await _as_read_model(answer, gateway_engine, settings, community_id)


async def _as_read_model(
    answer: Answer, engine: GatewayEngine, settings: GatewaySettings, community_id: str
) -> Response[Any]:
    """Intake's answer (personal data masked), once the read model shows the write, so a
    following GET sees it too."""
    if answer.status_code >= 300:
        return passthrough(answer)
    document = answer.json()
    if settings.read_your_writes_s > 0:
        await view.wait_for_household(engine, community_id, document["id"], document["version"], settings.read_your_writes_s)
        # Its people's records were written in the same transaction: show them too.
        for person in [document["head"], *(document["members"] or [])]:
            if person.get("resident_id"):
                await residents_view.wait_for_resident(
                    engine, community_id, person["resident_id"], 1, settings.read_your_writes_s
                )
    return Response(
        document,
        status_code=answer.status_code,
        headers={"ETag": f'"{document["version"]}"', "Location": f"/api/v1/communities/{community_id}/households/{document['id']}"},
    )
