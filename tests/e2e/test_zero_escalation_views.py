"""Mediation on the worklist and in the resident profile, with the real processes: a case with
a registered resident as a party shows in that resident's profile and in no one else's; an
acceptance gone overdue and a clause falling due soon are work items naming the parties; a
caller of another community gets what the rest of those paths give it (404, 403).

Moves the shared platform's clock ahead like test_zero_escalation_flow, so it runs after it
(the file names sort so) and looks only at its own cases. Agreement days are real days (the
commands refuse a day in the future), clause days the platform's (its clock may be ahead)."""

from datetime import date, datetime, timedelta

import pytest

from shared.deadlines import CHINA
from tests.e2e.test_mediation_flow import INVESTIGATION, SESSION, act, cases
from tests.e2e.test_zero_blind_spots_flow import community, eventually, move_clock

pytestmark = pytest.mark.e2e


def resident(platform, survey, name: str, building: str) -> str:
    answer = platform.register("community_worker", survey(name, "春晖楼院", building, members=[]))
    assert answer.status_code == 201, answer.text
    return answer.json()["head"]["resident_id"]


def dispute(platform, cause: str, parties: list[dict]) -> dict:
    body = {"source": "party_applied", "category": "02", "dispute_cause": cause, "parties": parties,
            "place": {"compound": "春晖楼院"}}
    answer = platform.gateway.post(cases(), json=body, headers=platform.login("community_worker"))
    assert answer.status_code == 201, answer.text
    return answer.json()


def profile(platform, resident_id: str, user: str = "community_worker") -> dict:
    answer = platform.gateway.get(community(f"residents/{resident_id}/profile"), headers=platform.login(user))
    assert answer.status_code == 200, answer.text
    return answer.json()


def worklist(platform, within_days: int = 7) -> dict:
    answer = platform.gateway.get(community("worklist"), params={"within_days": within_days},
                                  headers=platform.login("mediator"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def acted(platform, case: dict, action: str, body: dict) -> dict:
    """The case after `action`, taken on its latest version: on a platform whose clock is ahead,
    mediation's worker may record an overdue (a new version) at any moment, seen by the
    gateway a little later."""
    def try_latest():
        latest = platform.gateway.get(cases("c-mianzhou", case["id"]), headers=platform.login("mediator")).json()
        answer = act(platform, "mediator", latest, action, body)
        return answer.status_code != 412 and answer

    answer = eventually(try_latest)
    assert answer.status_code == 200, (action, answer.text)
    return answer.json()


def platform_today(platform) -> date:
    return datetime.fromisoformat(worklist(platform)["as_of"]).astimezone(CHINA).date()


def test_a_case_shows_in_its_resident_partys_profile_and_not_in_another_residents(platform, survey, problem):
    party_id = resident(platform, survey, "韩秀梅", "1栋")
    neighbour_id = resident(platform, survey, "韩建国", "2栋")
    case = dispute(platform, "楼上养鸽扰民", [{"side": "a", "name": "陆志军"}, {"side": "b", "resident_id": party_id}])

    shown = profile(platform, party_id)["mediation"]["cases"]
    assert [c["id"] for c in shown] == [case["id"]]
    assert (shown[0]["side"], shown[0]["other_parties"], shown[0]["status"]) == ("b", [{"side": "a", "name": "陆志军"}], "registered")
    assert (shown[0]["category_label"], shown[0]["clauses_owed"], shown[0]["escalation_risk"]) == ("邻里纠纷", [], False)
    assert profile(platform, neighbour_id)["mediation"]["cases"] == []
    anywhere = platform.gateway.get(f"/api/v1/residents/{party_id}/profile", headers=platform.login("auditor"))
    assert [c["id"] for c in anywhere.json()["mediation"]["cases"]] == [case["id"]]

    outsider = platform.login("community_worker_2")
    problem(platform.gateway.get(community(f"residents/{party_id}/profile"), headers=outsider), 404, "not_found")
    problem(platform.gateway.get(f"/api/v1/residents/{party_id}/profile", headers=outsider), 404, "not_found")
    problem(platform.gateway.get(community("worklist"), headers=outsider), 403, "forbidden")


def test_an_overdue_acceptance_and_a_clause_due_soon_are_work_items_by_name(platform, survey):
    party_id = resident(platform, survey, "韩桂兰", "3栋")
    late = dispute(platform, "车库漏水", [{"side": "a", "resident_id": party_id}, {"side": "b", "name": "物业 周经理"}])
    soon = dispute(platform, "装修噪音", [{"side": "a", "name": "陆小红"}, {"side": "b", "resident_id": party_id}])
    today = platform_today(platform)
    reached_on = date.today() - timedelta(days=1)
    agreement = {"form": "written", "reached_on": reached_on.isoformat(), "terms": "晚十点后停工，赔偿200元",
                 "clauses": [{"party_id": "p2", "obligation": "赔偿陆小红200元", "due_on": (today + timedelta(days=6)).isoformat()},
                             {"party_id": "p2", "obligation": "晚十点后停工", "due_on": (today + timedelta(days=60)).isoformat()}]}
    for action, body in [("accept", {"mediators": ["赵德明"]}), ("investigations", INVESTIGATION),
                         ("sessions", SESSION), ("agreement", agreement)]:
        soon = acted(platform, soon, action, body)

    move_clock(platform, 3.1)
    items = worklist(platform)["items"]
    assert [item["due_at"] for item in items] == sorted(item["due_at"] for item in items)  # earliest due first
    assert [item["kind"] for item in items if item["id"] == late["id"]] == ["dispute_accept"]
    accept = next(item for item in items if item["id"] == late["id"])
    assert (accept["parties"], accept["overdue"], accept["mediators"]) == (["韩桂兰", "物业 周经理"], True, [])
    assert (accept["category_label"], accept["step_label"]) == ("邻里纠纷", "登记后 3 日内受理")
    # (the case's own clock is real time: on a platform already moved ahead its first follow-up is late too)
    clauses = [item for item in items if item["id"] == soon["id"] and item["kind"] == "dispute_clause"]
    assert len(clauses) == 1, clauses
    clause = clauses[0]
    assert (clause["parties"], clause["party"], clause["obligation"]) == (["陆小红", "韩桂兰"], "韩桂兰", "赔偿陆小红200元")
    assert (clause["clause_no"], clause["overdue"], clause["mediators"]) == (1, False, ["赵德明"])

    shown = {c["id"]: c for c in profile(platform, party_id)["mediation"]["cases"]}
    assert list(shown) == [soon["id"], late["id"]]  # newest first
    assert [s["step_label"] for s in shown[late["id"]]["overdue_steps"]] == ["登记后 3 日内受理"]
    assert [(c["clause_no"], c["fulfilled"]) for c in shown[soon["id"]]["clauses_owed"]] == [(1, False), (2, False)]
    # mediation's worker records the overdue too, and the case then says so
    eventually(lambda: platform.gateway.get(cases("c-mianzhou", late["id"]), headers=platform.login("mediator"))
               .json().get("deadlines", {}).get("overdue_now"))
