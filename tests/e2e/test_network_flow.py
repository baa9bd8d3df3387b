"""The information network through the gateway, with the real processes: a team of officers
counted as they join and leave; party members placed in the buildings of their compound; a
sentiment meeting whose items become reports with channel meeting, once however often the
request is retried; bad input in Chinese and English; and who may see and do what."""

import secrets
import time
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.e2e


def url(*parts: str, community: str = "c-mianzhou") -> str:
    return "/".join([f"/api/v1/communities/{community}", *parts])


def eventually(check: Callable[[], object], timeout: float = 30.0) -> object:
    """The first truthy result of `check`, polled; fails after `timeout` (a bound, not a measure)."""
    give_up = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < give_up, "the platform never got there"
        time.sleep(0.1)
    return result


def resident(platform, survey, name: str, compound: str = "幸福楼院", building: str = "3栋") -> str:
    answer = platform.register("community_worker", survey(name, compound, building, members=[]))
    assert answer.status_code == 201, answer.text
    return answer.json()["head"]["resident_id"]


def totals(platform, what: str, user: str = "community_worker") -> dict:
    answer = platform.gateway.get(url(what), headers=platform.login(user))
    assert answer.status_code == 200, answer.text
    return answer.json()["totals"]


XINGFU_TEAM = {"name": "幸福楼院信息员小组", "compound": "幸福楼院", "leader": "王秀英"}
MEETING = {
    "held_on": "2026-05-04",
    "place": "社区会议室",
    "participants": {"names": ["张桂兰", "李强"], "count": 15},
    "items": [
        {"text": "幸福楼院3栋楼道灯坏了", "place": {"compound": "幸福楼院", "building": "3栋"}},
        {"text": "希望在和平楼院增设老年助餐点", "place": {"compound": "和平楼院"}},
    ],
}


def test_a_team_counts_officers_as_they_join_and_leave_with_phones_masked_in_lists(any_platform, survey, problem):
    platform, worker = any_platform, any_platform.login("community_worker")
    before = totals(platform, "info-officer-teams")
    formed = platform.gateway.post(url("info-officer-teams"), json=XINGFU_TEAM, headers=worker)
    assert formed.status_code == 201, formed.text
    team = formed.json()
    wang = resident(platform, survey, "王秀英")
    members = url("info-officer-teams", team["id"], "members")
    as_resident = platform.gateway.post(members, json={"resident_id": wang, "role": "party_member", "joined_on": "2026-05-04"}, headers=worker)
    assert as_resident.status_code == 201, as_resident.text
    manager = {"name": "张桂兰", "phone": "139 1234 5678", "role": "property_manager", "joined_on": "2026-05-04"}
    named = platform.gateway.post(members, json=manager, headers={**worker, "Idempotency-Key": secrets.token_hex(8)})
    assert named.status_code == 201, named.text
    assert [(m["name"], m["phone"], m["role_label"]) for m in named.json()["members"]] == [
        ("王秀英", None, "社区党员"), ("张桂兰", "139****5678", "物业管理人员"),
    ]
    problem(platform.gateway.post(members, json={**manager, "joined_on": "2026-05-05"}, headers=worker), 409, "illegal_transition")

    after = totals(platform, "info-officer-teams")
    assert (after["teams"], after["officers"]) == (before["teams"] + 1, before["officers"] + 2)
    whole = platform.gateway.get(url("info-officer-teams", team["id"]), params={"whole": "true"}, headers=worker).json()
    assert whole["members"][1]["phone"] == "13912345678"
    auditor_view = platform.gateway.get(url("info-officer-teams", team["id"]), params={"whole": "true"}, headers=platform.login("auditor"))
    assert auditor_view.json()["members"][1]["phone"] == "139****5678"

    member_id = named.json()["members"][1]["member_id"]
    leave = url("info-officer-teams", team["id"], "members", member_id, "leave")
    left = platform.gateway.post(leave, json={"left_on": "2026-06-01", "reason": "调离本小区"}, headers={**worker, "If-Match": f'"{named.json()["version"]}"'})
    assert (left.status_code, left.json()["member_count"]) == (200, 1), left.text
    again = platform.gateway.post(leave, json={"left_on": "2026-06-02"}, headers={**worker, "If-Match": f'"{left.json()["version"]}"'})
    assert "2026-06-01" in problem(again, 409, "illegal_transition")["detail"]
    assert totals(platform, "info-officer-teams")["officers"] == before["officers"] + 1
    officers = platform.gateway.get(url("info-officers"), headers=worker).json()["items"]
    assert wang in [o["resident_id"] for o in officers] and member_id not in [o["member_id"] for o in officers]


