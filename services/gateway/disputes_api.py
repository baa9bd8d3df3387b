"""`/api/v1/communities/{community_id}/disputes`: dispute cases (调解矛盾纠纷). Commands
go to mediation; reads come from the gateway's read model, built from mediation's stream.

Community workers, the community head and its mediators write in their community; whoever
sees a community reads (a street officer every community of the street, the auditor its
own). A street officer of the community's street also acts on a case: takes over or assigns
back one the community transferred, then mediates those the street took over (mediation
decides whose turn it is). Scope is checked before the body (dependencies run before Litestar validates
`data`): out of scope is 403 for the collection and 404 for a case.
"""

# No `from __future__ import annotations`: `_action` builds handlers whose body type is a
# closure variable, which Litestar can resolve only from an annotation already evaluated.

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody, Parameter

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.forward import ServiceClient, shown_when_read
from services.gateway.http11 import Answer
from services.gateway.scope import check_collection, check_record, writable_collection_by, writable_record_by
from services.gateway.settings import GatewaySettings
from services.gateway.views import disputes as view
from shared.contracts.mediation import OUTCOMES, STATUSES, can_work_on_disputes, can_write_disputes
from shared.contracts.mediation_requests import (
    AcceptDispute,
    AmendDispute,
    AssignBackDispute,
    CloseDispute,
    RecordAgreement,
    RecordFollowUp,
    RecordInvestigation,
    RecordSession,
    RefuseMediation,
    RegisterDispute,
    Source,
    TakeOverDispute,
    TransferDispute,
)
from shared.problems import ProblemError

PATH = "/api/v1/communities/{community_id:str}/disputes"
SERVICE_PATH = "/communities/{community_id}/disputes"
"""Where mediation answers the same resource (its internal API)."""

IfMatch = Annotated[str | None, HeaderParameter(name="If-Match")]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]
Status = Annotated[str | None, Parameter(default=None, pattern=f"^({'|'.join(STATUSES)})$")]
Outcome = Annotated[str | None, Parameter(default=None, pattern=f"^({'|'.join(OUTCOMES)})$")]
Category = Annotated[str | None, Parameter(default=None, pattern="^[0-9]{2}$")]
Services = NamedDependency[ServiceClient]
Settings = NamedDependency[GatewaySettings]
InScope = NamedDependency[None]

WRITE_COLLECTION = {"in_scope": Provide(writable_collection_by(can_write_disputes))}
ACT_ON_RECORD = {"in_scope": Provide(writable_record_by(can_work_on_disputes))}


@post("/", summary="Register a dispute (纠纷登记): parties, source, category, cause", status_code=201,
      dependencies=WRITE_COLLECTION)
async def register(
    request: Request, community_id: FromPath[str], data: JSONBody[RegisterDispute], identity: Caller,
    gateway_engine: GatewayEngine, services: Services, settings: Settings, in_scope: InScope,
    idempotency_key: IdempotencyKey = None,
) -> Response[Any]:
    answer = await services.send(
        "mediation", "POST", SERVICE_PATH.format(community_id=community_id), identity,
        body=await request.body(), headers=dict(request.headers),
    )
    return await _as_read_model(answer, gateway_engine, settings, community_id)


async def case_page(
    status: Status = None,
    category: Category = None,
    source: Source | None = None,
    outcome: Outcome = None,
    cursor: str | None = Parameter(default=None, max_length=500),
    limit: int = Parameter(default=50, ge=1, le=200),
) -> dict[str, Any]:
    """The filters and the page a case list is asked for (`view.list_disputes`'s keywords)."""
    return {"status": status, "category": category, "source": source, "outcome": outcome, "cursor": cursor,
            "limit": limit}


CasePage = NamedDependency[dict[str, Any]]
LISTED = {"page": Provide(case_page)}


@get("/", summary="Cases, newest first; filter by status, category, source, outcome", dependencies=LISTED)
async def list_cases(community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine, page: CasePage) -> dict[str, Any]:
    await check_collection(gateway_engine, identity, community_id)
    items, next_cursor = await view.list_disputes(gateway_engine, community_id, **page)
    return {"items": items, "next_cursor": next_cursor}


@get("/{dispute_id:str}", summary="One case with its whole record: investigations, sessions, agreement, follow-ups")
async def get_case(
    community_id: FromPath[str], dispute_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine
) -> Response[dict[str, Any]]:
    await check_record(gateway_engine, identity, community_id)
    document = await view.get_dispute(gateway_engine, community_id, dispute_id)
    if document is None:
        raise ProblemError("not_found", detail_zh="找不到该纠纷", detail_en="no such dispute")
    return Response(document, headers={"ETag": f'"{document["version"]}"'})


def _action(name: str, summary: str, command: type):
    """`POST …/{dispute_id}/{name}` with `command` as its body, forwarded to mediation."""

    @post(f"/{{dispute_id:str}}/{name}", summary=f"{summary} (send the version in If-Match)", status_code=200,
          dependencies=ACT_ON_RECORD, operation_id=f"mediation_case_{name.replace('-', '_')}")
    async def action(
        request: Request, community_id: FromPath[str], dispute_id: FromPath[str], data: JSONBody[command],  # type: ignore[valid-type]
        identity: Caller, gateway_engine: GatewayEngine, services: Services, settings: Settings, in_scope: InScope,
        if_match: IfMatch = None,
    ) -> Response[Any]:
        if not if_match:
            raise ProblemError("precondition_required")
        path = f"{SERVICE_PATH.format(community_id=community_id)}/{dispute_id}/{name}"
        answer = await services.send(
            "mediation", "POST", path, identity, body=await request.body(), headers=dict(request.headers)
        )
        return await _as_read_model(answer, gateway_engine, settings, community_id)

    return action


ACTIONS = (
    ("accept", "Accept the case and designate its mediators (受理)", AcceptDispute),
    ("investigations", "Add an investigation record (调查收集情况)", RecordInvestigation),
    ("sessions", "Record a mediation session: time, place, mediators, participants, how it went (正式调解)", RecordSession),
    ("agreement", "Record the agreement: terms and clauses, each with who, what and by when (调解协议)", RecordAgreement),
    ("follow-ups", "Record a follow-up visit and the clauses found fulfilled (回访)", RecordFollowUp),
    ("transfer", "Mediation failed: transfer to the street's grand-mediation centre (移送街道)", TransferDispute),
    ("refuse", "A party refuses mediation: it must not go ahead, the case closes (law art. 17)", RefuseMediation),
    ("close", "Close and file the case (结案归档)", CloseDispute),
    ("amend", "Correct what the case records: category, cause, parties (named, added, removed) or place (更正案情)",
     AmendDispute),
    ("take-over", "Street officers: take the transferred case over; the street centre mediates it from now (街道接手)",
     TakeOverDispute),
    ("assign-back", "Street officers: assign the case back to the community, with instructions; it counts as "
     "assigned by the street centre and waits to be accepted (街道交办)", AssignBackDispute),
)

disputes_router = Router(
    path=PATH,
    route_handlers=[register, list_cases, get_case, *(_action(*action) for action in ACTIONS)],
    dependencies={"identity": Provide(current_identity)},
    tags=["mediation"],
)


async def _as_read_model(
    answer: Answer, engine: GatewayEngine, settings: GatewaySettings, community_id: str
) -> Response[Any]:
    """Answers a successful write once the read model shows it, so a following GET sees it too."""
    location = PATH.replace("{community_id:str}", community_id)
    _shown, response = await shown_when_read(
        answer, engine, view.disputes, community_id, settings.read_your_writes_s, location
    )
    return response