"""`/api/v1/communities/{community_id}/reports`: commands go to intake, reads come from the read model.

Scope is checked before the body (dependencies run before Litestar validates `data`):
out of scope is 403 for the collection and 404 for a record.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody, Parameter

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.forward import ServiceClient, passthrough, shown_when_read
from services.gateway.http11 import Answer
from services.gateway.scope import (
    check_collection,
    check_record,
    writable_collection,
    writable_record,
)
from services.gateway.settings import GatewaySettings
from services.gateway.views import reports as view
from shared.contracts.intake_reports import (
    Category,
    Channel,
    CloseReport,
    LinkReport,
    ReplyToReporter,
    ReportSentiment,
    TriageReport,
)
from shared.problems import ProblemError

PATH = "/api/v1/communities/{community_id:str}/reports"
Status = Annotated[str | None, Parameter(default=None, pattern="^(reported|triaged|replied|closed)$")]
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match")]


class ReportsController(Controller):
    path = PATH
    tags = ["reports"]
    dependencies = {"identity": Provide(current_identity)}

    @post("/", summary="Record a sentiment report (社情民意) from a channel", status_code=201,
          dependencies={"in_scope": Provide(writable_collection)})
    async def report(
        self, request: Request, community_id: FromPath[str], data: JSONBody[ReportSentiment], identity: Caller,
        gateway_engine: GatewayEngine, services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings], in_scope: NamedDependency[None],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
    ) -> Response[Any]:
        answer = await services.send(
            "intake", "POST", f"/communities/{community_id}/reports", identity,
            body=await request.body(), headers=dict(request.headers),
        )
        return await _as_read_model(answer, gateway_engine, settings, community_id)

    @get("/", summary="Reports, newest first; filter by status, channel, category, overdue, compound")
    async def list_(
        self,
        community_id: FromPath[str],
        identity: Caller,
        gateway_engine: GatewayEngine,
        status: Status = None,
        channel: Channel | None = None,
        category: Category | None = None,
        overdue: bool | None = None,
        compound: str | None = Parameter(default=None, max_length=50),
        cursor: str | None = Parameter(default=None, max_length=500),
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> dict[str, Any]:
        await check_collection(gateway_engine, identity, community_id)
        items, next_cursor = await view.list_reports(
            gateway_engine, community_id, limit=limit, cursor=cursor, status=status, channel=channel,
            category=category, overdue=overdue, compound=compound,
        )
        return {"items": items, "next_cursor": next_cursor}

    @get("/{report_id:str}", summary="One report (reporter masked)")
    async def get_one(
        self, community_id: FromPath[str], report_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine
    ) -> Response[dict[str, Any]]:
        await check_record(gateway_engine, identity, community_id)
        document = await view.get_report(gateway_engine, community_id, report_id)
        if document is None:
            raise _no_such_report()
        return Response(document, headers={"ETag": f'"{document["version"]}"'})

    @get("/{report_id:str}/possible-duplicates",
         summary="Reports of the same compound within 7 days whose text is similar, most similar first")
    async def possible_duplicates(
        self, community_id: FromPath[str], report_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine
    ) -> dict[str, Any]:
        await check_record(gateway_engine, identity, community_id)
        found = await view.possible_duplicates(gateway_engine, community_id, report_id)
        if found is None:
            raise _no_such_report()
        return {"items": found}

    @get("/{report_id:str}/reporter", summary="The reporter whole, unmasked (writers only; logged)",
         dependencies={"in_scope": Provide(writable_record)})
    async def reporter(
        self, community_id: FromPath[str], report_id: FromPath[str], identity: Caller,
        services: NamedDependency[ServiceClient], in_scope: NamedDependency[None],
    ) -> Response[Any]:
        answer = await services.send("intake", "GET", f"/communities/{community_id}/reports/{report_id}/reporter", identity)
        return passthrough(answer)

    @post("/{report_id:str}/triage", summary="Triage: classify and route (send the version in If-Match)",
          status_code=200, dependencies={"in_scope": Provide(writable_record)})
    async def triage(
        self, request: Request, community_id: FromPath[str], report_id: FromPath[str], data: JSONBody[TriageReport],
        identity: Caller, gateway_engine: GatewayEngine, services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings], in_scope: NamedDependency[None], if_match: IfMatch = None,
    ) -> Response[Any]:
        return await _action(request, "triage", community_id, report_id, identity, gateway_engine, services, settings)

    @post("/{report_id:str}/reply", summary="Reply to the reporter (send the version in If-Match)",
          status_code=200, dependencies={"in_scope": Provide(writable_record)})
    async def reply(
        self, request: Request, community_id: FromPath[str], report_id: FromPath[str], data: JSONBody[ReplyToReporter],
        identity: Caller, gateway_engine: GatewayEngine, services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings], in_scope: NamedDependency[None], if_match: IfMatch = None,
    ) -> Response[Any]:
        return await _action(request, "reply", community_id, report_id, identity, gateway_engine, services, settings)

    @post("/{report_id:str}/close", summary="Close the report (send the version in If-Match)",
          status_code=200, dependencies={"in_scope": Provide(writable_record)})
    async def close(
        self, request: Request, community_id: FromPath[str], report_id: FromPath[str], data: JSONBody[CloseReport],
        identity: Caller, gateway_engine: GatewayEngine, services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings], in_scope: NamedDependency[None], if_match: IfMatch = None,
    ) -> Response[Any]:
        return await _action(request, "close", community_id, report_id, identity, gateway_engine, services, settings)

    @post("/{report_id:str}/links", summary="Mark as a duplicate of another report (send the version in If-Match)",
          status_code=200, dependencies={"in_scope": Provide(writable_record)})
    async def link(
        self, request: Request, community_id: FromPath[str], report_id: FromPath[str], data: JSONBody[LinkReport],
        identity: Caller, gateway_engine: GatewayEngine, services: NamedDependency[ServiceClient],
        settings: NamedDependency[GatewaySettings], in_scope: NamedDependency[None], if_match: IfMatch = None,
    ) -> Response[Any]:
        return await _action(request, "links", community_id, report_id, identity, gateway_engine, services, settings)


async def _action(
    request: Request, action: str, community_id: str, report_id: str, identity: Any,
    engine: GatewayEngine, services: ServiceClient, settings: GatewaySettings,
) -> Response[Any]:
    if not request.headers.get("if-match"):
        raise ProblemError("precondition_required")
    answer = await services.send(
        "intake", "POST", f"/communities/{community_id}/reports/{report_id}/{action}", identity,
        body=await request.body(), headers=dict(request.headers),
    )
    return await _as_read_model(answer, engine, settings, community_id)


def _no_such_report() -> ProblemError:
    return ProblemError("not_found", detail_zh="找不到该民情反映", detail_en="no such report")


async def _as_read_model(
    answer: Answer, engine: GatewayEngine, settings: GatewaySettings, community_id: str
) -> Response[Any]:
    """Answers a successful write once the read model shows it, so a following GET sees it too."""
    location = f"/api/v1/communities/{community_id}/reports"
    _shown, response = await shown_when_read(
        answer, engine, view.reports, community_id, settings.read_your_writes_s, location
    )
    return response