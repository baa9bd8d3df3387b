"""The information network under `/api/v1/communities/{community_id}`: `/info-officer-teams`
(with `/members` and `/leave`), `/info-officers` (every active officer), `/party-groups`
(members by building) and `/meetings` (民情恳谈会, each item linked to its report).

Writes go to intake and answer from the read model; officers' phones are masked unless a
community worker or head asks for one team `?whole=true` (logged). Scope is checked before
the body: 403 for a collection, 404 for a record.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody, Parameter
from sqlalchemy import Table

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.forward import ServiceClient, shown_when_read
from services.gateway.personal_data import PersonalData
from services.gateway.scope import (
    check_collection,
    check_record,
    writable_collection,
    writable_record,
)
from services.gateway.settings import GatewaySettings
from services.gateway.views import network as view
from services.gateway.views import reports as reports_view
from shared.contracts.intake_network import (
    FormInfoOfficerTeam,
    FormPartyGroup,
    HoldSentimentMeeting,
    JoinInfoOfficerTeam,
    LeaveInfoOfficerTeam,
    PlacePartyMember,
)
from shared.problems import ProblemError

COMMUNITY = "/api/v1/communities/{community_id:str}"
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match")]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]
Cursor = Annotated[str | None, Parameter(default=None, max_length=500)]
Limit = Annotated[int, Parameter(default=50, ge=1, le=200)]
Services = NamedDependency[ServiceClient]
Settings = NamedDependency[GatewaySettings]
InScope = NamedDependency[None]


WRITE_COLLECTION = {"in_scope": Provide(writable_collection)}
WRITE_RECORD = {"in_scope": Provide(writable_record)}


async def forward(
    request: Request, path: str, table: Table, identity: Any, engine: Any, services: ServiceClient,
    settings: GatewaySettings, community_id: str,
) -> tuple[dict[str, Any] | None, Response[Any]]:
    """Sends the write to intake; answers once the read model shows it (the document, or None on a problem)."""
    answer = await services.send("intake", "POST", path, identity, body=await request.body(), headers=dict(request.headers))
    return await shown_when_read(answer, engine, table, community_id, settings.read_your_writes_s)


def _etag(document: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{document["version"]}"'}



def _not_found(zh: str, en: str) -> ProblemError:
    return ProblemError("not_found", detail_zh=f"找不到该{zh}", detail_en=f"no such {en}")


async def shown_team(
    document: dict[str, Any], identity: Any, engine: Any, personal_data: PersonalData, resource: str, *, whole: bool
) -> dict[str, Any]:
    """Members with residents' names filled in and named officers' phones masked (or whole, logged)."""
    members = [{k: v for k, v in m.items() if k != "phone_masked"} for m in document["members"]]
    names = await view.resident_names(engine, [m["resident_id"] for m in members if m["resident_id"]])
    members = [{**m, "name": m["name"] or names.get(m["resident_id"])} for m in members]
    members = await personal_data.show(identity, document["community_id"], members, resource, whole=whole, subject="member_id")
    return {**document, "members": members}


def summary(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "members"}


class InfoOfficerTeamsController(Controller):
    path = COMMUNITY + "/info-officer-teams"
    tags = ["information network"]
    dependencies = {"identity": Provide(current_identity)}

    @post("/", summary="Form an information-officer team (信息员小组) for a compound or grid", status_code=201,
          dependencies=WRITE_COLLECTION)
    async def form(
        self, request: Request, community_id: FromPath[str], data: JSONBody[FormInfoOfficerTeam], identity: Caller,
        gateway_engine: GatewayEngine, services: Services, settings: Settings, in_scope: InScope,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Any]:
        path = f"/communities/{community_id}/info-officer-teams"
        return (await forward(request, path, view.teams, identity, gateway_engine, services, settings, community_id))[1]

    @get("/", summary="Teams, newest first, each with its number of active officers; totals for the community")
    async def list_(
        self, community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine, cursor: Cursor = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        await check_collection(gateway_engine, identity, community_id)
        items, next_cursor = await view.list_page(gateway_engine, view.teams, community_id, limit=limit, cursor=cursor)
        counted = await view.totals(gateway_engine, view.teams, community_id)
        totals = {"teams": counted["records"], "officers": counted["members"]}
        return {"items": [summary(item) for item in items], "totals": totals, "next_cursor": next_cursor}

    @get("/{team_id:str}", summary="One team with its members (phones masked; whole=true for workers, logged)")
    async def get_one(
        self, community_id: FromPath[str], team_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine,
        personal_data: NamedDependency[PersonalData], whole: bool = False,
    ) -> Response[dict[str, Any]]:
        await check_record(gateway_engine, identity, community_id)
        document = await view.get(gateway_engine, view.teams, community_id, team_id)
        if document is None:
            raise _not_found("信息员小组", "information-officer team")
        resource = f"/api/v1/communities/{community_id}/info-officer-teams/{team_id}"
        shown = await shown_team(document, identity, gateway_engine, personal_data, resource, whole=whole)
        return Response(shown, headers={"ETag": f'"{document["version"]}"'})

    @post("/{team_id:str}/members", summary="An officer joins: a resident, or a person named with a phone",
          status_code=201, dependencies=WRITE_RECORD)
    async def join(
        self, request: Request, community_id: FromPath[str], team_id: FromPath[str], data: JSONBody[JoinInfoOfficerTeam],
        identity: Caller, gateway_engine: GatewayEngine, services: Services, settings: Settings, in_scope: InScope,
        personal_data: NamedDependency[PersonalData], idempotency_key: IdempotencyKey = None,
    ) -> Response[Any]:
        path = f"/communities/{community_id}/info-officer-teams/{team_id}/members"
        document, answer = await forward(request, path, view.teams, identity, gateway_engine, services, settings, community_id)
        return await _team_answer(document, answer, identity, gateway_engine, personal_data)

    @post("/{team_id:str}/members/{member_id:str}/leave", summary="An officer leaves (If-Match: the team's version)",
          status_code=200, dependencies=WRITE_RECORD)
    async def leave(
        self, request: Request, community_id: FromPath[str], team_id: FromPath[str], member_id: FromPath[str],
        data: JSONBody[LeaveInfoOfficerTeam], identity: Caller, gateway_engine: GatewayEngine, services: Services,
        settings: Settings, in_scope: InScope, personal_data: NamedDependency[PersonalData], if_match: IfMatch = None,
    ) -> Response[Any]:
        if not request.headers.get("if-match"):
            raise ProblemError("precondition_required")
        path = f"/communities/{community_id}/info-officer-teams/{team_id}/members/{member_id}/leave"
        document, answer = await forward(request, path, view.teams, identity, gateway_engine, services, settings, community_id)
        return await _team_answer(document, answer, identity, gateway_engine, personal_data)


async def _team_answer(document, answer, identity, engine, personal_data) -> Response[Any]:  # noqa: ANN001
    if document is None or "members" not in document:
        return answer
    shown = await shown_team(document, identity, engine, personal_data, "", whole=False)
    return Response(shown, status_code=answer.status_code, headers=_etag(document))


@get(COMMUNITY + "/info-officers", summary="Every active information officer (信息员) of the community, phones masked",
     tags=["information network"], dependencies={"identity": Provide(current_identity)})
async def info_officers(
    community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine,
    personal_data: NamedDependency[PersonalData],
) -> dict[str, Any]:
    await check_collection(gateway_engine, identity, community_id)
    officers: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        teams, cursor = await view.list_page(gateway_engine, view.teams, community_id, limit=200, cursor=cursor)
        for team in teams:
            shown = await shown_team(team, identity, gateway_engine, personal_data, "", whole=False)
            officers += [{**m, "team_id": team["id"], "team": team["name"]} for m in shown["members"] if m["left_on"] is None]
        if cursor is None:
            return {"items": officers, "total": len(officers)}


class PartyGroupsController(Controller):
    path = COMMUNITY + "/party-groups"
    tags = ["information network"]
    dependencies = {"identity": Provide(current_identity)}

    @post("/", summary="Form the party group of a compound (楼院党小组); one per compound", status_code=201,
          dependencies=WRITE_COLLECTION)
    async def form(
        self, request: Request, community_id: FromPath[str], data: JSONBody[FormPartyGroup], identity: Caller,
        gateway_engine: GatewayEngine, services: Services, settings: Settings, in_scope: InScope,
    ) -> Response[Any]:
        path = f"/communities/{community_id}/party-groups"
        return (await forward(request, path, view.party_groups, identity, gateway_engine, services, settings, community_id))[1]

    @get("/", summary="Party groups with their members by building; totals for the community")
    async def list_(
        self, community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine, cursor: Cursor = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        await check_collection(gateway_engine, identity, community_id)
        items, next_cursor = await view.list_page(gateway_engine, view.party_groups, community_id, limit=limit, cursor=cursor)
        counted = await view.totals(gateway_engine, view.party_groups, community_id)
        totals = {"party_groups": counted["records"], "party_members": counted["members"]}
        return {"items": [await _named(gateway_engine, item) for item in items], "totals": totals, "next_cursor": next_cursor}

    @get("/{group_id:str}", summary="One party group with its members by building")
    async def get_one(
        self, community_id: FromPath[str], group_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine
    ) -> Response[dict[str, Any]]:
        await check_record(gateway_engine, identity, community_id)
        document = await view.get(gateway_engine, view.party_groups, community_id, group_id)
        if document is None:
            raise _not_found("党小组", "party group")
        return Response(await _named(gateway_engine, document), headers={"ETag": f'"{document["version"]}"'})

    @post("/{group_id:str}/members", summary="Place a party member (a resident) in a building of the compound",
          status_code=200, dependencies=WRITE_RECORD)
    async def place(
        self, request: Request, community_id: FromPath[str], group_id: FromPath[str], data: JSONBody[PlacePartyMember],
        identity: Caller, gateway_engine: GatewayEngine, services: Services, settings: Settings, in_scope: InScope,
    ) -> Response[Any]:
        path = f"/communities/{community_id}/party-groups/{group_id}/members"
        document, answer = await forward(request, path, view.party_groups, identity, gateway_engine, services, settings, community_id)
        if document is None:
            return answer
        return Response(await _named(gateway_engine, document), status_code=answer.status_code, headers=_etag(document))


async def _named(engine: Any, group: dict[str, Any]) -> dict[str, Any]:
    """The group with each member's name, and its buildings as lists of members."""
    names = await view.resident_names(engine, [m["resident_id"] for m in group["members"]])
    members = [{**m, "name": names.get(m["resident_id"])} for m in group["members"]]
    by_building: dict[str, list[dict[str, Any]]] = {}
    for member in sorted(members, key=lambda m: m["building"]):
        by_building.setdefault(member["building"], []).append(member)
    buildings = [{"building": b, "members": ms} for b, ms in by_building.items()]
    return {**group, "members": members, "by_building": buildings}


