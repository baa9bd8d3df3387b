"""The scorecard, the worklist and the profile through the gateway, with the real processes:
a household not revisited within a year and an elderly resident not contacted for 30 days
are breaches by name until a visit or a contact; the profile gathers a resident's intake
record; and each view is scoped like every record.

The platform is shared by the session and these tests move its clock a year and more ahead
(every process at once, through the offset file), so the file runs last and every assertion
looks only at its own households, residents and reports."""

import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ELDERLY_ALONE = {"label": "elderly_alone", "since": "2026-01-05", "reason": "入户走访发现独居", "has_income": True,
                 "relative_phone": "139 0000 1234"}


def community(path: str, community_id: str = "c-mianzhou") -> str:
    return f"/api/v1/communities/{community_id}/{path}"


def eventually(check: Callable[[], object], timeout: float = 60.0) -> object:
    """The first truthy result of `check`, polled; fails after `timeout` (a bound, not a measure)."""
    give_up = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < give_up, "the platform never got there"
        time.sleep(0.2)
    return result


def move_clock(platform, days: float) -> None:
    """Moves every process's clock ahead (the offset file the demo-mode processes read)."""
    offset_file = Path(platform.platform.env["FIVEZERO_CLOCK_OFFSET_FILE"])
    current = float(offset_file.read_text() or 0) if offset_file.exists() else 0.0
    offset_file.write_text(str(current + days * 86400))


def registered(platform, survey, name: str, building: str, alone: bool = False) -> dict:
    answer = platform.register("community_worker", survey(name, "幸福楼院", building, **({"members": []} if alone else {})))
    assert answer.status_code == 201, answer.text
    return answer.json()


def scorecard(platform, user: str = "community_worker") -> dict:
    answer = platform.gateway.get(community("scorecard"), headers=platform.login(user))
    assert answer.status_code == 200, answer.text
    return answer.json()


def worklist(platform, within_days: int = 7) -> list[dict]:
    answer = platform.gateway.get(community("worklist"), params={"within_days": within_days},
                                  headers=platform.login("community_worker"))
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def breach(card: dict, pillar: str, kind: str, key: str, wanted: str) -> dict | None:
    return next((item for item in card[pillar]["breaches"][kind] if item[key] == wanted), None)


def test_a_household_not_revisited_within_a_year_is_a_breach_by_name_until_a_visit(any_platform, survey):
    platform = any_platform
    household = registered(platform, survey, "赵桂芳", "5栋")
    before = scorecard(platform)
    assert breach(before, "zero_blind_spots", "households_not_revisited", "household_id", household["id"]) is None
    assert before["zero_blind_spots"]["households"] >= 1

    move_clock(platform, 366)
    late = eventually(lambda: breach(scorecard(platform), "zero_blind_spots", "households_not_revisited",
                                     "household_id", household["id"]))
    assert (late["head_name"], late["building"], late["overdue"], late["overdue_days"]) == ("赵桂芳", "5栋", True, 1)
    listed = [item for item in worklist(platform) if item["id"] == household["id"]]
    assert [(item["kind"], item["overdue"]) for item in listed] == [("household_revisit", True)]

    visited = platform.gateway.post(community(f"households/{household['id']}/visits"),
                                    json={"visited_by": "李敏", "note": "赵桂芳家一切安好"},
                                    headers=platform.login("community_worker"))
    assert visited.status_code == 201, visited.text
    assert (visited.json()["late"], visited.json()["visited_by"]) == (True, "李敏")
    assert breach(scorecard(platform), "zero_blind_spots", "households_not_revisited", "household_id", household["id"]) is None
    shown = platform.gateway.get(community(f"households/{household['id']}"), headers=platform.login("community_worker"))
    assert shown.json()["last_visited_on"] == visited.json()["visited_on"]
    assert shown.json()["version"] == visited.json()["version"]


def test_an_elderly_resident_not_contacted_for_30_days_is_a_breach_and_a_work_item_until_a_contact(any_platform, survey):
    platform = any_platform
    resident_id = registered(platform, survey, "周玉兰", "6栋", alone=True)["head"]["resident_id"]
    labelled = platform.gateway.post(community(f"residents/{resident_id}/labels"), json=ELDERLY_ALONE,
                                     headers=platform.login("community_worker"))
    assert labelled.status_code == 201, labelled.text
    coming = [item for item in worklist(platform, within_days=31) if item["id"] == resident_id]
    assert [(item["kind"], item["name"], item["overdue"]) for item in coming] == [("elderly_contact", "周玉兰", False)]

    move_clock(platform, 31)
    late = eventually(lambda: breach(scorecard(platform), "zero_omission", "elderly_contacts_overdue",
                                     "resident_id", resident_id))
    assert (late["name"], late["overdue_days"] >= 1) == ("周玉兰", True)
    assert [(i["kind"], i["overdue"]) for i in worklist(platform) if i["id"] == resident_id] == [("elderly_contact", True)]

    called = platform.gateway.post(community(f"residents/{resident_id}/contacts"),
                                   json={"how": "phone", "contacted_by": "李敏", "note": "身体好，不缺什么"},
                                   headers=platform.login("community_worker"))
    assert (called.status_code, called.json()["late"]) == (201, True), called.text
    assert breach(scorecard(platform), "zero_omission", "elderly_contacts_overdue", "resident_id", resident_id) is None
    assert [i for i in worklist(platform) if i["id"] == resident_id] == []


