"""The demo district's information network: in 绵州社区, the book's own community,
"信息员队伍21支共114人", 21 teams of information officers, 114 in all, drawn from party
members, community cadres, heads of local organisations, retired cadres and property managers.

Demo mode only. Each team and officer is written by the same domain functions and handlers
as `POST …/info-officer-teams` and `…/members`, under the ids those derive from an
Idempotency-Key (`demo-team-01`, `demo-officer-001`), so a restart, or a second replica
starting at once, writes nothing twice. The officers are made up: a name, a phone (well
formed, but China sets no number range aside for fiction), a role, nothing else. Intake runs
it in its API's lifespan; the relay publishes it like any write, so the gateway's views
fill from `fz:{intake}:events`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from services.intake.domain import DomainError
from services.intake.domain import network as domain
from services.intake.handlers import network as handlers
from shared.contracts.intake_network import FormInfoOfficerTeam, JoinInfoOfficerTeam, derived_id, team_stream
from shared.events import CommandContext
from shared.eventstore import EventStore
from shared.sealing import Sealer

log = logging.getLogger(__name__)

# The gateway's demo seed (services/gateway/seed.py) places this community and its compounds
# in the organisation tree; services import nothing of each other, so the names repeat here.
DEMO_COMMUNITY = "c-mianzhou"
_COMPOUNDS = (("幸福楼院", 6), ("和平楼院", 4), ("园艺山楼院", 5), ("红星楼院", 3))
SEED_ACTOR = "demo-seed:intake"
JOINED_ON = date(2025, 3, 1)
"""Fixed, so that seeding again is the same join (a retry), never a second one."""

# One team per building (楼栋信息员队): the six of the largest compound have a sixth officer.
_BUILDING_ROLES = ("party_member", "cadre", "party_member", "retired_cadre", "property_manager")
# Three community-wide teams by kind, six officers each.
_KIND_TEAMS = (
    ("辖区单位信息员队", "organisation_head"),
    ("离退休干部信息员队", "retired_cadre"),
    ("物业信息员队", "property_manager"),
)
_LOCAL_ORGANISATIONS = (
    "城郊中心小学", "绵州社区卫生服务站", "城郊派出所绵州警务室", "城郊供电营业所", "城郊幼儿园", "城郊邮政支局",
)
# 20 surnames and 38 given names, paired as (i mod 20, i mod 38): distinct for i < 380.
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高邓"
_GIVEN_NAMES = (
    "建华", "秀兰", "志明", "桂芳", "德全", "玉梅", "国平", "淑珍", "海军", "红英", "永福", "春兰", "晓峰",
    "文华", "凤琴", "明亮", "秀云", "学文", "丽萍", "卫国", "素琼", "家林", "金凤", "振宇", "美华", "国华",
    "小琴", "长青", "玉华", "俊", "敏", "勇", "婷", "浩", "军", "燕", "光荣", "世平",
)
_PHONE_PREFIXES = ("138", "139", "135", "158", "187")


@dataclass(frozen=True)
class DemoTeam:
    key: str
    """The Idempotency-Key the team's id derives from."""
    form: FormInfoOfficerTeam
    officers: tuple[tuple[str, JoinInfoOfficerTeam], ...]
    """(key of the member's id, the join)"""

    @property
    def team_id(self) -> str:
        return derived_id(DEMO_COMMUNITY, "info-team", self.key)

    def member_id(self, key: str) -> str:
        return derived_id(DEMO_COMMUNITY, f"info-team:{self.team_id}:member", key)


def demo_network() -> list[DemoTeam]:
    """The 21 teams and their 114 officers, the same on every call."""
    plans = [
        (f"{compound}{number}栋信息员队", compound, _BUILDING_ROLES + (("party_member",) if compound == "幸福楼院" else ()))
        for compound, buildings in _COMPOUNDS
        for number in range(1, buildings + 1)
    ]
    plans += [(name, "全社区", (role,) * 6) for name, role in _KIND_TEAMS]
    teams, index = [], 0
    for number, (name, compound, roles) in enumerate(plans, start=1):
        officers = []
        for role in roles:
            officers.append((f"demo-officer-{index + 1:03d}", _officer(index, role, len(officers))))
            index += 1
        leader = officers[0][1].name
        form = FormInfoOfficerTeam(name=name, compound=compound, leader=leader)
        teams.append(DemoTeam(f"demo-team-{number:02d}", form, tuple(officers)))
    return teams


def _officer(index: int, role: str, place_in_team: int) -> JoinInfoOfficerTeam:
    remarks = None
    if role == "organisation_head":
        remarks = f"{_LOCAL_ORGANISATIONS[place_in_team]}负责人"
    return JoinInfoOfficerTeam(
        name=_SURNAMES[index % len(_SURNAMES)] + _GIVEN_NAMES[index % len(_GIVEN_NAMES)],
        phone=f"{_PHONE_PREFIXES[index % len(_PHONE_PREFIXES)]}0816{index + 1:04d}",
        role=role, joined_on=JOINED_ON, remarks=remarks,
    )


async def seed_demo_network(store: EventStore, sealer: Sealer) -> int:
    """Forms each team and joins each officer still missing; the number of events written
    (0 when all are there). A team already recorded otherwise (an older seed) is left as it is."""
    written = 0
    for team in demo_network():
        try:
            written += await _seed_team(store, sealer, team)
        except DomainError as error:
            log.warning("demo seed: %s left as it is: %s", team.form.name, error.detail_en)
    return written


async def _seed_team(store: EventStore, sealer: Sealer, team: DemoTeam) -> int:
    team_id, stream = team.team_id, team_stream(team.team_id)
    context = CommandContext.new(DEMO_COMMUNITY, SEED_ACTOR)
    state, created = await handlers.create(
        store, stream, lambda s: domain.form_team(s, team_id, DEMO_COMMUNITY, team.form), context)
    written = int(created)
    for key, officer in team.officers:
        member_id = team.member_id(key)
        if state.member(member_id) is not None:
            continue  # checked before sealing: a restart seals nothing
        joined = await handlers.joined_member(sealer, team_id, member_id, officer)
        before = state.version
        state = await handlers.act(
            store, stream, None, lambda s, j=joined: domain.join_team(s, team_id, DEMO_COMMUNITY, j), context)
        written += state.version - before
    return written
