"""What every mediation endpoint shares: the caller's scope, If-Match, and domain errors as problems."""

from __future__ import annotations

from litestar import Request

from services.mediation.domain import DomainError
from services.mediation.handlers import VersionMismatch
from shared.contracts.mediation import can_write_disputes
from shared.identity import Identity
from shared.problems import ProblemError
from shared.service_api import checked_caller, expected_version, record, rule_problem, stale_version_problem

__all__ = ["caller", "expected_version", "problem_for", "record"]


def problem_for(error: DomainError | VersionMismatch) -> ProblemError:
    """Every domain error of mediation as the problem a client sees, in one place."""
    if isinstance(error, VersionMismatch):
        return stale_version_problem(error.current)
    return rule_problem(error)


def caller(request: Request, community_id: str, *, writes: bool) -> Identity:
    """Community workers, heads and mediators write in their community; whoever may see it reads."""
    return checked_caller(request, community_id, writes=writes, may_write=can_write_disputes)
