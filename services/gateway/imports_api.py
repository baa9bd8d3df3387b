"""`POST /api/v1/communities/{community_id}/households/import`: households from a survey sheet
(社情民意统计表, the layout `GET …/ledgers/household_survey?format=xlsx` writes).

The gateway reads and checks the whole sheet first: any bad cell and the answer is 422
listing every one (row, column, field, message), and nothing is sent on. A clean sheet
goes to intake as one command, registered in one transaction: all households or none.
Importing a file again registers nobody twice (households are matched by their natural
key); a household registered since with other content makes the import 409, naming its
row, and again nothing is written. The answer comes once the read model shows the
imported households, or after a wait that grows with their number.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from litestar import Request, Response, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.forward import ServiceClient, passthrough
from services.gateway.ledgers.cells import SheetError
from services.gateway.ledgers.xlsx import read_households
from services.gateway.scope import writable_collection
from services.gateway.settings import GatewaySettings
from services.gateway.views.households import households
from shared.problems import ProblemError, Text, field_error
from shared.row_errors import RowError

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_SHEET_BYTES = 32 * 1024 * 1024
"""A survey of 10,000 households is about 2 MB; beyond this the upload is refused (413)."""
IMPORT_TIMEOUT_S = 300.0
"""How long the gateway waits for intake to register a whole sheet (the default is 10 s)."""
WAIT_S_PER_HOUSEHOLD = 0.002
"""Added to the usual read-your-writes wait for each household registered."""


@dataclass
class SheetUpload(Operation):
    """The request body as OpenAPI documents it: the file as a multipart field or the raw body."""

    def __post_init__(self) -> None:
        binary = Schema(type="string", format="binary")  # type: ignore[arg-type]
        self.request_body = RequestBody(
            required=True,
            description="The household survey as .xlsx: multipart field `file`, or the raw file with its media type.",
            content={
                RequestEncodingType.MULTI_PART: OpenAPIMediaType(
                    schema=Schema(type="object", properties={"file": binary}, required=["file"])  # type: ignore[arg-type]
                ),
                XLSX_MEDIA_TYPE: OpenAPIMediaType(schema=binary),
            },
        )


def import_client(settings: GatewaySettings) -> ServiceClient:
    """The client for bulk commands: one sheet can keep intake busy for many seconds."""
    return ServiceClient(settings.service_urls(), settings.secret, timeout_s=IMPORT_TIMEOUT_S)


@post(
    "/api/v1/communities/{community_id:str}/households/import",
    summary="Import households from a survey sheet (.xlsx), all or none",
    tags=["households"],
    dependencies={"identity": Provide(current_identity), "in_scope": Provide(writable_collection)},
    request_max_body_size=MAX_SHEET_BYTES,
    operation_class=SheetUpload,
)
async def import_households(
    request: Request,
    community_id: FromPath[str],
    identity: Caller,
    gateway_engine: GatewayEngine,
    import_services: NamedDependency[ServiceClient],
    settings: NamedDependency[GatewaySettings],
    in_scope: NamedDependency[None],
) -> Response[Any]:
    """201 `{registered, already_present, households: [{row, id, status}], visible}` when any
    household was registered, 200 when all were already; 422 listing every bad cell; 409 when
    a household is registered with other content; 413 for a file over 32 MB."""
    parsed, errors = await anyio.to_thread.run_sync(read_households, await _sheet(request))
    if errors:
        raise ProblemError(
            "import_failed",
            detail_zh=f"表中有 {len(errors)} 处需要修改，未导入任何家庭",
            detail_en=f"{len(errors)} cells need correcting; nothing was imported",
            field_errors=[_row_error(error) for error in errors],
        )
    body = json.dumps(
        {"households": [{"row": p.row, "key": p.key, "household": p.household} for p in parsed]}, ensure_ascii=False
    ).encode()
    headers = {"content-type": "application/json", "accept-language": request.headers.get("accept-language", "")}
    path = f"/communities/{community_id}/households/import"
    answer = await import_services.send("intake", "POST", path, identity, body=body, headers=headers)
    if answer.status_code >= 300:
        return passthrough(answer)
    result = answer.json()
    registered = [item["id"] for item in result["households"] if item["status"] == "registered"]
    visible = True
    if settings.read_your_writes_s > 0:
        wait_s = settings.read_your_writes_s + WAIT_S_PER_HOUSEHOLD * len(registered)
        visible = await wait_for_households(gateway_engine, community_id, registered, wait_s)
    return Response({**result, "visible": visible}, status_code=answer.status_code)


async def _sheet(request: Request) -> bytes:
    content_type, _ = request.content_type
    if content_type != RequestEncodingType.MULTI_PART:
        return await request.body()
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile):
        raise ProblemError("validation_failed", field_errors=[field_error("file", "missing")])
    return await upload.read()


def _row_error(error: SheetError) -> RowError:
    return RowError(error.field, error.code, Text(error.message_zh, error.message_en), error.row, error.column)


async def wait_for_households(engine: AsyncEngine, community_id: str, ids: list[str], timeout_s: float) -> bool:
    """Whether the read model shows every household of `ids` within `timeout_s`; each poll
    asks only about those not seen yet."""
    deadline = time.monotonic() + timeout_s
    pending = set(ids)
    delay = 0.01
    while pending:
        async with engine.connect() as conn:
            for chunk in _chunks(sorted(pending), 500):
                query = select(households.c.id).where(households.c.community_id == community_id, households.c.id.in_(chunk))
                pending.difference_update((await conn.execute(query)).scalars())
        if not pending or time.monotonic() >= deadline:
            break
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)
    return not pending


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


import_routes = [import_households]
