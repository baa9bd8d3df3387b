"""The information network: form a team, join, leave; form a party group, place a member;
hold a sentiment meeting, whose items become reports in the same transaction."""

from __future__ import annotations

from collections.abc import Callable

from services.intake.domain import network as domain
from services.intake.domain import reports as report_domain
from services.intake.domain import residents as resident_domain
from services.intake.handlers import VersionMismatch
from services.intake.handlers.reports import sealed_reporter
from shared.contracts.intake_network import (
    HoldSentimentMeeting,
    InfoOfficerJoined,
    JoinInfoOfficerTeam,
    item_report_id,
    meeting_stream,
    officer_subject,
)
from shared.contracts.intake_reports import REPLY_STEP, TRIAGE_STEP, Reporter, ReportSentiment, report_stream
from shared.contracts.intake_residents import resident_stream
from shared.deadlines import Clock, DeadlinePolicy
from shared.events import CommandContext, DomainEvent
from shared.eventstore import ConcurrencyConflict, EventStore, StreamAppend
from shared.masking import mask_phone
from shared.sealing import Sealer

Decision = Callable[[domain.Record], list[DomainEvent]]


async def load(store: EventStore, stream: str) -> domain.Record:
    return domain.replay(await store.load(stream))


async def create(store: EventStore, stream: str, decide: Decision, context: CommandContext) -> tuple[domain.Record, bool]:
    """A new record (or a retried one): the record, and whether this call wrote it."""
    state = await load(store, stream)
    events = decide(state)
    try:
        appended = await store.append(stream, state.version, events, context)
    except ConcurrencyConflict:
        return await create(store, stream, decide, context)
    return _after(state, appended), bool(appended)


async def act(
    store: EventStore, stream: str, expected_version: int | None, decide: Decision, context: CommandContext
) -> domain.Record:
    """A change at `expected_version` (the caller's If-Match; None: at whatever version is current)."""
    state = await load(store, stream)
    events = decide(state)
    if expected_version is not None and state.version != expected_version:
        raise VersionMismatch(state.version)
    try:
        appended = await store.append(stream, state.version, events, context)
    except ConcurrencyConflict as conflict:
        if expected_version is None:
            return await act(store, stream, None, decide, context)
        raise VersionMismatch(await store.stream_version(stream)) from conflict
    return _after(state, appended)


async def check_residents(store: EventStore, community_id: str, resident_ids: list[str | None]) -> None:
    """Every id names a resident of this community who is still in the registry."""
    for resident_id in dict.fromkeys(r for r in resident_ids if r):
        resident = resident_domain.replay(resident_id, await store.load(resident_stream(resident_id)))
        if not resident.exists or resident.community_id != community_id or resident.erased or resident.merged_into:
            raise domain.NotAResident(resident_id)


async def joined_member(sealer: Sealer, team_id: str, member_id: str, command: JoinInfoOfficerTeam) -> InfoOfficerJoined:
    """The join event, a named person's phone sealed under the member's own subject."""
    person = {"resident_id": command.resident_id, "name": command.name}
    if command.phone is not None:
        sealed = await sealer.seal(officer_subject(member_id), "phone", command.phone)
        person |= {"phone": sealed, "phone_masked": mask_phone(command.phone)}
    return InfoOfficerJoined(
        team_id=team_id, member_id=member_id, role=command.role, joined_on=command.joined_on.isoformat(),
        remarks=command.remarks, **person,
    )


async def hold_meeting(
    store: EventStore, sealer: Sealer, policy: DeadlinePolicy, clock: Clock,
    meeting_id: str, command: HoldSentimentMeeting, context: CommandContext,
) -> tuple[domain.Record, bool]:
    """The meeting and one `meeting` report per item, all in one transaction or none."""
    state, community_id, now = await load(store, meeting_stream(meeting_id)), context.community_id, clock.now()
    report_ids = [item_report_id(meeting_id, index) for index in range(len(command.items))]
    events = domain.hold_meeting(state, meeting_id, community_id, command, report_ids)
    appends = [StreamAppend(meeting_stream(meeting_id), state.version, events)]
    if events:
        due = {step: policy.due(community_id, step, now) for step in (TRIAGE_STEP, REPLY_STEP)}
        for item, report_id in zip(command.items, report_ids, strict=True):
            report = ReportSentiment(channel="meeting", text=item.text, place=item.place,
                                     reporter=Reporter(resident_id=item.resident_id) if item.resident_id else None)
            reporter = await sealed_reporter(sealer, report_id, report.reporter)
            reported = report_domain.report(report_domain.Report(), report_id, community_id, report, reporter,
                                            due[TRIAGE_STEP], due[REPLY_STEP])
            appends.append(StreamAppend(report_stream(report_id), 0, reported))
    try:
        appended = await store.append_all(appends, context)
    except ConcurrencyConflict:
        return await hold_meeting(store, sealer, policy, clock, meeting_id, command, context)
    return _after(state, [e for e in appended if e.stream_id == meeting_stream(meeting_id)]), bool(appended)


def _after(state: domain.Record, appended: list) -> domain.Record:
    for envelope in appended:
        state = domain.evolve(state, envelope)
    return state
