"""`/communities/{id}/households`: register, read, change."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from services.intake.api.common import caller, expected_version, problem_for, record
from services.intake.domain import DomainError
from services.intake.handlers import Intake, VersionMismatch
from services.intake.handlers import households as handlers
from services.intake.commands import ChangeHousehold, RegisterHousehold
from shared.events import CommandContext


@post("/communities/{community_id:str}/households", summary="Register a household", tags=["households"])
async def register_household(
    request: Request,
    community_id: FromPath[str],
    data: JSONBody[RegisterHousehold],
    intake: NamedDependency[Intake],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
) -> Response[dict[str, Any]]:
    identity = caller(request, community_id, writes=True)
    household_id = handlers.new_household_id(community_id, idempotency_key)
    context = CommandContext.new(community_id, identity.subject)
    try:
        state, created, duplicates = await handlers.register_household(intake, household_id, data, context)
    except DomainError as error:
        raise problem_for(error) from error
    people = ["head"] + [f"members[{index}]" for index in range(len(data.members))]
    body = {
        **await handlers.masked_document(intake, state.document),
        "possible_duplicates": [
            {"person": person, **asdict(duplicate)}
            for person, found in zip(people, duplicates, strict=True)
            for duplicate in found
        ],
    }
    return Response(body, status_code=201 if created else 200, headers={"ETag": f'"{state.version}"'})


@get("/communities/{community_id:str}/households/{household_id:str}", summary="One household", tags=["households"])
async def get_household(
    request: Request, community_id: FromPath[str], household_id: FromPath[str], intake: NamedDependency[Intake]
) -> Response[dict[str, Any]]:
    caller(request, community_id, writes=False)
    try:
        state = await handlers.get_household(intake, household_id, community_id)
    except DomainError as error:
        raise problem_for(error) from error
    return record(await handlers.masked_document(intake, state.document), state.version, 200)


@patch("/communities/{community_id:str}/households/{household_id:str}", summary="Change a household", tags=["households"])
async def change_household(
    request: Request,
    community_id: FromPath[str],
    household_id: FromPath[str],
    data: JSONBody[ChangeHousehold],
    intake: NamedDependency[Intake],
    if_match: Annotated[str | None, HeaderParameter(name="If-Match")] = None,
) -> Response[dict[str, Any]]:
    identity = caller(request, community_id, writes=True)
    version = expected_version(if_match)
    context = CommandContext.new(community_id, identity.subject)
    try:
        state = await handlers.change_household(intake, household_id, version, data, context)
    except (DomainError, VersionMismatch) as error:
        raise problem_for(error) from error
    return record(await handlers.masked_document(intake, state.document), state.version, 200)


routes = [register_household, get_household, change_household]
