"""`/communities/{id}/info-officer-teams`, `/party-groups`, `/meetings`: the information network."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from services.intake.api.common import caller, expected_version, problem_for, record
from services.intake.domain import DomainError
from services.intake.domain import network as domain
from services.intake.handlers import VersionMismatch
from services.intake.handlers import network as handlers
from shared.contracts.intake_network import (
    FormInfoOfficerTeam,
    FormPartyGroup,
    HoldSentimentMeeting,
    JoinInfoOfficerTeam,
    LeaveInfoOfficerTeam,
    PlacePartyMember,
    derived_id,
    meeting_stream,
    party_group_id,
    party_group_stream,
    team_stream,
)
from shared.deadlines import Clock, DeadlinePolicy
from shared.events import CommandContext
from shared.eventstore import EventStore
from shared.sealing import Sealer

COMMUNITY = "/communities/{community_id:str}"
TEAMS = COMMUNITY + "/info-officer-teams"
TEAM = TEAMS + "/{team_id:str}"
GROUPS = COMMUNITY + "/party-groups"
GROUP = GROUPS + "/{group_id:str}"
MEETINGS = COMMUNITY + "/meetings"
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match")]
Store = NamedDependency[EventStore]


def shown(state: domain.Record, status: int) -> Response[dict[str, Any]]:
    """The record as answered: sealed phones never leave intake."""
    members = [{k: v for k, v in m.items() if k != "phone"} for m in state.document.get("members", [])]
    document = {**state.document, **({"members": members} if "members" in state.document else {})}
    return record(document, state.version, status)


async def _write(request: Request, community_id: str, writer) -> Response[dict[str, Any]]:  # noqa: ANN001
    identity = caller(request, community_id, writes=True)
    try:
        result = await writer(CommandContext.new(community_id, identity.subject))
    except (DomainError, VersionMismatch) as error:
        raise problem_for(error) from error
    state, created = result if isinstance(result, tuple) else (result, False)
    return shown(state, 201 if created else 200)


@post(TEAMS, summary="Form an information-officer team (信息员小组)", tags=["network"])
async def form_team(
    request: Request, community_id: FromPath[str], data: JSONBody[FormInfoOfficerTeam], store: Store,
    idempotency_key: IdempotencyKey = None,
) -> Response[dict[str, Any]]:
    team_id = derived_id(community_id, "info-team", idempotency_key)
    decide = lambda state: domain.form_team(state, team_id, community_id, data)  # noqa: E731
    return await _write(request, community_id, lambda context: handlers.create(store, team_stream(team_id), decide, context))


@post(TEAM + "/members", summary="An officer joins the team", tags=["network"])
async def join_team(
    request: Request, community_id: FromPath[str], team_id: FromPath[str], data: JSONBody[JoinInfoOfficerTeam],
    store: Store, sealer: NamedDependency[Sealer], idempotency_key: IdempotencyKey = None,
) -> Response[dict[str, Any]]:
    member_id = derived_id(community_id, f"info-team:{team_id}:member", idempotency_key)

    async def join(context: CommandContext) -> tuple[domain.Record, bool]:
        await handlers.check_residents(store, community_id, [data.resident_id])
        joined = await handlers.joined_member(sealer, team_id, member_id, data)
        before = (await handlers.load(store, team_stream(team_id))).version
        state = await handlers.act(store, team_stream(team_id), None, lambda s: domain.join_team(s, team_id, community_id, joined), context)
        return state, state.version > before

    return await _write(request, community_id, join)


@post(TEAM + "/members/{member_id:str}/leave", summary="An officer leaves the team (If-Match: the team's version)",
      tags=["network"], status_code=200)
async def leave_team(
    request: Request, community_id: FromPath[str], team_id: FromPath[str], member_id: FromPath[str],
    data: JSONBody[LeaveInfoOfficerTeam], store: Store, if_match: IfMatch = None,
) -> Response[dict[str, Any]]:
    version = expected_version(if_match)
    left_on = data.left_on.isoformat()
    decide = lambda s: domain.leave_team(s, team_id, community_id, member_id, left_on, data.reason)  # noqa: E731
    return await _write(request, community_id, lambda context: handlers.act(store, team_stream(team_id), version, decide, context))


@get(TEAM, summary="One team (internal; phones stay sealed)", tags=["network"])
async def get_team(request: Request, community_id: FromPath[str], team_id: FromPath[str], store: Store) -> Response[dict[str, Any]]:
    return await _read(request, community_id, store, team_stream(team_id), "信息员小组", "information-officer team")


@post(GROUPS, summary="Form the party group of a compound (楼院党小组)", tags=["network"])
async def form_party_group(
    request: Request, community_id: FromPath[str], data: JSONBody[FormPartyGroup], store: Store
) -> Response[dict[str, Any]]:
    group_id = party_group_id(community_id, data.compound)
    decide = lambda state: domain.form_party_group(state, group_id, community_id, data)  # noqa: E731
    return await _write(request, community_id, lambda context: handlers.create(store, party_group_stream(group_id), decide, context))


@post(GROUP + "/members", summary="Place a party member in a building of the compound", tags=["network"], status_code=200)
async def place_party_member(
    request: Request, community_id: FromPath[str], group_id: FromPath[str], data: JSONBody[PlacePartyMember], store: Store
) -> Response[dict[str, Any]]:
    async def place(context: CommandContext) -> domain.Record:
        await handlers.check_residents(store, community_id, [data.resident_id])
        decide = lambda s: domain.place_party_member(s, group_id, community_id, data)  # noqa: E731
        return await handlers.act(store, party_group_stream(group_id), None, decide, context)

    return await _write(request, community_id, place)


@post(MEETINGS, summary="Record a sentiment meeting (民情恳谈会); each item becomes a report", tags=["network"])
async def hold_meeting(
    request: Request, community_id: FromPath[str], data: JSONBody[HoldSentimentMeeting], store: Store,
    sealer: NamedDependency[Sealer], deadline_policy: NamedDependency[DeadlinePolicy], clock: NamedDependency[Clock],
    idempotency_key: IdempotencyKey = None,
) -> Response[dict[str, Any]]:
    meeting_id = derived_id(community_id, "meeting", idempotency_key)

    async def hold(context: CommandContext) -> tuple[domain.Record, bool]:
        raised_by = [item.resident_id for item in data.items]
        await handlers.check_residents(store, community_id, [*data.participants.resident_ids, *raised_by])
        return await handlers.hold_meeting(store, sealer, deadline_policy, clock, meeting_id, data, context)

    return await _write(request, community_id, hold)


@get(MEETINGS + "/{meeting_id:str}", summary="One meeting", tags=["network"])
async def get_meeting(request: Request, community_id: FromPath[str], meeting_id: FromPath[str], store: Store) -> Response[dict[str, Any]]:
    return await _read(request, community_id, store, meeting_stream(meeting_id), "民情恳谈会", "sentiment meeting")


async def _read(request: Request, community_id: str, store: EventStore, stream: str, zh: str, en: str) -> Response[dict[str, Any]]:
    caller(request, community_id, writes=False)
    state = await handlers.load(store, stream)
    if not state.exists or state.community_id != community_id:
        raise problem_for(domain.NotFound(f"找不到该{zh}", f"no such {en}"))
    return shown(state, 200)


routes = [form_team, join_team, leave_team, get_team, form_party_group, place_party_member, hold_meeting, get_meeting]
