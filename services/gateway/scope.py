"""Scope checks for paths under `/communities/{community_id}`.

An unknown community is 404. A caller outside the community's street or district
gets 403 for a collection and 404 for a record, so records outside one's scope
cannot even be confirmed to exist.
"""

from __future__ import annotations

from collections.abc import Callable

from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.auth import Caller, GatewayEngine
from services.gateway.org import Community, recent_org_chart
from shared.identity import Identity
from shared.problems import ProblemError


async def community_or_404(engine: AsyncEngine, community_id: str) -> None:
    if (await recent_org_chart(engine)).community(community_id) is None:
        raise ProblemError("not_found", detail_zh=f"没有社区 {community_id}", detail_en=f"no community {community_id}")


async def overseen_street(engine: AsyncEngine, caller: Identity, street_id: str) -> tuple[Community, ...]:
    """The communities of a street its officers and the district oversee: 404 if there is no
    such street, 403 for anyone else."""
    org = await recent_org_chart(engine)
    if org.street(street_id) is None:
        raise ProblemError("not_found", detail_zh=f"没有街道 {street_id}", detail_en=f"no street {street_id}")
    if not (caller.all_communities or street_id in caller.street_ids):
        raise ProblemError("forbidden")
    return org.communities_of_street(street_id)


WriteRule = Callable[[Identity, str], bool]
"""Who may change a community's records of a kind: by default its workers and head
(`Identity.can_write`); a pillar names its own (mediators also keep the disputes)."""


async def check_collection(
    engine: AsyncEngine, caller: Identity, community_id: str, *, writes: bool = False,
    may_write: WriteRule = Identity.can_write,
) -> None:
    await community_or_404(engine, community_id)
    allowed = may_write(caller, community_id) if writes else caller.can_see(community_id)
    if not allowed:
        raise ProblemError("forbidden")


async def check_record(
    engine: AsyncEngine, caller: Identity, community_id: str, *, writes: bool = False,
    may_write: WriteRule = Identity.can_write,
) -> None:
    await community_or_404(engine, community_id)
    if not caller.can_see(community_id):
        raise ProblemError("not_found")
    if writes and not may_write(caller, community_id):
        raise ProblemError("forbidden")


# Litestar dependencies for write routes: scope before content, because dependencies run
# before Litestar validates `data` (a caller out of scope learns nothing from field errors).


async def writable_collection(community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine) -> None:
    await check_collection(gateway_engine, identity, community_id, writes=True)


async def writable_record(community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine) -> None:
    await check_record(gateway_engine, identity, community_id, writes=True)


def writable_collection_by(may_write: WriteRule):
    """`writable_collection` for records that `may_write` says who keeps."""

    async def in_scope(community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine) -> None:
        await check_collection(gateway_engine, identity, community_id, writes=True, may_write=may_write)

    return in_scope


def writable_record_by(may_write: WriteRule):
    """`writable_record` for records that `may_write` says who keeps."""

    async def in_scope(community_id: FromPath[str], identity: Caller, gateway_engine: GatewayEngine) -> None:
        await check_record(gateway_engine, identity, community_id, writes=True, may_write=may_write)

    return in_scope
