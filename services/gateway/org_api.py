"""Log in, "who am I", and the organisation tree: `/api/v1/auth/token`, `/api/v1/me`, `/api/v1/org/...`.

The app registers two dependencies these routes need:
- `gateway_engine`: the gateway's `AsyncEngine`, holding the tables of `services.gateway.org`;
- `settings`: any object with `secret: str` (signs tokens) and `token_ttl_s: int` (their lifetime, seconds).
The caller's `identity` comes from `services.gateway.auth.current_identity`, provided here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from litestar import Controller, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from pydantic import BaseModel, Field

from services.gateway.auth import (
    BEARER_SCHEME,
    Caller,
    GatewayEngine,
    InjectedSettings,
    authenticate,
    current_identity,
    issue_access_token,
)
from services.gateway.org import (
    Community,
    Street,
    buildings_of_community,
    get_community,
    get_user,
    list_communities,
    list_compounds,
    list_streets,
    load_org_chart,
)
from shared.problems import ProblemError


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class DistrictOut(BaseModel):
    id: str
    name: str


class StreetOut(BaseModel):
    id: str
    district_id: str
    name: str


class CommunityOut(BaseModel):
    id: str
    street_id: str
    name: str


class BuildingOut(BaseModel):
    id: str
    name: str


class CompoundOut(BaseModel):
    id: str
    community_id: str
    name: str
    buildings: list[BuildingOut]


class StreetList(BaseModel):
    items: list[StreetOut]


class CommunityList(BaseModel):
    items: list[CommunityOut]


class CompoundList(BaseModel):
    items: list[CompoundOut]


class MeUser(BaseModel):
    id: str
    username: str
    display_name: str
    role: str


class Scope(BaseModel):
    district: DistrictOut | None = Field(description="The district the caller belongs to.")
    streets: list[StreetOut] = Field(description="Streets the caller oversees as a whole.")
    communities: list[CommunityOut] = Field(description="Communities whose records the caller may see.")
    all_communities: bool = Field(description="Sees every community, including ones added later.")


class Me(BaseModel):
    user: MeUser
    roles: list[str]
    duties: list[str]
    scope: Scope


class IdentityController(Controller):
    path = "/api/v1"
    tags = ["identity"]

    @post("/auth/token", status_code=200, cache_control=CacheControlHeader(no_store=True))
    async def issue_token(
        self, data: JSONBody[TokenRequest], gateway_engine: GatewayEngine, settings: InjectedSettings
    ) -> TokenResponse:
        """Exchange a username and password for a bearer access token."""
        user = await authenticate(gateway_engine, data.username, data.password)
        if user is None:
            # One answer for an unknown user and a wrong password: no one learns who exists.
            raise ProblemError(
                "unauthenticated",
                detail_zh="用户名或密码错误",
                detail_en="Wrong username or password",
                headers={"WWW-Authenticate": "Bearer"},
            )
        token = issue_access_token(user, settings.secret, settings.token_ttl_s)
        return TokenResponse(access_token=token, expires_in=settings.token_ttl_s)

    @get(
        "/me",
        dependencies={"identity": Provide(current_identity)},
        security=[{BEARER_SCHEME: []}],
    )
    async def me(self, identity: Caller, gateway_engine: GatewayEngine) -> Me:
        """The caller, its roles and duties, and the district, streets and communities in its scope."""
        async with gateway_engine.connect() as conn:
            user = await get_user(conn, identity.subject)
            org = await load_org_chart(conn)
        if user is None:
            raise ProblemError("unauthenticated", headers={"WWW-Authenticate": "Bearer"})
        district = org.district(identity.district_id)
        return Me(
            user=MeUser(id=user.id, username=user.username, display_name=user.display_name, role=user.role),
            roles=list(identity.roles),
            duties=list(identity.duties),
            scope=Scope(
                district=DistrictOut(id=district.id, name=district.name) if district else None,
                streets=[_street_out(s) for s in org.streets if s.id in identity.street_ids],
                communities=[_community_out(c) for c in org.communities if identity.can_see(c.id)],
                all_communities=identity.all_communities,
            ),
        )


class OrgController(Controller):
    path = "/api/v1/org"
    tags = ["organisation"]
    dependencies = {"identity": Provide(current_identity)}
    security = [{BEARER_SCHEME: []}]

    @get("/streets")
    async def streets(self, identity: Caller, gateway_engine: GatewayEngine) -> StreetList:
        """Streets the caller oversees or has a community in."""
        return StreetList(items=[_street_out(s) for s in await list_streets(gateway_engine, identity)])

    @get("/communities")
    async def communities(self, identity: Caller, gateway_engine: GatewayEngine) -> CommunityList:
        """Communities the caller may see."""
        return CommunityList(items=[_community_out(c) for c in await list_communities(gateway_engine, identity)])

    @get("/communities/{community_id:str}/compounds")
    async def compounds(self, community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine) -> CompoundList:
        """The community's compounds (楼院/网格), each with its buildings. 404 outside the caller's scope."""
        # Out of scope looks exactly like absent: a caller learns nothing about others' communities.
        if not identity.can_see(community_id):
            raise ProblemError("not_found")
        async with gateway_engine.connect() as conn:
            if await get_community(conn, community_id) is None:
                raise ProblemError("not_found")
            compounds = await list_compounds(conn, community_id)
            buildings = await buildings_of_community(conn, community_id)
        buildings_by_compound: dict[str, list[BuildingOut]] = defaultdict(list)
        for building in buildings:
            buildings_by_compound[building.compound_id].append(BuildingOut(id=building.id, name=building.name))
        return CompoundList(
            items=[
                CompoundOut(id=c.id, community_id=c.community_id, name=c.name, buildings=buildings_by_compound[c.id])
                for c in compounds
            ]
        )


def org_routes() -> list[type[Controller]]:
    """The route handlers to register on the gateway app."""
    return [IdentityController, OrgController]


def _street_out(street: Street) -> StreetOut:
    return StreetOut(id=street.id, district_id=street.district_id, name=street.name)


def _community_out(community: Community) -> CommunityOut:
    return CommunityOut(id=community.id, street_id=community.street_id, name=community.name)
