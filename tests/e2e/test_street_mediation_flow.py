"""The street centre's part of a case through the gateway, with the real processes: a case
the community transferred waits in the street's list; a street officer takes it over and
mediates it to the end, or assigns it back and it counts as assigned by the street centre.
Whose turn it is decides who may act (403 otherwise, nothing written); other streets and
communities get 404/403. And amendments: a case learns its parties' names and its real
category after registration."""

import pytest

from tests.e2e.test_mediation_flow import AGREEMENT, FOLLOW_UP, INVESTIGATION, SESSION, act, cases, registered

pytestmark = pytest.mark.e2e

STREET = "s-chengjiao"


def street_cases(platform, user: str = "street_officer", street: str = STREET, **params):
    return platform.gateway.get(f"/api/v1/streets/{street}/disputes", params={"limit": 200, **params},
                                headers=platform.login(user))


def transferred_case(platform, cause: str) -> dict:
    case = registered(platform, dispute_cause=cause)
    case = act(platform, "mediator", case, "accept", {"mediators": ["赵德明"]}).json()
    answer = act(platform, "mediator", case, "transfer", {"reason": "双方分歧大，社区调解未果"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def test_the_street_takes_a_transferred_case_over_and_mediates_it_to_the_end(platform, problem):
    case = transferred_case(platform, "街道接手：相邻通道纠纷")
    assert case["id"] in ids(street_cases(platform, status="transferred"))
    assert case["id"] in ids(street_cases(platform, "district_admin", status="transferred"))

    taken = act(platform, "street_officer", case, "take-over", {"remarks": "街道大调解中心接手"})
    assert taken.status_code == 200, taken.text
    case = taken.json()
    assert (case["status"], case["handled_by"], case["taken_over"]["officer"]) == ("taken_over", "street", "张志强")
    assert case["id"] in ids(street_cases(platform, handled_by="street"))
    assert case["id"] not in ids(street_cases(platform, status="transferred"))

    before = platform.mediation_event_count()
    problem(act(platform, "mediator", case, "investigations", INVESTIGATION), 403, "forbidden")
    problem(act(platform, "community_worker", case, "close", {}), 403, "forbidden")
    assert platform.mediation_event_count() == before

    for action, body, status in (
        ("investigations", INVESTIGATION, "investigating"),
        ("sessions", SESSION, "in_mediation"),
        ("agreement", AGREEMENT, "agreed"),
        ("follow-ups", FOLLOW_UP, "agreed"),
    ):
        answer = act(platform, "street_officer", case, action, body)
        assert (answer.status_code, answer.json()["status"]) == (200, status), answer.text
        case = answer.json()
    closed = act(platform, "street_officer", case, "close", {"archive_no": "街调-2026-003"}).json()
    assert (closed["status"], closed["outcome"]) == ("closed", "resolved_by_street")
    assert case["id"] in ids(street_cases(platform, outcome="resolved_by_street"))


def test_a_case_assigned_back_counts_as_assigned_by_the_street_centre_and_the_community_accepts_it_again(
    platform, problem
):
    case = transferred_case(platform, "交办：楼道堆放杂物")
    scorecard = platform.gateway.get("/api/v1/communities/c-mianzhou/scorecard", headers=platform.login("community_head"))
    transferred_before = scorecard.json()["zero_escalation"]["transferred"]
    answer = act(platform, "street_officer", case, "assign-back", {"instructions": "请社区邀请物业共同调解"})
    assert answer.status_code == 200, answer.text
    case = answer.json()
    assert (case["status"], case["source"], case["handled_by"]) == ("registered", "assigned_by_street_centre", "community")
    assert case["assigned_back"][0]["source_before"] == "party_applied"
    listed = platform.gateway.get(cases(), params={"source": "assigned_by_street_centre", "limit": 200},
                                  headers=platform.login("mediator"))
    assert case["id"] in ids(listed)
    scorecard = platform.gateway.get("/api/v1/communities/c-mianzhou/scorecard", headers=platform.login("community_head"))
    assert scorecard.json()["zero_escalation"]["transferred"] == transferred_before - 1

    problem(act(platform, "street_officer", case, "accept", {"mediators": ["张志强"]}), 403, "forbidden")
    accepted = act(platform, "mediator", case, "accept", {"mediators": ["赵德明"]})
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted"), accepted.text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_only_a_transferred_case_is_the_streets_and_only_street_officers_take_it(platform, problem, language):
    case = registered(platform, dispute_cause="未移送：宠物扰民")
    before = platform.mediation_event_count()
    early = act(platform, "street_officer", case, "take-over", {}, **{"Accept-Language": language})
    found = problem(early, 409, "illegal_transition", language)
    assert ("移送" if language == "zh" else "transferred") in found["detail"]
    problem(act(platform, "street_officer", case, "accept", {"mediators": ["张志强"]}), 403, "forbidden")
    case_2 = transferred_case(platform, "只有街道接手：噪音")
    before = platform.mediation_event_count()
    refused = act(platform, "mediator", case_2, "take-over", {}, **{"Accept-Language": language})
    problem(refused, 403, "forbidden", language)
    problem(act(platform, "street_officer", case_2, "assign-back", {"instructions": ""}), 400, "validation_failed")
    problem(act(platform, "auditor", case_2, "take-over", {}), 403, "forbidden")
    assert platform.mediation_event_count() == before


def test_the_street_list_is_for_its_officers_and_the_district(platform, problem):
    problem(street_cases(platform, "community_worker"), 403, "forbidden")
    problem(street_cases(platform, "street_officer", "s-gongqu"), 403, "forbidden")
    problem(street_cases(platform, "street_officer", "s-nowhere"), 404, "not_found")
    problem(street_cases(platform, status="lost"), 400, "validation_failed")
    mianzhou_case = registered(platform, dispute_cause="绵州：只在本街道")
    assert mianzhou_case["id"] in ids(street_cases(platform, community_id="c-mianzhou"))
    assert ids(street_cases(platform, community_id="c-changhong")) == []


def test_another_communitys_worker_and_another_streets_case_are_404(platform, problem):
    case = transferred_case(platform, "越权：外社区不能接手")
    before = platform.mediation_event_count()
    problem(act(platform, "community_worker_2", case, "take-over", {}), 404, "not_found")
    problem(act(platform, "community_worker_2", case, "amend", {"dispute_cause": "x"}), 404, "not_found")
    assert platform.mediation_event_count() == before


# -- amendments ---------------------------------------------------------------------------


def test_a_case_learns_its_parties_and_its_real_category(platform, problem):
    case = registered(platform, dispute_cause="待查明：夜间噪音", category="99",
                      parties=[{"side": "a", "name": "王秀英"}, {"side": "b", "name": "待查明"}])
    amended = act(platform, "mediator", case, "amend", {
        "category": "02",
        "parties": [{"party_id": "p1", "side": "a", "resident_id": "r-wangxiuying", "name": "王秀英"},
                    {"side": "b", "name": "钱伟", "remarks": "3栋501"}],
        "reason": "走访查明对方当事人",
    })
    assert amended.status_code == 200, amended.text
    document = amended.json()
    assert (document["category"], document["category_label"]) == ("02", "邻里纠纷")
    assert [(party["party_id"], party["name"]) for party in document["parties"]] == [("p1", "王秀英"), ("p3", "钱伟")]
    assert document["amendments"][0]["fields"] == ["category", "parties"]
    listed = platform.gateway.get(cases(), params={"category": "02", "limit": 200}, headers=platform.login("mediator"))
    assert case["id"] in ids(listed)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_bad_amendment_names_its_field_and_writes_nothing(platform, problem, language):
    case = registered(platform, dispute_cause="更正：错误输入")
    before = platform.mediation_event_count()
    headers = {"Accept-Language": language}
    empty = problem(act(platform, "mediator", case, "amend", {"reason": "没有改动"}, **headers), 400, "validation_failed", language)
    assert empty["errors"]
    one_side = {"parties": [{"side": "a", "name": "甲"}, {"side": "a", "name": "乙"}]}
    answer = problem(act(platform, "mediator", case, "amend", one_side, **headers), 400, "validation_failed", language)
    assert [error["field"] for error in answer["errors"]] == ["parties"]
    stranger = {"parties": [{"party_id": "p7", "side": "a", "name": "甲"}, {"side": "b", "name": "乙"}]}
    answer = problem(act(platform, "mediator", case, "amend", stranger, **headers), 400, "validation_failed", language)
    assert "p7" in answer["detail"]
    problem(act(platform, "mediator", case, "amend", {"category": "zz"}, **headers), 400, "validation_failed", language)
    problem(act(platform, "mediator", case, "amend", {"dispute_cause": "新案由"}, version=9), 412, "precondition_failed")
    assert platform.mediation_event_count() == before
