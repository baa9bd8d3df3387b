"""What every mediation endpoint shares: the caller's scope, If-Match, and domain errors as problems."""

from __future__ import annotations

from litestar import Request

from services.mediation.domain import DomainError
from services.mediation.handlers import VersionMismatch
from services.mediation.domain.dispute_rules import Actor
from shared.contracts.mediation import can_act_for_street, can_work_on_disputes, can_write_disputes
from shared.contracts.mediation_changes import COMMUNITY, STREET
from shared.identity import Identity
from shared.problems import ProblemError
from shared.service_api import checked_caller, expected_version, record, rule_problem, stale_version_problem

__all__ = ["acting_caller", "caller", "expected_version", "problem_for", "record"]


def problem_for(error: DomainError | VersionMismatch) -> ProblemError:
    """Every domain error of mediation as the problem a client sees, in one place."""
    if isinstance(error, VersionMismatch):
        return stale_version_problem(error.current)
    return rule_problem(error)


def caller(request: Request, community_id: str, *, writes: bool) -> Identity:
    """Community workers, heads and mediators write in their community; whoever may see it reads."""
    return checked_caller(request, community_id, writes=writes, may_write=can_write_disputes)


def acting_caller(request: Request, community_id: str) -> tuple[Identity, Actor]:
    """Whoever may act on the community's cases, and for whom: a street officer of its street
    for the street centre, anyone else for the community; the case decides whether it is theirs."""
    identity = checked_caller(request, community_id, writes=True, may_write=can_work_on_disputes)
    street = can_act_for_street(identity, community_id) and not can_write_disputes(identity, community_id)
    return identity, Actor(STREET if street else COMMUNITY, identity.shown_name)
