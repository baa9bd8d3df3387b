"""`/communities/{id}/mediators` and `/communities/{id}/mediation-units`: the rosters, each
entry registered (POST), read (GET), changed (PUT, If-Match) and removed (DELETE, If-Match);
and `/sealed/open`, the gateway's way to the phones sealed here."""

# No `from __future__ import annotations`: `_routes` builds handlers whose body types are
# closure variables, which Litestar can resolve only from annotations already evaluated.
from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody
from pydantic import BaseModel, ConfigDict, Field

from services.mediation.api.common import caller, expected_version, problem_for, record
from services.mediation.domain import DomainError
from services.mediation.handlers import VersionMismatch
from services.mediation.handlers import rosters as handlers
from shared.contracts.mediation_rosters import (
    ChangeMediationUnit,
    ChangeMediator,
    RegisterMediationUnit,
    RegisterMediator,
    RemoveFromRoster,
    roster_id,
)
from shared.events import CommandContext
from shared.eventstore import EventStore
from shared.http import identity_of
from shared.problems import ProblemError
from shared.sealing import BrokenSeal, Sealer

IfMatch = Annotated[str | None, HeaderParameter(name="If-Match")]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]


def _routes(kind: str, path: str, register_command: type, change_command: type, label: str) -> list:
    collection = "/communities/{community_id:str}/" + path
    one = collection + "/{entry_id:str}"
    operation = path.replace("-", "_")

    @post(collection, summary=f"Register a {label}", tags=["rosters"], operation_id=f"{operation}_register")
    async def register(
        request: Request, community_id: FromPath[str], data: JSONBody[register_command],  # type: ignore[valid-type]
        store: NamedDependency[EventStore], sealer: NamedDependency[Sealer], idempotency_key: IdempotencyKey = None,
    ) -> Response[dict[str, Any]]:
        identity = caller(request, community_id, writes=True)
        entry_id = roster_id(community_id, kind, idempotency_key)
        try:
            state, created = await handlers.register(
                store, sealer, kind, entry_id, data, CommandContext.new(community_id, identity.subject)
            )
        except DomainError as error:
            raise problem_for(error) from error
        return record(state.document, state.version, 201 if created else 200)

    @get(one, summary=f"One {label}", tags=["rosters"], operation_id=f"{operation}_get")
    async def get_one(
        request: Request, community_id: FromPath[str], entry_id: FromPath[str], store: NamedDependency[EventStore]
    ) -> Response[dict[str, Any]]:
        caller(request, community_id, writes=False)
        try:
            state = await handlers.get(store, kind, entry_id, community_id)
        except DomainError as error:
            raise problem_for(error) from error
        return record(state.document, state.version, 200)

    @put(one, summary=f"Change a {label} (every field; send the version in If-Match)", tags=["rosters"],
         operation_id=f"{operation}_change")
    async def change(
        request: Request, community_id: FromPath[str], entry_id: FromPath[str], data: JSONBody[change_command],  # type: ignore[valid-type]
        store: NamedDependency[EventStore], sealer: NamedDependency[Sealer], if_match: IfMatch = None,
    ) -> Response[dict[str, Any]]:
        identity = caller(request, community_id, writes=True)
        version = expected_version(if_match)
        try:
            state = await handlers.change(
                store, sealer, kind, entry_id, version, data, CommandContext.new(community_id, identity.subject)
            )
        except (DomainError, VersionMismatch) as error:
            raise problem_for(error) from error
        return record(state.document, state.version, 200)

    @post(one + "/remove", summary=f"Remove a {label} from the roster (send the version in If-Match)",
          tags=["rosters"], status_code=200, operation_id=f"{operation}_remove")
    async def remove(
        request: Request, community_id: FromPath[str], entry_id: FromPath[str], data: JSONBody[RemoveFromRoster],
        store: NamedDependency[EventStore], if_match: IfMatch = None,
    ) -> Response[dict[str, Any]]:
        identity = caller(request, community_id, writes=True)
        version = expected_version(if_match)
        try:
            state = await handlers.remove(
                store, kind, entry_id, version, data.reason, CommandContext.new(community_id, identity.subject)
            )
        except (DomainError, VersionMismatch) as error:
            raise problem_for(error) from error
        return record(state.document, state.version, 200)

    return [register, get_one, change, remove]


class SealedValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sealed: Annotated[str, Field(max_length=2000)]
    field: Annotated[str, Field(max_length=50)]


class OpenSealed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    items: Annotated[list[SealedValue], Field(max_length=2000)]


@post("/sealed/open", summary="Plaintexts of the rosters' sealed phones (gateway only)", tags=["internal"],
      status_code=200)
async def open_sealed(request: Request, data: JSONBody[OpenSealed], sealer: NamedDependency[Sealer]) -> dict[str, Any]:
    """The gateway decides who may see what, and logs every whole view it shows."""
    if not identity_of(request, request.app.state.identities).is_service:
        raise ProblemError("forbidden")
    if unknown := sorted({item.field for item in data.items} - {"phone"}):
        raise ProblemError("bad_request", detail_zh=f"不是加密字段：{unknown}", detail_en=f"not sealed fields: {unknown}")
    try:
        values = await sealer.unseal_many([(item.sealed, item.field) for item in data.items])
    except BrokenSeal as error:
        raise ProblemError("bad_request", detail_zh="加密值无效", detail_en=str(error)) from error
    return {"values": values}


routes = [
    *_routes("mediator", "mediators", RegisterMediator, ChangeMediator, "mediator (调解员)"),
    *_routes("unit", "mediation-units", RegisterMediationUnit, ChangeMediationUnit,
             "unit sharing mediation duty (参与调解单位)"),
    open_sealed,
]