def test_party_members_are_placed_in_buildings_of_their_groups_compound(platform, survey, problem):
    worker = platform.login("community_worker")
    group = platform.gateway.post(url("party-groups"), json={"compound": "园艺山楼院"}, headers=worker)
    assert group.status_code in (200, 201), group.text
    li, zhao = resident(platform, survey, "李建华", "园艺山楼院", "2栋"), resident(platform, survey, "赵桂芳", "园艺山楼院", "5栋")
    members = url("party-groups", group.json()["id"], "members")
    for resident_id, building in ((li, "2栋"), (zhao, "5栋")):
        placed = platform.gateway.post(members, json={"resident_id": resident_id, "building": building, "placed_on": "2026-05-04"}, headers=worker)
        assert placed.status_code == 200, placed.text
    shown = platform.gateway.get(url("party-groups", group.json()["id"]), headers=worker).json()
    by_building = {b["building"]: [m["name"] for m in b["members"]] for b in shown["by_building"]}
    assert by_building["2栋"] == ["李建华"] and by_building["5栋"] == ["赵桂芳"]
    elsewhere = {"resident_id": li, "building": "1栋", "compound": "和平楼院", "placed_on": "2026-05-04"}
    assert "和平楼院" in problem(platform.gateway.post(members, json=elsewhere, headers=worker), 409, "illegal_transition")["detail"]
    unknown = {"resident_id": "no-such-resident", "building": "1栋", "placed_on": "2026-05-04"}
    problem(platform.gateway.post(members, json=unknown, headers=worker), 400, "validation_failed")
    assert totals(platform, "party-groups")["party_members"] >= 2


def test_a_meetings_items_become_meeting_reports_once_however_often_it_is_retried(any_platform):
    platform = any_platform
    headers = {**platform.login("community_worker"), "Idempotency-Key": secrets.token_hex(8)}
    held = platform.gateway.post(url("meetings"), json=MEETING, headers=headers)
    assert held.status_code == 201, held.text
    retried = platform.gateway.post(url("meetings"), json=MEETING, headers=headers)
    assert (retried.status_code, retried.json()["id"]) == (200, held.json()["id"]), retried.text
    meeting = held.json()
    assert meeting["participants"]["count"] == 15
    report_ids = [item["report_id"] for item in meeting["items"]]
    for item in meeting["items"]:
        report = eventually(lambda i=item: (r := platform.gateway.get(i["report"], headers=headers)).status_code == 200 and r.json())
        assert (report["channel"], report["channel_label"], report["text"]) == ("meeting", "民情恳谈会", item["text"])
    listed = platform.gateway.get(url("reports"), params={"channel": "meeting", "limit": 200}, headers=headers).json()["items"]
    assert sorted(r["id"] for r in listed if r["id"] in report_ids) == sorted(report_ids)
    shown = platform.gateway.get(url("meetings", meeting["id"]), headers=headers).json()
    assert [item["report_status"] for item in shown["items"]] == ["reported", "reported"]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_bad_network_fields_are_named_in_the_callers_language_and_nothing_is_written(platform, problem, language):
    headers = {**platform.login("community_worker"), "Accept-Language": language}
    with platform.nothing_written():
        bad_meeting = {"held_on": "2026-13-01", "place": "", "participants": {"names": ["张桂兰"], "count": 0}, "items": []}
        found = problem(platform.gateway.post(url("meetings"), json=bad_meeting, headers=headers), 400, "validation_failed", language)
        assert {"held_on", "place", "items"} <= {error["field"] for error in found["errors"]}
        by_field = {error["field"]: error["message"] for error in found["errors"]}
        assert ("反映事项" if language == "zh" else "items raised") in by_field["items"]
        bad_team = {"name": "", "compound": "幸福楼院"}
        team = problem(platform.gateway.post(url("info-officer-teams"), json=bad_team, headers=headers), 400, "validation_failed", language)
        assert [error["field"] for error in team["errors"]] == ["name"]
        bad_member = {"name": "张桂兰", "role": "believer", "joined_on": "2026-05-04"}
        member = problem(platform.gateway.post(url("info-officer-teams", "any", "members"), json=bad_member, headers=headers), 400, "validation_failed", language)
        assert "role" in {error["field"] for error in member["errors"]}


