"""`/communities/{id}/reports`: sentiment reports and their actions (triage, reply, close, links)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from services.intake.api.common import caller, expected_version, problem_for, record
from services.intake.domain import DomainError
from services.intake.domain import reports as domain
from services.intake.handlers import VersionMismatch
from services.intake.handlers import reports as handlers
from shared.contracts.intake_reports import CloseReport, LinkReport, ReplyToReporter, ReportSentiment, TriageReport
from shared.deadlines import Clock, DeadlinePolicy
from shared.events import CommandContext
from shared.eventstore import EventStore
from shared.sealing import Sealer

PATH = "/communities/{community_id:str}/reports"
ONE = PATH + "/{report_id:str}"
log = logging.getLogger(__name__)
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match")]


@post(PATH, summary="Record a sentiment report", tags=["reports"])
async def report_sentiment(
    request: Request,
    community_id: FromPath[str],
    data: JSONBody[ReportSentiment],
    store: NamedDependency[EventStore],
    sealer: NamedDependency[Sealer],
    deadline_policy: NamedDependency[DeadlinePolicy],
    clock: NamedDependency[Clock],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
) -> Response[dict[str, Any]]:
    identity = caller(request, community_id, writes=True)
    report_id = handlers.new_report_id(community_id, idempotency_key)
    context = CommandContext.new(community_id, identity.subject)
    try:
        state, created = await handlers.report_sentiment(
            store, sealer, deadline_policy, clock, report_id, data, context
        )
    except DomainError as error:
        raise problem_for(error) from error
    return record(state.document, state.version, 201 if created else 200)


@get(ONE, summary="One report", tags=["reports"])
async def get_report(
    request: Request, community_id: FromPath[str], report_id: FromPath[str], store: NamedDependency[EventStore]
) -> Response[dict[str, Any]]:
    caller(request, community_id, writes=False)
    try:
        state = await handlers.get_report(store, report_id, community_id)
    except DomainError as error:
        raise problem_for(error) from error
    return record(state.document, state.version, 200)


@get(ONE + "/reporter", summary="The reporter whole, unmasked (writers only; every view is logged)", tags=["reports"])
async def get_reporter(
    request: Request,
    community_id: FromPath[str],
    report_id: FromPath[str],
    store: NamedDependency[EventStore],
    sealer: NamedDependency[Sealer],
) -> dict[str, Any]:
    identity = caller(request, community_id, writes=True)
    try:
        state = await handlers.get_report(store, report_id, community_id)
    except DomainError as error:
        raise problem_for(error) from error
    log.info("whole view: reporter of report %s by %s", report_id, identity.subject)
    return await handlers.unsealed_reporter(sealer, state)


async def _act(request: Request, community_id: str, report_id: str, store: EventStore, if_match: str | None, decide):
    identity = caller(request, community_id, writes=True)
    version = expected_version(if_match)
    context = CommandContext.new(community_id, identity.subject)
    try:
        state = await handlers.act(store, report_id, version, decide, context)
    except (DomainError, VersionMismatch) as error:
        raise problem_for(error) from error
    return record(state.document, state.version, 200)


@post(ONE + "/triage", summary="Triage: classify and route", tags=["reports"], status_code=200)
async def triage_report(
    request: Request, community_id: FromPath[str], report_id: FromPath[str], data: JSONBody[TriageReport],
    store: NamedDependency[EventStore], if_match: IfMatch = None,
) -> Response[dict[str, Any]]:
    decide = lambda state: domain.triage(state, report_id, community_id, data)  # noqa: E731
    return await _act(request, community_id, report_id, store, if_match, decide)


@post(ONE + "/reply", summary="Reply to the reporter", tags=["reports"], status_code=200)
async def reply_to_reporter(
    request: Request, community_id: FromPath[str], report_id: FromPath[str], data: JSONBody[ReplyToReporter],
    store: NamedDependency[EventStore], if_match: IfMatch = None,
) -> Response[dict[str, Any]]:
    decide = lambda state: domain.reply(state, report_id, community_id, data)  # noqa: E731
    return await _act(request, community_id, report_id, store, if_match, decide)


@post(ONE + "/close", summary="Close the report", tags=["reports"], status_code=200)
async def close_report(
    request: Request, community_id: FromPath[str], report_id: FromPath[str], data: JSONBody[CloseReport],
    store: NamedDependency[EventStore], if_match: IfMatch = None,
) -> Response[dict[str, Any]]:
    decide = lambda state: domain.close(state, report_id, community_id, data)  # noqa: E731
    return await _act(request, community_id, report_id, store, if_match, decide)


@post(ONE + "/links", summary="Mark the report as a duplicate of another", tags=["reports"], status_code=200)
async def link_report(
    request: Request, community_id: FromPath[str], report_id: FromPath[str], data: JSONBody[LinkReport],
    store: NamedDependency[EventStore], if_match: IfMatch = None,
) -> Response[dict[str, Any]]:
    target = await handlers.load_report(store, data.report_id)
    decide = lambda state: domain.link(state, report_id, community_id, target, data.report_id)  # noqa: E731
    return await _act(request, community_id, report_id, store, if_match, decide)


routes = [report_sentiment, get_report, get_reporter, triage_report, reply_to_reporter, close_report, link_report]
