"""`/communities/{id}/households/import`: a checked household survey sheet, every household or none."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from services.intake.api.common import caller, problem_for
from services.intake.domain import DomainError
from services.intake.domain.imports import HouseholdsDiffer
from services.intake.handlers import Intake
from services.intake.handlers import imports as handlers
from shared.contracts.intake_imports import ImportHouseholds
from shared.events import CommandContext
from shared.eventstore import ConcurrencyConflict
from shared.problems import ProblemError
from shared.row_errors import row_error

MAX_IMPORT_BODY_BYTES = 64 * 1024 * 1024
"""A sheet of 10,000 households is about 6 MB of JSON; `MAX_IMPORTED_HOUSEHOLDS` bounds it too."""


@post(
    "/communities/{community_id:str}/households/import",
    summary="Import households (a checked survey sheet) in one transaction",
    tags=["households"],
    request_max_body_size=MAX_IMPORT_BODY_BYTES,
)
async def import_households(
    request: Request, community_id: FromPath[str], data: JSONBody[ImportHouseholds], intake: NamedDependency[Intake]
) -> Response[dict[str, Any]]:
    """201 when any household was registered, 200 when all were already (a re-import)."""
    identity = caller(request, community_id, writes=True)
    context = CommandContext.new(community_id, identity.subject)
    try:
        imported = await handlers.import_households(intake, data, context)
    except HouseholdsDiffer as differ:
        raise _differing(differ) from differ
    except DomainError as error:
        raise problem_for(error) from error
    except ConcurrencyConflict as conflict:
        raise ProblemError("version_conflict") from conflict
    registered = sum(1 for item in imported if item.status == "registered")
    body = {
        "registered": registered,
        "already_present": len(imported) - registered,
        "households": [{"row": item.row, "id": item.household_id, "status": item.status} for item in imported],
    }
    return Response(body, status_code=201 if registered else 200)


def _differing(differ: HouseholdsDiffer) -> ProblemError:
    return ProblemError(
        differ.code,
        detail_zh=differ.detail_zh,
        detail_en=differ.detail_en,
        field_errors=[row_error(row, "姓名", "head", "household_differs", row=row, name=name) for row, name in differ.rows],
    )


routes = [import_households]
