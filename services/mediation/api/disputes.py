"""`/communities/{id}/disputes`: dispute cases and the actions of their workflow."""

# No `from __future__ import annotations`: `_action` builds handlers whose body type is a
# closure variable, which Litestar can resolve only from an annotation already evaluated.
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from services.mediation.api.common import acting_caller, caller, expected_version, problem_for, record
from services.mediation.domain import DomainError
from services.mediation.domain import dispute_changes as changes
from services.mediation.domain import disputes as domain
from services.mediation.handlers import VersionMismatch
from services.mediation.handlers import disputes as handlers
from services.mediation.handlers import rosters as roster_handlers
from shared.contracts.mediation_requests import (
    AcceptDispute,
    AmendDispute,
    AssignBackDispute,
    CloseDispute,
    RecordAgreement,
    RecordFollowUp,
    RecordInvestigation,
    RecordSession,
    RefuseMediation,
    RegisterDispute,
    TakeOverDispute,
    TransferDispute,
)
from shared.events import CommandContext
from shared.eventstore import EventStore
from shared.identity import Identity

PATH = "/communities/{community_id:str}/disputes"
ONE = PATH + "/{dispute_id:str}"
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match")]


@post(PATH, summary="Register a dispute (纠纷登记)", tags=["disputes"])
async def register_dispute(
    request: Request,
    community_id: FromPath[str],
    data: JSONBody[RegisterDispute],
    store: NamedDependency[EventStore],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
) -> Response[dict[str, Any]]:
    identity = caller(request, community_id, writes=True)
    dispute_id = handlers.new_dispute_id(community_id, idempotency_key)
    try:
        state, created = await handlers.register_dispute(
            store, dispute_id, data, CommandContext.new(community_id, identity.subject)
        )
    except DomainError as error:
        raise problem_for(error) from error
    return record(state.document, state.version, 201 if created else 200)


@get(ONE, summary="One case", tags=["disputes"])
async def get_dispute(
    request: Request, community_id: FromPath[str], dispute_id: FromPath[str], store: NamedDependency[EventStore]
) -> Response[dict[str, Any]]:
    caller(request, community_id, writes=False)
    try:
        state = await handlers.get_dispute(store, dispute_id, community_id)
    except DomainError as error:
        raise problem_for(error) from error
    return record(state.document, state.version, 200)


async def _act(identity: Identity, community_id: str, dispute_id: str, store: EventStore, if_match: str | None, decide):
    version = expected_version(if_match)
    context = CommandContext.new(community_id, identity.subject)
    try:
        state = await handlers.act(store, dispute_id, version, decide, context)
    except (DomainError, VersionMismatch) as error:
        raise problem_for(error) from error
    return record(state.document, state.version, 200)


def _action(name: str, summary: str, command: type, decide):
    """`POST …/{dispute_id}/{name}` with `command` as its body; `decide(state, id, community, body, actor)`."""

    @post(ONE + "/" + name, summary=summary + " (send the version in If-Match)", tags=["disputes"], status_code=200,
          operation_id=f"dispute_{name.replace('-', '_')}")
    async def action(
        request: Request, community_id: FromPath[str], dispute_id: FromPath[str], data: JSONBody[command],  # type: ignore[valid-type]
        store: NamedDependency[EventStore], if_match: IfMatch = None,
    ) -> Response[dict[str, Any]]:
        identity, by = acting_caller(request, community_id)
        if isinstance(data, RecordSession):  # the roster ids it names are checked first
            try:
                await roster_handlers.check_session(store, community_id, data)
            except DomainError as error:
                raise problem_for(error) from error
        return await _act(
            identity, community_id, dispute_id, store, if_match,
            lambda state: decide(state, dispute_id, community_id, data, by),
        )

    return action


ACTIONS = (
    ("accept", "Accept the case and designate its mediators (受理)", AcceptDispute, domain.accept),
    ("investigations", "Add an investigation record (调查收集情况)", RecordInvestigation, domain.investigate),
    ("sessions", "Record a mediation session (正式调解)", RecordSession, domain.hold_session),
    ("agreement", "Record the agreement and its clauses (调解协议)", RecordAgreement, domain.agree),
    ("follow-ups", "Record a follow-up visit and the clauses fulfilled (回访)", RecordFollowUp, domain.follow_up),
    ("transfer", "Transfer to the street's grand-mediation centre (移送街道)", TransferDispute, domain.transfer),
    ("refuse", "A party refuses mediation: the case closes (art. 17)", RefuseMediation, domain.refuse),
    ("close", "Close and file the case (结案归档)", CloseDispute, domain.close),
    ("amend", "Correct the category, cause, parties or place (更正案情)", AmendDispute, changes.amend),
    ("take-over", "A street officer takes the transferred case over (街道接手)", TakeOverDispute, changes.take_over),
    ("assign-back", "A street officer assigns the case back to the community (街道交办)", AssignBackDispute,
     changes.assign_back),
)

routes = [register_dispute, get_dispute, *(_action(*action) for action in ACTIONS)]
