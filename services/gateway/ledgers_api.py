"""`/api/v1/communities/{community_id}/ledgers/{ledger}`: a ledger of the book, as JSON rows
or (`?format=xlsx`) as the spreadsheet laid out like the paper form.

A ledger is a document of the whole community, not a page of a list: JSON and xlsx
hold the same rows in the same order with the same 户号, read in one consistent query,
so a ledger is never torn between pages while households are being registered.

Personal data: JSON rows show phones masked, as lists do. The spreadsheet is the book a
worker prints and telephones from: whole for community workers and heads, every person
in it logged in the audit trail (one row per person, as for any whole view, so a
resident's accesses are found by the resident); masked for everyone else.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from litestar import Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, Parameter

from services.gateway.settings import GatewaySettings
from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.ledger_sources import LEDGERS, Ledger, Record
from services.gateway.ledgers.xlsx import write_ledger
from services.gateway.org import recent_org_chart
from services.gateway.personal_data import PersonalData
from services.gateway.scope import check_collection
from shared.deadlines import china_date, clock_from_settings
from shared.identity import REENTRY_DUTY
from shared.problems import ProblemError

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PEOPLE_PER_OPENING = 2_000
"""Persons whose sealed fields one call to intake opens: keeps the call under its body limit."""


@get(
    "/api/v1/communities/{community_id:str}/ledgers/{ledger:str}",
    summary="A ledger of the book (台账): JSON rows, or ?format=xlsx laid out like the paper form",
    tags=["ledgers"],
    dependencies={"identity": Provide(current_identity)},
)
async def get_ledger(
    community_id: FromPath[str],
    ledger: FromPath[str],
    identity: Caller,
    gateway_engine: GatewayEngine,
    personal_data: NamedDependency[PersonalData],
    settings: NamedDependency[GatewaySettings],
    format: Literal["json", "xlsx"] = Parameter(default="json", description="json (rows) or xlsx (the form)"),  # noqa: A002
) -> Response[Any]:
    """Ledgers: `household_survey` (社情民意统计表), `hardship` (困难群众), `unemployed` (下岗失业人员),
    `elderly_alone` (空巢及孤寡老人), `veteran_hardship` (困难军转干部), `reentry` (“两劳”人员,
    only with the reentry duty). Ledgers 2–6 list the residents whose label is active today.
    Mediation: `mediation_record` (调解矛盾纠纷记录表, one row per session), `mediators`
    (辖区调解员情况统计表), `mediation_units` (辖区单位参与调解责任表)."""
    await check_collection(gateway_engine, identity, community_id)
    source = _ledger(ledger, identity)
    as_of = china_date(clock_from_settings(settings))
    records = await source.read(gateway_engine, community_id, as_of)
    resource = f"/api/v1/communities/{community_id}/ledgers/{ledger}" + ("?format=xlsx" if format == "xlsx" else "")
    records = await _shown(source, personal_data, identity, community_id, records, resource, whole=format == "xlsx")
    community = (await recent_org_chart(gateway_engine)).community(community_id)
    if format == "xlsx":
        content = write_ledger(source.layout, records, community.name if community else community_id, as_of)
        filename = f"{source.layout.title}-{community.name if community else community_id}-{as_of}.xlsx"
        fallback = f"{source.layout.name}-{community_id}-{as_of}.xlsx"
        return Response(
            content, media_type=XLSX_MEDIA_TYPE, headers={"Content-Disposition": content_disposition(filename, fallback)}
        )
    return Response({
        "ledger": source.layout.name,
        "title": source.layout.title,
        "community_id": community_id,
        "as_of": as_of.isoformat(),
        "columns": [{"key": column.key, "header": column.header} for column in source.layout.columns],
        "rows": list(source.rows(records)),
    })


def _ledger(name: str, identity: Caller) -> Ledger:
    source = LEDGERS.get(name)
    if source is None:
        known = "、".join(LEDGERS)
        raise ProblemError("not_found", detail_zh=f"没有台账 {name}（有：{known}）", detail_en=f"no ledger {name} (there are: {known})")
    if source.layout.restricted and not identity.has_duty(REENTRY_DUTY):
        raise ProblemError("forbidden", detail_zh="此台账仅限有帮教职责的人员查看", detail_en="this ledger is for reentry duties only")
    return source


async def _shown(
    source: Ledger,
    personal_data: PersonalData,
    identity: Caller,
    community_id: str,
    records: list[Record],
    resource: str,
    *,
    whole: bool,
) -> list[Record]:
    """The records with personal data opened, masked or whole (and logged), a few thousand
    persons per call to intake."""
    shown: list[Record] = []
    start = 0
    while start < len(records):
        batch, people = [], 0
        while start < len(records) and (not batch or people < PEOPLE_PER_OPENING):
            batch.append(records[start])
            people += len(source.people(records[start]))
            start += 1
        persons = [person for record in batch for person in source.people(record)]
        opened = iter(
            await personal_data.show(identity, community_id, persons, resource, whole=whole, fields=source.sealed,
                                     subject=source.subject, service=source.service)
        )
        shown += [source.with_people(record, [next(opened) for _ in source.people(record)]) for record in batch]
    return shown


def content_disposition(filename: str, fallback: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients, the real name as `filename*` (RFC 5987)."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


ledger_routes = [get_ledger]
