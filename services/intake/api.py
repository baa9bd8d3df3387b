"""Intake's HTTP API, called by the gateway with its signed identity: body → command → handler."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from services.intake import domain, handlers
from services.intake.commands import ChangeHousehold, RegisterHousehold
from shared.eventstore import EventStore
from shared.events import CommandContext
from shared.http import identity_of
from shared.identity import Identity
from shared.problems import ProblemError


def problem_for(error: Exception) -> ProblemError:
    """Every domain error of intake as the problem a client sees, in one place."""
    if isinstance(error, domain.HouseholdNotFound):
        return ProblemError("not_found", detail_zh="找不到该户", detail_en="no such household")
    if isinstance(error, domain.HouseholdAlreadyRegistered):
        return ProblemError(
            "version_conflict",
            detail_zh="该户已登记（Idempotency-Key 已用于另一份内容）",
            detail_en="this household is already registered (the Idempotency-Key was used for other content)",
        )
    if isinstance(error, handlers.VersionMismatch):
        return ProblemError(
            "precondition_failed",
            detail_zh=f"该户当前版本为 {error.current}",
            detail_en=f"the household is now at version {error.current}",
            headers={"ETag": f'"{error.current}"'},
        )
    raise error


def expected_version(if_match: str | None) -> int:
    if not if_match:
        raise ProblemError("precondition_required")
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as error:
        raise ProblemError(
            "precondition_failed",
            detail_zh=f"If-Match 应为版本号：{if_match}",
            detail_en=f"If-Match must be a version number: {if_match}",
        ) from error


def _caller(request: Request, community_id: str, *, writes: bool) -> Identity:
    identity = identity_of(request, request.app.state.identities)
    allowed = identity.can_write(community_id) if writes else identity.can_see(community_id)
    if not allowed and not identity.is_service:
        raise ProblemError("forbidden" if identity.can_see(community_id) else "not_found")
    return identity


def _record(state: domain.Household, status: int) -> Response[dict[str, Any]]:
    return Response(state.document, status_code=status, headers={"ETag": f'"{state.version}"'})


@post("/communities/{community_id:str}/households", summary="Register a household", tags=["households"])
async def register_household(
    request: Request,
    community_id: FromPath[str],
    data: JSONBody[RegisterHousehold],
    store: NamedDependency[EventStore],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
) -> Response[dict[str, Any]]:
    caller = _caller(request, community_id, writes=True)
    household_id = handlers.new_household_id(community_id, idempotency_key)
    context = CommandContext.new(community_id, caller.subject)
    try:
        state, created = await handlers.register_household(store, household_id, data, context)
    except domain.DomainError as error:
        raise problem_for(error) from error
    return _record(state, 201 if created else 200)


@get("/communities/{community_id:str}/households/{household_id:str}", summary="One household", tags=["households"])
async def get_household(
    request: Request, community_id: FromPath[str], household_id: FromPath[str], store: NamedDependency[EventStore]
) -> Response[dict[str, Any]]:
    _caller(request, community_id, writes=False)
    try:
        state = await handlers.get_household(store, household_id, community_id)
    except domain.DomainError as error:
        raise problem_for(error) from error
    return _record(state, 200)


@patch("/communities/{community_id:str}/households/{household_id:str}", summary="Change a household", tags=["households"])
async def change_household(
    request: Request,
    community_id: FromPath[str],
    household_id: FromPath[str],
    data: JSONBody[ChangeHousehold],
    store: NamedDependency[EventStore],
    if_match: Annotated[str | None, HeaderParameter(name="If-Match")] = None,
) -> Response[dict[str, Any]]:
    caller = _caller(request, community_id, writes=True)
    version = expected_version(if_match)
    context = CommandContext.new(community_id, caller.subject)
    try:
        state = await handlers.change_household(store, household_id, version, data, context)
    except (domain.DomainError, handlers.VersionMismatch) as error:
        raise problem_for(error) from error
    return _record(state, 200)


routes = [register_household, get_household, change_household]
