"""`…/households/{id}/visits` and `…/residents/{id}/contacts`: keeping in touch, on the record."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from services.intake.api.common import caller, problem_for, record
from services.intake.domain import DomainError
from services.intake.handlers import Intake, VersionMismatch
from services.intake.handlers import care as handlers
from shared.contracts.intake_care import RecordContact, RecordHouseholdVisit
from shared.events import CommandContext


@post("/communities/{community_id:str}/households/{household_id:str}/visits", summary="Record a household visit (入户走访)",
      tags=["households"], status_code=201)
async def record_visit(
    request: Request, community_id: FromPath[str], household_id: FromPath[str], data: JSONBody[RecordHouseholdVisit],
    intake: NamedDependency[Intake],
) -> Response[dict[str, Any]]:
    identity = caller(request, community_id, writes=True)
    try:
        context = CommandContext.new(community_id, identity.subject)
        state, appended = await handlers.record_visit(intake, household_id, data, context)
    except (DomainError, VersionMismatch) as error:
        raise problem_for(error) from error
    body = {**appended[0].data, "late": len(appended) > 1, "version": state.version}
    return record(body, state.version, 201)


@post("/communities/{community_id:str}/residents/{resident_id:str}/contacts",
      summary="Record a contact with a resident (a visit or a phone call)", tags=["residents"], status_code=201)
async def record_contact(
    request: Request, community_id: FromPath[str], resident_id: FromPath[str], data: JSONBody[RecordContact],
    intake: NamedDependency[Intake],
) -> Response[dict[str, Any]]:
    identity = caller(request, community_id, writes=True)
    try:
        context = CommandContext.new(community_id, identity.subject)
        state, appended = await handlers.record_contact(intake, resident_id, data, context)
    except (DomainError, VersionMismatch) as error:
        raise problem_for(error) from error
    body = {**appended[0].data, "late": len(appended) > 1, "version": state.version}
    return record(body, state.version, 201)


routes = [record_visit, record_contact]