def test_the_profile_shows_household_visits_labels_contacts_reports_and_merges(platform, survey):
    household = registered(platform, survey, "吴淑珍", "7栋", alone=True)
    resident_id = household["head"]["resident_id"]
    duplicate_id = registered(platform, survey, "吴淑珍", "8栋", alone=True)["head"]["resident_id"]
    worker = platform.login("community_worker")
    for path, body in [
        (f"residents/{resident_id}/labels", ELDERLY_ALONE),
        (f"residents/{resident_id}/contacts", {"how": "visit", "contacted_by": "李敏", "note": "送去了米和油"}),
        (f"households/{household['id']}/visits", {"visited_by": "李敏"}),
        (f"residents/{resident_id}/merge", {"duplicate_id": duplicate_id}),
    ]:
        answer = platform.gateway.post(community(path), json=body, headers=worker)
        assert answer.status_code in (200, 201), answer.text
    report = platform.gateway.post(community("reports"), headers=worker, json={
        "channel": "mailbox", "text": "楼道灯坏了", "place": {"compound": "幸福楼院", "building": "7栋"},
        "reporter": {"resident_id": resident_id},
    }).json()

    profile = eventually(lambda: (p := platform.gateway.get(community(f"residents/{resident_id}/profile"), headers=worker).json())
                         ["intake"]["reports"] and p)
    intake = profile["intake"]
    assert (profile["resident"]["name"], profile["resident"]["phone"]) == ("吴淑珍", "13812345678")  # a worker sees it whole
    assert (intake["household"]["id"], intake["household"]["visits"][0]["by"]) == (household["id"], "李敏")
    assert [label["label"] for label in intake["labels"]] == ["elderly_alone"]
    assert [(c["how"], c["note"]) for c in intake["contacts"]] == [("visit", "送去了米和油")]
    assert intake["next_contact"]["overdue"] is False
    assert [r["id"] for r in intake["reports"]] == [report["id"]]
    assert intake["merges"] == {"merged_into": None, "absorbed": [duplicate_id]}

    audited = platform.gateway.get(f"/api/v1/residents/{resident_id}/profile", headers=platform.login("auditor")).json()
    assert audited["resident"]["phone"] == "138****5678" and audited["intake"]["reports"][0]["id"] == report["id"]


def test_scorecards_worklists_and_profiles_are_scoped(platform, survey, problem):
    resident_id = registered(platform, survey, "郑秀兰", "9栋", alone=True)["head"]["resident_id"]
    outsider = platform.login("community_worker_2")
    problem(platform.gateway.get(community("scorecard"), headers=outsider), 403, "forbidden")
    problem(platform.gateway.get(community("worklist"), headers=outsider), 403, "forbidden")
    problem(platform.gateway.get(community(f"residents/{resident_id}/profile"), headers=outsider), 404, "not_found")
    problem(platform.gateway.get(f"/api/v1/residents/{resident_id}/profile", headers=outsider), 404, "not_found")
    assert platform.gateway.get(community("scorecard", "c-dongjin"), headers=outsider).status_code == 200

    street = platform.gateway.get("/api/v1/streets/s-chengjiao/scorecard", headers=platform.login("street_officer"))
    assert street.status_code == 200, street.text
    by_community = {c["community_id"]: c for c in street.json()["communities"]}
    assert set(by_community) == {"c-mianzhou", "c-dongjin"}
    assert street.json()["totals"]["zero_blind_spots"]["households"] == sum(
        c["zero_blind_spots"]["households"] for c in by_community.values()
    )
    problem(platform.gateway.get("/api/v1/streets/s-gongqu/scorecard", headers=platform.login("street_officer")), 403, "forbidden")
    problem(platform.gateway.get("/api/v1/streets/s-chengjiao/scorecard", headers=platform.login("community_worker")), 403, "forbidden")
    problem(platform.gateway.get("/api/v1/district/scorecard", headers=platform.login("street_officer")), 403, "forbidden")
    district = platform.gateway.get("/api/v1/district/scorecard", headers=platform.login("district_admin"))
    assert {c["community_id"] for c in district.json()["communities"]} == {"c-mianzhou", "c-dongjin", "c-changhong"}
    assert scorecard(platform, "auditor")["community_id"] == "c-mianzhou"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_bad_visit_or_contact_names_each_field_and_writes_nothing(platform, survey, problem, language):
    household = registered(platform, survey, "冯桂英", "10栋", alone=True)
    headers = {**platform.login("community_worker"), "Accept-Language": language}
    visits, contacts = f"households/{household['id']}/visits", f"residents/{household['head']['resident_id']}/contacts"
    with platform.nothing_written():
        bad_visit = platform.gateway.post(community(visits), json={"visited_on": "去年", "religion": "x"}, headers=headers)
        fields = {error["field"] for error in problem(bad_visit, 400, "validation_failed", language)["errors"]}
        assert fields == {"visited_by", "visited_on", "religion"}
        bad_contact = platform.gateway.post(community(contacts), json={"how": "wechat", "contacted_by": ""}, headers=headers)
        found = problem(bad_contact, 400, "validation_failed", language)
        assert {error["field"] for error in found["errors"]} == {"how", "contacted_by"}
        assert ("联系方式" if language == "zh" else "way of contact") in found["errors"][0]["message"] + found["errors"][1]["message"]
        future = platform.gateway.post(community(visits), json={"visited_by": "李敏", "visited_on": "2999-01-01"}, headers=headers)
        problem(future, 400, "validation_failed", language)
    missing = platform.gateway.post(community("households/no-such-household/visits"), json={"visited_by": "李敏"}, headers=headers)
    problem(missing, 404, "not_found", language)
