"""The demo district's information network, with the real processes: a demo start gives
绵州社区 the book's "信息员队伍21支共114人", 21 teams and 114 officers drawn from the book's
five kinds, phones masked; and a second intake starting on the same store, which seeds
again, writes nothing."""

import subprocess
import sys
from pathlib import Path

import pytest

from services.intake.seed import demo_network
from tests.support.services import free_port, wait_http_ok

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TEAMS = "/api/v1/communities/c-mianzhou/info-officer-teams"
OFFICER_FIELDS = {
    "member_id", "resident_id", "name", "phone", "role", "role_label", "joined_on", "left_on", "remarks", "team_id", "team",
}


def seeded_teams(platform) -> dict[str, dict]:
    """The demo seed's teams as the gateway shows them, by id (other tests add teams of their own)."""
    ids = {team.team_id for team in demo_network()}
    answer = platform.gateway.get(TEAMS, params={"limit": 200}, headers=platform.login("community_head"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_cursor"] is None, "more teams than one page"
    return {team["id"]: team for team in answer.json()["items"] if team["id"] in ids}


def test_a_demo_start_gives_mianzhou_21_officer_teams_of_114_officers(platform):
    assert platform.network_at_start == {"teams": 21, "officers": 114}
    teams = seeded_teams(platform)
    assert (len(teams), sum(team["member_count"] for team in teams.values())) == (21, 114)
    assert {"幸福楼院3栋信息员队", "红星楼院1栋信息员队", "物业信息员队"} <= {team["name"] for team in teams.values()}

    answer = platform.gateway.get(TEAMS.replace("info-officer-teams", "info-officers"), headers=platform.login("community_head"))
    officers = [officer for officer in answer.json()["items"] if officer["team_id"] in teams]
    assert len(officers) == len({officer["name"] for officer in officers}) == 114
    assert {officer["role_label"] for officer in officers} == {"社区党员", "干部", "辖区单位负责人", "离退休干部", "物业管理人员"}
    assert all(set(officer) == OFFICER_FIELDS for officer in officers), "an officer carries a field not listed"
    assert all(officer["phone"][3:7] == "****" for officer in officers)


def test_a_second_intake_starting_on_the_same_store_seeds_nothing_again(platform, tmp_path):
    events, totals, teams = platform.intake_event_count(), platform.network_totals(), seeded_teams(platform)
    port = free_port()
    with open(tmp_path / "intake.log", "wb") as log:
        second = subprocess.Popen(
            [sys.executable, "-m", "services.intake", "api"], cwd=ROOT, env={**platform.platform.env, "FIVEZERO_INTAKE_PORT": str(port)},
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_http_ok(f"http://127.0.0.1:{port}/ready", timeout=60)  # ready: its lifespan has seeded
        except TimeoutError as error:
            pytest.fail(f"{error}\n{(tmp_path / 'intake.log').read_text()[-3000:]}")
        finally:
            second.terminate()
            second.wait(timeout=15)

    assert platform.intake_event_count() == events
    assert platform.network_totals() == totals
    assert {team_id: team["version"] for team_id, team in seeded_teams(platform).items()} == {
        team_id: team["version"] for team_id, team in teams.items()
    }