@pytest.fixture(scope="module")
def mianzhou_team(platform) -> dict:
    answer = platform.gateway.post(url("info-officer-teams"), json={**XINGFU_TEAM, "name": "和平楼院信息员小组", "compound": "和平楼院"}, headers=platform.login("community_worker"))
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def dongjin_meeting(platform) -> dict:
    body = {**MEETING, "items": [{"text": "滨江楼院停车难", "place": {"compound": "滨江楼院"}}]}
    answer = platform.gateway.post(url("meetings", community="c-dongjin"), json=body, headers=platform.login("community_worker_2"))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_community_worker_2_gets_404_for_a_team_of_another_community_and_403_for_its_lists(platform, problem, mianzhou_team):
    worker_2 = platform.login("community_worker_2")
    with platform.nothing_written():
        problem(platform.gateway.get(url("info-officer-teams", mianzhou_team["id"]), headers=worker_2), 404, "not_found")
        member = {"name": "张桂兰", "phone": "139 1234 5678", "role": "cadre", "joined_on": "2026-05-04"}
        problem(platform.gateway.post(url("info-officer-teams", mianzhou_team["id"], "members"), json=member, headers=worker_2), 404, "not_found")
        for collection in ("info-officer-teams", "info-officers", "party-groups", "meetings"):
            problem(platform.gateway.get(url(collection), headers=worker_2), 403, "forbidden")
        problem(platform.gateway.post(url("meetings"), json=MEETING, headers=worker_2), 403, "forbidden")


def test_the_auditor_reads_the_network_but_cannot_write(platform, problem, mianzhou_team):
    auditor = platform.login("auditor")
    assert platform.gateway.get(url("info-officer-teams", mianzhou_team["id"]), headers=auditor).status_code == 200
    with platform.nothing_written():
        problem(platform.gateway.post(url("info-officer-teams"), json=XINGFU_TEAM, headers=auditor), 403, "forbidden")
        problem(platform.gateway.post(url("party-groups"), json={"compound": "红星楼院"}, headers=auditor), 403, "forbidden")
        problem(platform.gateway.post(url("meetings"), json=MEETING, headers=auditor), 403, "forbidden")
        leave = url("info-officer-teams", mianzhou_team["id"], "members", "m", "leave")
        problem(platform.gateway.post(leave, json={"left_on": "2026-06-01"}, headers={**auditor, "If-Match": '"1"'}), 403, "forbidden")


def test_a_street_officer_sees_the_network_of_both_communities_of_its_street(platform, problem, mianzhou_team, dongjin_meeting):
    officer = platform.login("street_officer")
    assert platform.gateway.get(url("info-officer-teams", mianzhou_team["id"]), headers=officer).status_code == 200
    assert platform.gateway.get(url("meetings", dongjin_meeting["id"], community="c-dongjin"), headers=officer).status_code == 200
    problem(platform.gateway.get(url("meetings", community="c-changhong"), headers=officer), 403, "forbidden")
    problem(platform.gateway.get(url("meetings", dongjin_meeting["id"]), headers=officer), 404, "not_found")
