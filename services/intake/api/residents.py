"""`/communities/{id}/residents/{id}`: merge a duplicate, erase; and opening sealed values
for the gateway (service identity only)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from pydantic import BaseModel, ConfigDict, Field

from services.intake.api.common import caller, problem_for
from services.intake.commands import ClearLabel, EraseResident, LabelResident, MergeResidents, MoveResident, RenewLabel
from services.intake.domain import DomainError
from services.intake.domain import residents as domain
from services.intake.handlers import Intake, VersionMismatch
from services.intake.handlers import residents as handlers
from shared.contracts.intake_residents import LABELS, sealed_field_names
from shared.identity import COMMUNITY_HEAD, REENTRY_DUTY
from shared.events import CommandContext
from shared.http import identity_of
from shared.problems import ProblemError

PATH = "/communities/{community_id:str}/residents/{resident_id:str}"


def _resident(state: domain.Resident, status: int = 200) -> Response[dict[str, Any]]:
    body = {
        "id": state.resident_id,
        "community_id": state.community_id,
        "household_id": state.household_id,
        "merged_into": state.merged_into,
        "absorbed": list(state.absorbed),
        "erased": state.erased,
        "labels": {
            name: {"since": label.since, "until": label.until, "cleared_on": label.cleared_on}
            for name, label in state.labels.items()
        },
        "version": state.version,
    }
    return Response(body, status_code=status, headers={"ETag": f'"{state.version}"'})


@post(f"{PATH}/merge", summary="Merge a duplicate record into this resident", tags=["residents"], status_code=200)
async def merge_residents(
    request: Request,
    community_id: FromPath[str],
    resident_id: FromPath[str],
    data: JSONBody[MergeResidents],
    intake: NamedDependency[Intake],
) -> Response[dict[str, Any]]:
    identity = caller(request, community_id, writes=True)
    context = CommandContext.new(community_id, identity.subject)
    try:
        survivor, duplicate = await handlers.merge_residents(intake, resident_id, data.duplicate_id, context)
    except DomainError as error:
        raise problem_for(error) from error
    answer = _resident(survivor)
    answer.content["duplicate"] = {"id": duplicate.resident_id, "version": duplicate.version}
    return answer


@post(f"{PATH}/move", summary="Move a resident to another household, or out of theirs", tags=["residents"], status_code=200)
async def move_resident(
    request: Request,
    community_id: FromPath[str],
    resident_id: FromPath[str],
    data: JSONBody[MoveResident],
    intake: NamedDependency[Intake],
) -> Response[dict[str, Any]]:
    identity = caller(request, community_id, writes=True)
    context = CommandContext.new(community_id, identity.subject)
    try:
        state, households = await handlers.move_resident(intake, resident_id, data, context)
    except DomainError as error:
        raise problem_for(error) from error
    answer = _resident(state)
    answer.content["households"] = [{"id": key, "version": version} for key, version in households.items()]
    return answer


@post(f"{PATH}/erase", summary="Erase a resident's personal data (crypto-shredding)", tags=["residents"], status_code=200)
async def erase_resident(
    request: Request,
    community_id: FromPath[str],
    resident_id: FromPath[str],
    data: JSONBody[EraseResident],
    intake: NamedDependency[Intake],
) -> Response[dict[str, Any]]:
    identity = caller(request, community_id, writes=True)
    if not identity.has_role(COMMUNITY_HEAD) and not identity.is_service:
        raise ProblemError("forbidden", detail_zh="只有社区负责人可以删除居民个人信息", detail_en="only the community head may erase a resident")
    context = CommandContext.new(community_id, identity.subject)
    try:
        state = await handlers.erase_resident(intake, resident_id, data.reason, context)
    except DomainError as error:
        raise problem_for(error) from error
    return _resident(state)


def _labels_caller(request: Request, community_id: str, label: str):  # noqa: ANN202
    identity = caller(request, community_id, writes=True)
    if label not in LABELS:
        raise ProblemError("not_found", detail_zh=f"没有“{label}”这类重点人群", detail_en=f"no such label: {label}")
    if label == "reentry" and not identity.has_duty(REENTRY_DUTY) and not identity.is_service:
        raise ProblemError(
            "forbidden",
            detail_zh="安置帮教信息仅限负有帮教职责的人员处理",
            detail_en="reentry support records are only for staff with that duty",
        )
    return identity


@post(f"{PATH}/labels", summary="Add a label (one of the book's ledgers 2–6)", tags=["residents"], status_code=201)
async def label_resident(
    request: Request,
    community_id: FromPath[str],
    resident_id: FromPath[str],
    data: JSONBody[LabelResident],
    intake: NamedDependency[Intake],
) -> Response[dict[str, Any]]:
    identity = _labels_caller(request, community_id, data.root.label)
    context = CommandContext.new(community_id, identity.subject)
    try:
        state = await handlers.label_resident(intake, resident_id, data.root, context)
    except (DomainError, VersionMismatch) as error:
        raise problem_for(error) from error
    return _resident(state, status=201)


@post(f"{PATH}/labels/{{label:str}}/clear", summary="Clear a label, with a reason and a date", tags=["residents"], status_code=200)
async def clear_label(
    request: Request,
    community_id: FromPath[str],
    resident_id: FromPath[str],
    label: FromPath[str],
    data: JSONBody[ClearLabel],
    intake: NamedDependency[Intake],
) -> Response[dict[str, Any]]:
    identity = _labels_caller(request, community_id, label)
    context = CommandContext.new(community_id, identity.subject)
    try:
        state = await handlers.clear_label(intake, resident_id, label, data, context)
    except (DomainError, VersionMismatch) as error:
        raise problem_for(error) from error
    return _resident(state)


@post(f"{PATH}/labels/{{label:str}}/renew", summary="Extend a label's support period", tags=["residents"], status_code=200)
async def renew_label(
    request: Request,
    community_id: FromPath[str],
    resident_id: FromPath[str],
    label: FromPath[str],
    data: JSONBody[RenewLabel],
    intake: NamedDependency[Intake],
) -> Response[dict[str, Any]]:
    identity = _labels_caller(request, community_id, label)
    context = CommandContext.new(community_id, identity.subject)
    try:
        state = await handlers.renew_label(intake, resident_id, label, data, context)
    except (DomainError, VersionMismatch) as error:
        raise problem_for(error) from error
    return _resident(state)


class SealedValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sealed: Annotated[str, Field(max_length=2000)]
    field: Annotated[str, Field(max_length=50)]


class OpenSealed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    items: Annotated[list[SealedValue], Field(max_length=2000)]


@post("/sealed/open", summary="Plaintexts of sealed values (gateway only)", tags=["internal"], status_code=200)
async def open_sealed(request: Request, data: JSONBody[OpenSealed], intake: NamedDependency[Intake]) -> dict[str, Any]:
    """The gateway decides who may see what, and logs every whole view it shows."""
    if not identity_of(request, request.app.state.identities).is_service:
        raise ProblemError("forbidden")
    unknown = sorted({item.field for item in data.items} - set(sealed_field_names()))
    if unknown:
        raise ProblemError(
            "bad_request", detail_zh=f"不是加密字段：{unknown}", detail_en=f"not sealed fields: {unknown}"
        )
    try:
        values = await handlers.open_sealed(intake, [(item.sealed, item.field) for item in data.items])
    except ValueError as error:  # BrokenSeal
        raise ProblemError("bad_request", detail_zh="加密值无效", detail_en=str(error)) from error
    return {"values": values}


routes = [merge_residents, move_resident, erase_resident, label_resident, clear_label, renew_label, open_sealed]
