"""Dispute cases through the gateway, with the real processes: register → accept → investigate
→ session → agreement → follow-up → close, each answer read back from the gateway's read
model (built from `fz:{mediation}:events`); two mediators at once (one wins, the other gets
412); illegal steps (409) and bad fields (400) in Chinese and English with nothing written;
and who may see and do what."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import redis as sync_redis
from faststream.redis.parser import BinaryMessageFormatV1

from shared.events import Envelope
from shared.streams import events_stream

pytestmark = pytest.mark.e2e


def cases(community: str = "c-mianzhou", *parts: str) -> str:
    return "/".join([f"/api/v1/communities/{community}/disputes", *parts])


def leak_dispute(**fields) -> dict:
    """王秀英 of 幸福楼院 3栋 against 张建华, the tenant upstairs whose bathroom leaks."""
    return {
        "source": "party_applied",
        "category": "02",
        "dispute_cause": "楼上卫生间漏水，多次沟通无果",
        "parties": [
            {"side": "a", "resident_id": "r-wangxiuying", "name": "王秀英"},
            {"side": "b", "name": "张建华", "remarks": "3栋401租户"},
        ],
        "place": {"compound": "幸福楼院", "building": "3栋"},
        **fields,
    }


INVESTIGATION = {"investigated_on": "2026-11-05", "investigators": ["赵德明"], "findings": "401卫生间防水层老化，渗到301"}
SESSION = {"held_at": "2026-11-06T14:00:00+08:00", "place": "幸福楼院门前", "mediators": ["赵德明", "刘芳"],
           "participants": ["王秀英", "张建华", "物业 李经理"], "account": "有理慢慢说：双方同意401修复防水，赔偿301", "on_site": True}
# Dated from yesterday, so that no deadline of the agreement (its clauses, the art. 33 reminder)
# has passed and mediation's scheduler leaves the case alone while the test acts on it.
REACHED_ON = date.today() - timedelta(days=1)
AGREEMENT = {"form": "written", "reached_on": REACHED_ON.isoformat(), "terms": "401两周内修复防水，4日内赔偿800元",
             "clauses": [{"party_id": "p2", "obligation": "修复卫生间防水", "due_on": (REACHED_ON + timedelta(days=14)).isoformat()},
                         {"party_id": "p2", "obligation": "赔偿王秀英800元", "due_on": (REACHED_ON + timedelta(days=4)).isoformat()}]}
FOLLOW_UP = {"visited_on": REACHED_ON.isoformat(), "visited_by": ["赵德明"], "note": "防水已修好，赔偿已付", "fulfilled_clauses": [1, 2]}


def act(platform, user: str, case: dict, action: str, body: dict, version=None, **headers):
    headers = {**platform.login(user), "If-Match": f'"{case["version"] if version is None else version}"', **headers}
    return platform.gateway.post(cases(case["community_id"], case["id"], action), json=body, headers=headers)


def registered(platform, user: str = "community_worker", community: str = "c-mianzhou", **fields) -> dict:
    answer = platform.gateway.post(cases(community), json=leak_dispute(**fields), headers=platform.login(user))
    assert answer.status_code == 201, answer.text
    return answer.json()


def stream_types(platform, dispute_id: str) -> list[str]:
    client = sync_redis.Redis.from_url(platform.platform.env["FIVEZERO_REDIS_URL"])
    try:
        entries = client.xrange(events_stream("mediation"))
    finally:
        client.close()
    envelopes = [Envelope.model_validate_json(BinaryMessageFormatV1.parse(f[b"__data__"])[0]) for _, f in entries]
    return [e.type for e in envelopes if e.data.get("dispute_id") == dispute_id]


def test_a_dispute_goes_from_registration_to_closed_and_filed_and_reads_back_from_the_gateway(any_platform):
    platform = any_platform
    case = registered(platform)
    assert (case["status"], case["version"], case["source_label"], case["category_label"]) == ("registered", 1, "当事人申请", "邻里纠纷")
    steps = [
        ("mediator", "accept", {"mediators": ["赵德明"]}, "accepted"),
        ("mediator", "investigations", INVESTIGATION, "investigating"),
        ("mediator", "sessions", SESSION, "in_mediation"),
        ("mediator", "agreement", AGREEMENT, "agreed"),
        ("community_worker", "follow-ups", FOLLOW_UP, "agreed"),
        ("community_head", "close", {"archive_no": "2026-调-017"}, "closed"),
    ]
    for user, action, body, status in steps:
        answer = act(platform, user, case, action, body)
        assert answer.status_code == 200, (action, answer.text)
        assert (answer.json()["status"], answer.json()["version"]) == (status, case["version"] + 1)
        assert answer.headers["etag"] == f'"{case["version"] + 1}"'
        case = answer.json()

    read = platform.gateway.get(cases("c-mianzhou", case["id"]), headers=platform.login("community_worker"))
    assert (read.status_code, read.headers["etag"]) == (200, '"7"')
    document = read.json()
    assert (document["outcome"], document["closed"]["archive_no"]) == ("resolved", "2026-调-017")
    assert document["sessions"][0]["on_site"] is True and document["sessions"][0]["participants"][2] == "物业 李经理"
    assert document["agreement"]["fulfilled"] is True and document["agreement"]["judicial_confirmation_by"] == (
        REACHED_ON + timedelta(days=30)).isoformat()
    assert [c["fulfilled_on"] for c in document["agreement"]["clauses"]] == [REACHED_ON.isoformat()] * 2
    listed = platform.gateway.get(cases(), params={"status": "closed", "outcome": "resolved", "limit": 200},
                                  headers=platform.login("street_officer"))
    assert case["id"] in [item["id"] for item in listed.json()["items"]]
    assert stream_types(platform, case["id"]) == [
        "mediation.DisputeRegistered", "mediation.DisputeAccepted", "mediation.DisputeInvestigated",
        "mediation.MediationSessionHeld", "mediation.AgreementReached", "mediation.AgreementFollowedUp",
        "mediation.DisputeClosed",
    ]


def test_a_failed_mediation_is_transferred_to_the_street_centre_and_a_refusal_closes_a_case(platform):
    case = registered(platform, dispute_cause="停车位被占，双方争吵")
    case = act(platform, "mediator", case, "accept", {"mediators": ["赵德明"]}).json()
    transferred = act(platform, "mediator", case, "transfer", {"reason": "双方分歧大，社区调解未果"})
    assert (transferred.status_code, transferred.json()["status"]) == (200, "transferred"), transferred.text
    closed = act(platform, "mediator", transferred.json(), "close", {})
    assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "transferred")

    refused_case = registered(platform, dispute_cause="宠物噪音")
    refused = act(platform, "mediator", refused_case, "refuse", {"party_id": "p2", "reason": "不同意调解"})
    assert (refused.json()["status"], refused.json()["outcome"], refused.json()["version"]) == ("closed", "refused", 3)
    listed = platform.gateway.get(cases(), params={"outcome": "refused", "limit": 200}, headers=platform.login("mediator"))
    assert refused_case["id"] in [item["id"] for item in listed.json()["items"]]


def test_two_mediators_acting_on_one_case_at_once_one_wins_and_the_other_gets_412(platform, problem):
    case = registered(platform, dispute_cause="楼道堆物")
    case = act(platform, "mediator", case, "accept", {"mediators": ["赵德明"]}).json()
    case = act(platform, "mediator", case, "investigations", INVESTIGATION).json()
    platform.login("community_head")
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda user: act(platform, user, case, "sessions", SESSION), ["mediator", "community_head"]))
    assert sorted(answer.status_code for answer in answers) == [200, 412], [a.text for a in answers]
    loser = next(answer for answer in answers if answer.status_code == 412)
    problem(loser, 412, "precondition_failed")
    read = platform.gateway.get(cases("c-mianzhou", case["id"]), headers=platform.login("mediator")).json()
    assert (read["version"], len(read["sessions"])) == (4, 1)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_illegal_step_is_409_with_its_reason_and_bad_fields_are_named_and_nothing_is_written(platform, problem, language):
    case = registered(platform, dispute_cause="装修噪音")
    before = platform.mediation_event_count()
    early = act(platform, "mediator", case, "agreement", AGREEMENT, **{"Accept-Language": language})
    found = problem(early, 409, "illegal_transition", language)
    assert found["detail"] == ("须至少正式调解一次，才能达成协议" if language == "zh" else "an agreement needs at least one mediation session")
    bad = {"source": "police", "category": "42", "dispute_cause": "", "parties": [{"side": "a", "name": "王秀英"}]}
    answer = platform.gateway.post(cases(), json=bad, headers={**platform.login("mediator"), "Accept-Language": language})
    errors = {error["field"]: error["message"] for error in problem(answer, 400, "validation_failed", language)["errors"]}
    assert set(errors) == {"source", "category", "dispute_cause", "parties"}
    assert ("纠纷来源" if language == "zh" else "source") in errors["source"]
    bad_session = {**SESSION, "mediators": [], "held_at": "yesterday"}
    answer = act(platform, "mediator", case, "sessions", bad_session, **{"Accept-Language": language})
    assert {e["field"] for e in problem(answer, 400, "validation_failed", language)["errors"]} == {"mediators", "held_at"}
    unguarded = platform.gateway.post(cases("c-mianzhou", case["id"], "accept"), json={"mediators": ["赵德明"]},
                                      headers=platform.login("mediator"))
    problem(unguarded, 428, "precondition_required")
    assert platform.mediation_event_count() == before


@pytest.fixture(scope="module")
def mianzhou_case(platform) -> dict:
    return registered(platform, dispute_cause="绵州：晾衣滴水")


@pytest.fixture(scope="module")
def dongjin_case(platform) -> dict:
    return registered(platform, "community_worker_2", "c-dongjin", dispute_cause="东津：占道经营", place={"compound": "滨江楼院"})


def test_community_worker_2_gets_404_for_a_case_of_another_community_and_403_for_its_list(platform, problem, mianzhou_case):
    worker_2 = platform.login("community_worker_2")
    before = platform.mediation_event_count()
    problem(platform.gateway.get(cases("c-mianzhou", mianzhou_case["id"]), headers=worker_2), 404, "not_found")
    problem(platform.gateway.get(cases(), headers=worker_2), 403, "forbidden")
    problem(platform.gateway.post(cases(), json=leak_dispute(), headers=worker_2), 403, "forbidden")
    for action, body in (("accept", {"mediators": ["周涛"]}), ("transfer", {"reason": "x"}), ("close", {})):
        problem(act(platform, "community_worker_2", mianzhou_case, action, body), 404, "not_found")
    assert platform.mediation_event_count() == before


def test_a_case_is_found_only_under_its_own_community(platform, problem, dongjin_case):
    admin = platform.login("district_admin")
    problem(platform.gateway.get(cases("c-mianzhou", dongjin_case["id"]), headers=admin), 404, "not_found")
    assert platform.gateway.get(cases("c-dongjin", dongjin_case["id"]), headers=admin).status_code == 200


def test_the_auditor_and_the_street_officer_read_but_do_not_write(platform, problem, mianzhou_case, dongjin_case):
    before = platform.mediation_event_count()
    for user in ("auditor", "street_officer"):
        headers = platform.login(user)
        assert platform.gateway.get(cases("c-mianzhou", mianzhou_case["id"]), headers=headers).status_code == 200
        problem(platform.gateway.post(cases(), json=leak_dispute(), headers=headers), 403, "forbidden")
        problem(act(platform, user, mianzhou_case, "accept", {"mediators": ["赵德明"]}), 403, "forbidden")
    assert platform.mediation_event_count() == before


def test_a_street_officer_sees_the_cases_of_every_community_of_its_street_and_no_other(
    platform, problem, mianzhou_case, dongjin_case
):
    officer = platform.login("street_officer")
    for community, case in (("c-mianzhou", mianzhou_case), ("c-dongjin", dongjin_case)):
        listed = platform.gateway.get(cases(community), params={"limit": 200}, headers=officer)
        assert case["id"] in [item["id"] for item in listed.json()["items"]]
    problem(platform.gateway.get(cases("c-changhong"), headers=officer), 403, "forbidden")


def test_the_case_list_pages_with_a_cursor(platform):
    for number in range(3):
        registered(platform, "mediator", dispute_cause=f"分页测试 {number}", category="14")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "category": "14", **({"cursor": cursor} if cursor else {})}
        page = platform.gateway.get(cases(), params=params, headers=platform.login("mediator")).json()
        seen += [item["id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert len(seen) == len(set(seen)) >= 3
    created = [item["created_at"] for item in platform.gateway.get(
        cases(), params={"category": "14", "limit": 200}, headers=platform.login("mediator")).json()["items"]]
    assert created == sorted(created, reverse=True)
