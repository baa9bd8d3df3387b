"""What every service's endpoints share: the caller checked again, If-Match, and a
refused command as the problem a client sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from litestar import Request, Response

from shared.http import identity_of
from shared.identity import Identity
from shared.problems import ProblemError


class BrokenRule(Protocol):
    """A service's domain error: a code of `shared.problems` and the reason in both languages."""

    code: str
    detail_zh: str
    detail_en: str


def rule_problem(error: BrokenRule) -> ProblemError:
    return ProblemError(error.code, detail_zh=error.detail_zh, detail_en=error.detail_en)


def stale_version_problem(current: int) -> ProblemError:
    """412: the record moved on since the client read it."""
    return ProblemError(
        "precondition_failed",
        detail_zh=f"该记录当前版本为 {current}，已被他人修改，请刷新后重试",
        detail_en=f"the record is now at version {current}: someone else changed it; reload and retry",
        headers={"ETag": f'"{current}"'},
    )


def expected_version(if_match: str | None) -> int:
    """The version an `If-Match` header names (428 without one)."""
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


def checked_caller(
    request: Request,
    community_id: str,
    *,
    writes: bool,
    may_write: Callable[[Identity, str], bool] = Identity.can_write,
) -> Identity:
    """The gateway-signed caller, its scope checked again here: `may_write` for writes,
    seeing the community for reads; another community's is not found, a read-only
    caller's write forbidden."""
    identity = identity_of(request, request.app.state.identities)
    allowed = may_write(identity, community_id) if writes else identity.can_see(community_id)
    if not allowed and not identity.is_service:
        raise ProblemError("forbidden" if identity.can_see(community_id) else "not_found")
    return identity


def record(document: dict[str, Any], version: int, status: int) -> Response[dict[str, Any]]:
    """A record and its version as the ETag."""
    return Response(document, status_code=status, headers={"ETag": f'"{version}"'})
