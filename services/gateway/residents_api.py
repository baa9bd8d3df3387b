"""`/api/v1/communities/{community_id}/residents`: the registry, its labels (the book's
ledgers 2–6), merging duplicates and erasure. Writes go to intake; reads come from the
read model; personal data is masked unless a permitted role looks at one resident.

Reentry support (“两劳”) is seen only by staff with that duty: others neither see the
label nor can filter by it.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.forward import ServiceClient, passthrough
from services.gateway.personal_data import PersonalData
from services.gateway.scope import (
    check_collection,
    check_record,
    writable_record,
)
from services.gateway.settings import GatewaySettings
from services.gateway.views import households as households_view
from services.gateway.views import residents as view
from shared.contracts.intake_requests import (
    ClearLabel,
    EraseResident,
    LabelResident,
    MergeResidents,
    MoveResident,
    RenewLabel,
)
from shared.contracts.intake_residents import LABELS, SEALED_LABEL_DETAILS
from shared.deadlines import china_date, clock_from_settings
from shared.identity import COMMUNITY_HEAD, REENTRY_DUTY
from shared.problems import ProblemError

PATH = "/api/v1/communities/{community_id:str}/residents"
Label = Annotated[str | None, Parameter(default=None, pattern="^(" + "|".join(LABELS) + ")$")]


def may_see_label(identity: Caller, label: str) -> bool:
    return label != "reentry" or identity.has_duty(REENTRY_DUTY)


class ResidentsController(Controller):
    path = PATH
    tags = ["residents"]
    dependencies = {"identity": Provide(current_identity)}

    @get("/", summary="Residents, newest first; search by name (characters, pinyin, initials), address, label")
    async def list_(
        self,
        community_id: FromPath[str],
        identity: Caller,
        gateway_engine: GatewayEngine,
        personal_data: NamedDependency[PersonalData],
        settings: NamedDependency[GatewaySettings],
        q: str | None = Parameter(default=None, max_length=50, description="王秀英, wangxiuying or wxy"),
        compound: str | None = Parameter(default=None, max_length=50),
        building: str | None = Parameter(default=None, max_length=20),
        label: Label = None,
        include_merged: bool = False,
        cursor: str | None = Parameter(default=None, max_length=500),
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> dict[str, Any]:
        await check_collection(gateway_engine, identity, community_id)
        if label and not may_see_label(identity, label):
            raise _reentry_forbidden()
        items, next_cursor = await view.list_residents(
            gateway_engine, community_id, limit=limit, cursor=cursor, query=q, compound=compound,
            building=building, label=label, include_merged=include_merged,
            today=china_date(clock_from_settings(settings)),
        )
        resource = f"/api/v1/communities/{community_id}/residents"
        shown = await personal_data.show(identity, community_id, items, resource, subject="id")
        return {"items": shown, "next_cursor": next_cursor}

    @get("/{resident_id:str}", summary="One resident with their labels")
    async def get_one(
        self,
        community_id: FromPath[str],
        resident_id: FromPath[str],
        identity: Caller,
        gateway_engine: GatewayEngine,
        personal_data: NamedDependency[PersonalData],
    ) -> Response[dict[str, Any]]:
        """Phones, ID numbers and sensitive label details whole for community workers and
        heads (each view logged), masked for others."""
        await check_record(gateway_engine, identity, community_id)
        return await _shown(gateway_engine, personal_data, identity, community_id, resident_id, whole=True)

    @post("/{resident_id:str}/labels", summary="Label a resident (hardship, unemployed, elderly_alone, veteran_hardship, reentry)",
          status_code=201, dependencies={"in_scope": Provide(writable_record)})
    async def label(
        self, request: Request, community_id: FromPath[str], resident_id: FromPath[str], data: JSONBody[LabelResident],
        identity: Caller, gateway_engine: GatewayEngine, services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings], personal_data: NamedDependency[PersonalData],
        in_scope: NamedDependency[None],
    ) -> Response[Any]:
        return await _forward(request, "labels", community_id, resident_id, identity, gateway_engine, services,
                              settings, personal_data)

    @post("/{resident_id:str}/labels/{label:str}/clear", summary="Clear a label, with a reason and a date",
          status_code=200, dependencies={"in_scope": Provide(writable_record)})
    async def clear(
        self, request: Request, community_id: FromPath[str], resident_id: FromPath[str], label: FromPath[str],
        data: JSONBody[ClearLabel], identity: Caller, gateway_engine: GatewayEngine,
        services: NamedDependency[ServiceClient], settings: NamedDependency[GatewaySettings],
        personal_data: NamedDependency[PersonalData], in_scope: NamedDependency[None],
    ) -> Response[Any]:
        return await _forward(request, f"labels/{label}/clear", community_id, resident_id, identity, gateway_engine,
                              services, settings, personal_data)

    @post("/{resident_id:str}/labels/{label:str}/renew", summary="Extend a label's support period",
          status_code=200, dependencies={"in_scope": Provide(writable_record)})
    async def renew(
        self, request: Request, community_id: FromPath[str], resident_id: FromPath[str], label: FromPath[str],
        data: JSONBody[RenewLabel], identity: Caller, gateway_engine: GatewayEngine,
        services: NamedDependency[ServiceClient], settings: NamedDependency[GatewaySettings],
        personal_data: NamedDependency[PersonalData], in_scope: NamedDependency[None],
    ) -> Response[Any]:
        return await _forward(request, f"labels/{label}/renew", community_id, resident_id, identity, gateway_engine,
                              services, settings, personal_data)

    @post("/{resident_id:str}/merge", summary="Merge a duplicate record into this resident (both histories kept)",
          status_code=200, dependencies={"in_scope": Provide(writable_record)})
    async def merge(
        self, request: Request, community_id: FromPath[str], resident_id: FromPath[str], data: JSONBody[MergeResidents],
        identity: Caller, gateway_engine: GatewayEngine, services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings], personal_data: NamedDependency[PersonalData],
        in_scope: NamedDependency[None],
    ) -> Response[Any]:
        return await _forward(request, "merge", community_id, resident_id, identity, gateway_engine, services,
                              settings, personal_data)

    @post("/{resident_id:str}/move", summary="Move a resident to another household of the community, or out of theirs",
          status_code=200, dependencies={"in_scope": Provide(writable_record)})
    async def move(
        self, request: Request, community_id: FromPath[str], resident_id: FromPath[str], data: JSONBody[MoveResident],
        identity: Caller, gateway_engine: GatewayEngine, services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings], personal_data: NamedDependency[PersonalData],
        in_scope: NamedDependency[None],
    ) -> Response[Any]:
        return await _forward(request, "move", community_id, resident_id, identity, gateway_engine, services,
                              settings, personal_data)

    @post("/{resident_id:str}/erase", summary="Erase a resident's personal data for good (community head only)",
          status_code=200, dependencies={"in_scope": Provide(writable_record)})
    async def erase(
        self, request: Request, community_id: FromPath[str], resident_id: FromPath[str], data: JSONBody[EraseResident],
        identity: Caller, gateway_engine: GatewayEngine, services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings], personal_data: NamedDependency[PersonalData],
        in_scope: NamedDependency[None],
    ) -> Response[Any]:
        if not identity.has_role(COMMUNITY_HEAD):
            raise ProblemError(
                "forbidden", detail_zh="只有社区负责人可以删除居民个人信息", detail_en="only the community head may erase a resident"
            )
        return await _forward(request, "erase", community_id, resident_id, identity, gateway_engine, services,
                              settings, personal_data)


async def _forward(
    request: Request, action: str, community_id: str, resident_id: str, identity: Caller, engine: GatewayEngine,
    services: ServiceClient, settings: GatewaySettings, personal_data: PersonalData,
) -> Response[Any]:
    """The resident as the read model shows them once it has the write (masked)."""
    answer = await services.send(
        "intake", "POST", f"/communities/{community_id}/residents/{resident_id}/{action}", identity,
        body=await request.body(), headers=dict(request.headers),
    )
    if answer.status_code >= 300:
        return passthrough(answer)
    written = answer.json()
    await view.wait_for_resident(engine, community_id, resident_id, written["version"], settings.read_your_writes_s)
    if duplicate := written.get("duplicate"):  # a merge wrote both records
        await view.wait_for_resident(engine, community_id, duplicate["id"], duplicate["version"], settings.read_your_writes_s)
    for household in written.get("households", ()):  # a move changed their member lists
        await households_view.wait_for_household(
            engine, community_id, household["id"], household["version"], settings.read_your_writes_s
        )
    shown = await _shown(engine, personal_data, identity, community_id, resident_id, whole=False)
    shown.status_code = answer.status_code
    return shown


async def _shown(
    engine: GatewayEngine, personal_data: PersonalData, identity: Caller, community_id: str, resident_id: str,
    *, whole: bool,
) -> Response[dict[str, Any]]:
    document = await view.get_resident(engine, community_id, resident_id)
    if document is None:
        raise ProblemError("not_found", detail_zh="找不到该居民", detail_en="no such resident")
    resource = f"/api/v1/communities/{community_id}/residents/{resident_id}"
    labels = [label for label in document["labels"] if may_see_label(identity, label["label"])]
    sealed = [
        (index, name)
        for index, label in enumerate(labels)
        for name in SEALED_LABEL_DETAILS.get(label["label"], ())
        if label["details"].get(name)
    ]
    items = [
        *((resident_id, field, document[field]) for field in ("phone", "id_number") if document.get(field)),
        *((resident_id, f"{labels[i]['label']}.{name}", labels[i]["details"][name]) for i, name in sealed),
    ]
    values = iter(await personal_data.reveal(identity, community_id, items, resource, whole=whole))
    document = {**document, "labels": [{**label, "details": dict(label["details"])} for label in labels]}
    for field in ("phone", "id_number"):
        if document.get(field):
            document[field] = next(values)
    for index, name in sealed:
        document["labels"][index]["details"][name] = next(values)
    return Response(document, headers={"ETag": f'"{document["version"]}"'})


def _reentry_forbidden() -> ProblemError:
    return ProblemError(
        "forbidden",
        detail_zh="安置帮教信息仅限负有帮教职责的人员查看",
        detail_en="reentry support records are only for staff with that duty",
    )
