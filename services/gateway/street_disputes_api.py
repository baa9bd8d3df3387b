"""`/api/v1/streets/{street_id}/disputes`: every community's cases in one street, for the
street's grand-mediation centre (街道矛盾纠纷大调解工作中心): what the communities transferred
(`status=transferred`) waits for an officer to take it over or assign it back, and what the
street mediates itself (`handled_by=street`). Its officers and the district read it."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Router, get
from litestar.di import Provide
from litestar.params import FromPath, Parameter

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.disputes_api import LISTED, CasePage
from services.gateway.scope import overseen_street
from services.gateway.views import disputes as view
from shared.contracts.mediation_changes import HANDLERS

HandledBy = Annotated[str | None, Parameter(default=None, pattern=f"^({'|'.join(HANDLERS)})$")]


@get("/", summary="The street's cases across its communities, newest first", dependencies=LISTED,
     description="Filter by `status` (`transferred`: waiting for the street centre), `handled_by` (`street`: the "
                 "cases the street took over), `community_id`, category, source or outcome. 404 for no such street, "
                 "403 for callers who do not oversee it.")
async def street_cases(
    street_id: FromPath[str],
    identity: Caller,
    gateway_engine: GatewayEngine,
    page: CasePage,
    handled_by: HandledBy = None,
    community_id: str | None = Parameter(default=None, max_length=100),
) -> dict[str, Any]:
    communities = [community.id for community in await overseen_street(gateway_engine, identity, street_id)]
    if community_id is not None:
        communities = [community for community in communities if community == community_id]
    items, next_cursor = await view.list_disputes(gateway_engine, communities, handled_by=handled_by, **page)
    return {"items": items, "next_cursor": next_cursor}


street_disputes_router = Router(
    path="/api/v1/streets/{street_id:str}/disputes",
    route_handlers=[street_cases],
    dependencies={"identity": Provide(current_identity)},
    tags=["mediation"],
)
