"""What every mediation endpoint shares: the caller's scope, If-Match, and domain errors as problems."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from services.mediation.domain import DomainError
from services.mediation.handlers import VersionMismatch
from shared.contracts.mediation import can_write_disputes
from shared.http import identity_of
from shared.identity import Identity
from shared.problems import ProblemError


def problem_for(error: DomainError | VersionMismatch) -> ProblemError:
    """Every domain error of mediation as the problem a client sees, in one place."""
    if isinstance(error, VersionMismatch):
        return ProblemError(
            "precondition_failed",
            detail_zh=f"该记录当前版本为 {error.current}，已被他人修改，请刷新后重试",
            detail_en=f"the record is now at version {error.current}: someone else changed it; reload and retry",
            headers={"ETag": f'"{error.current}"'},
        )
    return ProblemError(error.code, detail_zh=error.detail_zh, detail_en=error.detail_en)


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


def caller(request: Request, community_id: str, *, writes: bool) -> Identity:
    """The gateway-signed caller, checked again here: community workers, heads and mediators
    write in their community; whoever may see it reads."""
    identity = identity_of(request, request.app.state.identities)
    allowed = can_write_disputes(identity, community_id) if writes else identity.can_see(community_id)
    if not allowed and not identity.is_service:
        raise ProblemError("forbidden" if identity.can_see(community_id) else "not_found")
    return identity


def record(document: dict[str, Any], version: int, status: int) -> Response[dict[str, Any]]:
    return Response(document, status_code=status, headers={"ETag": f'"{version}"'})