class MeetingsController(Controller):
    path = COMMUNITY + "/meetings"
    tags = ["information network"]
    dependencies = {"identity": Provide(current_identity)}

    @post("/", summary="Record a sentiment meeting (民情恳谈会); each item raised becomes a report (channel meeting)",
          status_code=201, dependencies=WRITE_COLLECTION)
    async def hold(
        self, request: Request, community_id: FromPath[str], data: JSONBody[HoldSentimentMeeting], identity: Caller,
        gateway_engine: GatewayEngine, services: Services, settings: Settings, in_scope: InScope,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Any]:
        path = f"/communities/{community_id}/meetings"
        document, answer = await forward(request, path, view.meetings, identity, gateway_engine, services, settings, community_id)
        if document is None:
            return answer
        return Response(await _linked(gateway_engine, document), status_code=answer.status_code, headers=_etag(document))

    @get("/", summary="Meetings, newest first, with their items")
    async def list_(
        self, community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine, cursor: Cursor = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        await check_collection(gateway_engine, identity, community_id)
        items, next_cursor = await view.list_page(gateway_engine, view.meetings, community_id, limit=limit, cursor=cursor)
        return {"items": [await _linked(gateway_engine, item) for item in items], "next_cursor": next_cursor}

    @get("/{meeting_id:str}", summary="One meeting, each item with its report's link and status")
    async def get_one(
        self, community_id: FromPath[str], meeting_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine
    ) -> Response[dict[str, Any]]:
        await check_record(gateway_engine, identity, community_id)
        document = await view.get(gateway_engine, view.meetings, community_id, meeting_id)
        if document is None:
            raise _not_found("民情恳谈会", "sentiment meeting")
        return Response(await _linked(gateway_engine, document), headers={"ETag": f'"{document["version"]}"'})


async def _linked(engine: Any, meeting: dict[str, Any]) -> dict[str, Any]:
    """Each item with the path of its report and, once the reports view has it, its status."""
    items = []
    for item in meeting["items"]:
        report = await reports_view.get_report(engine, meeting["community_id"], item["report_id"])
        link = f"/api/v1/communities/{meeting['community_id']}/reports/{item['report_id']}"
        items.append({**item, "report": link, "report_status": report and report["status"]})
    return {**meeting, "items": items}


network_routes = [InfoOfficerTeamsController, info_officers, PartyGroupsController, MeetingsController]
