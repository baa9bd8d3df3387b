"""The mediation rosters and ledgers through the gateway, with the real processes: mediators
and units sharing mediation duty registered, changed and removed (If-Match, problem
details, phones masked or whole and logged), their numbers of mediations counted from the
sessions that name them by id or by name; the ledgers 调解矛盾纠纷记录表, 辖区调解员情况统计表
and 辖区单位参与调解责任表 as rows and as the book's spreadsheet; and who may see and do what
on every new path."""

import sqlite3
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests.e2e.test_mediation_flow import AGREEMENT, INVESTIGATION, act, registered

pytestmark = pytest.mark.e2e

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUN = {"name": "孙立新", "sex": "1", "work_unit": "绵州社区人民调解委员会", "phone": "13912345678", "remarks": "调委会主任"}
ZHOU = {"name": "周海燕", "sex": "2", "work_unit": "幸福楼院楼长", "phone": "13687654321"}
POLICE = {"unit_name": "绵州派出所社区警务室", "person_responsible": "吴国强", "phone": "13566667777", "remarks": "警调对接"}


def roster(community: str = "c-mianzhou", *parts: str) -> str:
    return "/".join([f"/api/v1/communities/{community}", *parts])


def ledger(name: str, community: str = "c-mianzhou") -> str:
    return f"/api/v1/communities/{community}/ledgers/{name}"


def sheet_rows(data: bytes) -> list[tuple]:
    return list(load_workbook(BytesIO(data), read_only=True).active.iter_rows(values_only=True))


def put_on_roster(platform, path: str, body: dict, user: str = "community_worker") -> dict:
    answer = platform.gateway.post(roster("c-mianzhou", path), json=body, headers=platform.login(user))
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def mediated(platform) -> dict:
    """孙立新 (by id) and 周海燕 (by name only) mediate a case with the police post (by id)."""
    sun, zhou = put_on_roster(platform, "mediators", SUN), put_on_roster(platform, "mediators", ZHOU)
    police = put_on_roster(platform, "mediation-units", POLICE)
    case = registered(platform, dispute_cause="名册：楼道堆物起争执")
    for action, body in (("accept", {"mediators": ["孙立新"]}), ("investigations", INVESTIGATION)):
        case = act(platform, "mediator", case, action, body).json()
    session = {"held_at": "2026-11-06T14:00:00+08:00", "place": "社区调解室", "mediators": ["孙立新", "周海燕"],
               "mediator_ids": [sun["id"]], "unit_ids": [police["id"]], "participants": ["王秀英", "张建华"],
               "account": "讲清消防要求，双方同意清理楼道"}
    held = act(platform, "mediator", case, "sessions", session)
    assert held.status_code == 200, held.text
    case = act(platform, "mediator", held.json(), "agreement", AGREEMENT).json()
    return {"sun": sun, "zhou": zhou, "police": police, "case": case}


def test_a_mediator_is_registered_with_the_phone_masked_and_no_mediations_yet(platform):
    answer = platform.gateway.post(roster("c-mianzhou", "mediators"), json={**SUN, "name": "钱新来"},
                                   headers=platform.login("community_head"))
    assert answer.status_code == 201, answer.text
    entry = answer.json()
    assert (entry["name"], entry["sex"], entry["phone"], entry["mediations"], entry["removed"]) == (
        "钱新来", "1", "139****5678", 0, None)
    assert answer.headers["etag"] == '"1"' and answer.headers["location"].endswith(f"/mediators/{entry['id']}")
    assert "phone_masked" not in entry


def test_each_roster_entry_counts_the_sessions_that_name_it_by_id_or_by_name(platform, mediated):
    headers = platform.login("auditor")
    mediators = {m["id"]: m for m in platform.gateway.get(roster("c-mianzhou", "mediators"), headers=headers).json()["items"]}
    assert mediators[mediated["sun"]["id"]]["mediations"] == 1
    assert mediators[mediated["zhou"]["id"]]["mediations"] == 1
    assert mediators[mediated["sun"]["id"]]["phone"] == "139****5678"
    units = platform.gateway.get(roster("c-mianzhou", "mediation-units"), headers=headers).json()["items"]
    [police] = [unit for unit in units if unit["id"] == mediated["police"]["id"]]
    assert (police["unit_name"], police["person_responsible"], police["mediations"], police["phone"]) == (
        "绵州派出所社区警务室", "吴国强", 1, "135****7777")


def test_a_session_naming_an_entry_of_another_community_is_409_and_writes_nothing(platform, problem):
    dongjin = platform.gateway.post(roster("c-dongjin", "mediators"), json={**SUN, "name": "东津调解员"},
                                    headers=platform.login("community_worker_2")).json()
    case = registered(platform, dispute_cause="名册：越界调解员")
    for action, body in (("accept", {"mediators": ["孙立新"]}), ("investigations", INVESTIGATION)):
        case = act(platform, "mediator", case, action, body).json()
    before = platform.mediation_event_count()
    session = {"held_at": "2026-11-06T15:00:00+08:00", "place": "调解室", "mediators": ["东津调解员"],
               "mediator_ids": [dongjin["id"]], "account": "不应记入"}
    answer = problem(act(platform, "mediator", case, "sessions", session, **{"Accept-Language": "en"}), 409,
                     "illegal_transition", "en")
    assert "not on this community's roster" in answer["detail"]
    assert platform.mediation_event_count() == before


def test_a_worker_sees_one_phone_whole_and_it_is_logged_while_the_auditor_sees_it_masked(platform, mediated):
    path = roster("c-mianzhou", "mediators", mediated["sun"]["id"])
    whole = platform.gateway.get(path, params={"whole": "true"}, headers=platform.login("community_worker"))
    masked = platform.gateway.get(path, params={"whole": "true"}, headers=platform.login("auditor"))
    assert (whole.json()["phone"], masked.json()["phone"]) == ("13912345678", "139****5678")
    with sqlite3.connect(platform.log_path.parent / "gateway.db") as gateway_db:
        logged = gateway_db.execute(
            "SELECT count(*) FROM audit_log WHERE actor = 'community_worker' AND subject_id = ?", (mediated["sun"]["id"],)
        ).fetchone()[0]
    assert logged >= 1


def test_an_entry_is_changed_at_its_version_and_removed_from_the_roster(platform, problem):
    entry = put_on_roster(platform, "mediation-units", {**POLICE, "unit_name": "幸福物业"})
    path = roster("c-mianzhou", "mediation-units", entry["id"])
    worker = platform.login("community_worker")
    before = platform.mediation_event_count()
    problem(platform.gateway.put(path, json=POLICE, headers=worker), 428, "precondition_required")
    problem(platform.gateway.put(path, json=POLICE, headers={**worker, "If-Match": '"9"'}), 412, "precondition_failed")
    assert platform.mediation_event_count() == before
    changed = platform.gateway.put(path, json={**POLICE, "unit_name": "幸福物业公司", "phone": None},
                                   headers={**worker, "If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["unit_name"], changed.json()["phone"], changed.json()["version"]) == ("幸福物业公司", None, 2)
    removed = platform.gateway.post(path + "/remove", json={"reason": "合同到期"}, headers={**worker, "If-Match": '"2"'})
    assert removed.status_code == 200, removed.text
    listed = platform.gateway.get(roster("c-mianzhou", "mediation-units"), headers=worker).json()["items"]
    assert entry["id"] not in [unit["id"] for unit in listed]
    with_removed = platform.gateway.get(roster("c-mianzhou", "mediation-units"), params={"removed": "true"}, headers=worker)
    assert entry["id"] in [unit["id"] for unit in with_removed.json()["items"]]
    problem(platform.gateway.put(path, json=POLICE, headers={**worker, "If-Match": '"3"'}), 409, "illegal_transition")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_bad_fields_are_named_in_the_callers_language_and_nothing_is_written(platform, problem, language):
    headers = {**platform.login("community_worker"), "Accept-Language": language}
    before = platform.mediation_event_count()
    answer = problem(platform.gateway.post(roster("c-mianzhou", "mediators"), json={"name": "", "sex": "7", "phone": "110"},
                                           headers=headers), 400, "validation_failed", language)
    errors = {error["field"]: error["message"] for error in answer["errors"]}
    assert set(errors) == {"name", "sex", "phone"}
    assert ("联系电话" if language == "zh" else "phone") in errors["phone"]
    answer = problem(platform.gateway.post(roster("c-mianzhou", "mediation-units"), json={"unit_name": "物业"},
                                           headers=headers), 400, "validation_failed", language)
    assert [error["field"] for error in answer["errors"]] == ["person_responsible"]
    assert platform.mediation_event_count() == before


def test_the_mediation_record_is_rows_and_the_books_form(platform, mediated):
    worker = platform.login("community_worker")
    rows = platform.gateway.get(ledger("mediation_record"), headers=worker).json()
    assert (rows["ledger"], rows["title"]) == ("mediation_record", "调解矛盾纠纷记录表")
    headers = ["当事人(甲)", "当事人(乙)", "时间", "地点", "调解人", "纠纷缘由", "参加对象", "调解情况", "结果反馈", "备注"]
    assert [column["header"] for column in rows["columns"]] == headers
    [row] = [row for row in rows["rows"] if row["dispute_id"] == mediated["case"]["id"]]
    assert (row["party_a"], row["party_b"], row["held_at"], row["mediators"]) == (
        "王秀英", "张建华", "2026-11-06 14:00", "孙立新、周海燕")
    assert row["result"].startswith(f"已达成协议；协议：{AGREEMENT['terms']}")
    sheet = platform.gateway.get(ledger("mediation_record"), params={"format": "xlsx"}, headers=worker)
    assert sheet.headers["content-type"] == XLSX_MEDIA_TYPE
    cells = sheet_rows(sheet.content)
    assert cells[0][0] == "调解矛盾纠纷记录表" and cells[1][0].startswith("社区：绵州社区")
    assert list(cells[2]) == headers
    assert ("王秀英", "张建华", "2026-11-06 14:00", "社区调解室", "孙立新、周海燕", "名册：楼道堆物起争执", "王秀英、张建华",
            "讲清消防要求，双方同意清理楼道") in [tuple(c[:8]) for c in cells[3:]]


@pytest.mark.parametrize(("name", "title", "headers", "expected"), [
    ("mediators", "辖区调解员情况统计表", ["姓名", "性别", "工作单位", "联系电话", "参与调解次数", "备注"],
     ("孙立新", "男", "绵州社区人民调解委员会", "13912345678", 1, "调委会主任")),
    ("mediation_units", "辖区单位参与调解责任表", ["单位", "参与调解责任人", "联系电话", "参与调解次数", "备注"],
     ("绵州派出所社区警务室", "吴国强", "13566667777", 1, "警调对接")),
])
def test_the_roster_ledgers_are_rows_and_the_books_form_phones_whole_only_for_a_worker(
    platform, mediated, name, title, headers, expected
):
    rows = platform.gateway.get(ledger(name), headers=platform.login("community_worker")).json()
    assert (rows["ledger"], rows["title"]) == (name, title)
    assert [column["header"] for column in rows["columns"]] == headers
    key = "sun" if name == "mediators" else "police"
    [row] = [row for row in rows["rows"] if row["id"] == mediated[key]["id"]]
    assert row["mediations"] == 1 and "****" in row["phone"]
    worker = platform.gateway.get(ledger(name), params={"format": "xlsx"}, headers=platform.login("community_worker"))
    auditor = platform.gateway.get(ledger(name), params={"format": "xlsx"}, headers=platform.login("auditor"))
    cells = sheet_rows(worker.content)
    assert cells[0][0] == title and list(cells[2]) == headers
    assert expected in [tuple(row) for row in cells[3:]]
    phone_column = headers.index("联系电话")
    masked = [row for row in sheet_rows(auditor.content)[3:] if row[0] == expected[0]]
    assert [row[phone_column] for row in masked] == [expected[phone_column][:3] + "****" + expected[phone_column][-4:]]


@pytest.mark.parametrize("path", ["mediators", "mediation-units"])
def test_community_worker_2_gets_403_for_the_roster_and_404_for_an_entry_and_writes_nothing(platform, problem, mediated, path):
    entry = mediated["sun" if path == "mediators" else "police"]
    worker_2 = platform.login("community_worker_2")
    body = SUN if path == "mediators" else POLICE
    before = platform.mediation_event_count()
    problem(platform.gateway.get(roster("c-mianzhou", path), headers=worker_2), 403, "forbidden")
    problem(platform.gateway.post(roster("c-mianzhou", path), json=body, headers=worker_2), 403, "forbidden")
    problem(platform.gateway.get(roster("c-mianzhou", path, entry["id"]), headers=worker_2), 404, "not_found")
    problem(platform.gateway.put(roster("c-mianzhou", path, entry["id"]), json=body,
                                 headers={**worker_2, "If-Match": '"1"'}), 404, "not_found")
    problem(platform.gateway.post(roster("c-mianzhou", path, entry["id"], "remove"), json={},
                                  headers={**worker_2, "If-Match": '"1"'}), 404, "not_found")
    problem(platform.gateway.get(roster("c-dongjin", path, entry["id"]), headers=worker_2), 404, "not_found")
    assert platform.mediation_event_count() == before


@pytest.mark.parametrize("path", ["mediators", "mediation-units"])
def test_the_auditor_and_the_street_officer_read_the_roster_but_do_not_write(platform, problem, mediated, path):
    entry = mediated["sun" if path == "mediators" else "police"]
    body = SUN if path == "mediators" else POLICE
    before = platform.mediation_event_count()
    for user in ("auditor", "street_officer"):
        headers = platform.login(user)
        assert platform.gateway.get(roster("c-mianzhou", path), headers=headers).status_code == 200
        assert platform.gateway.get(roster("c-mianzhou", path, entry["id"]), headers=headers).status_code == 200
        problem(platform.gateway.post(roster("c-mianzhou", path), json=body, headers=headers), 403, "forbidden")
        problem(platform.gateway.put(roster("c-mianzhou", path, entry["id"]), json=body,
                                     headers={**headers, "If-Match": '"1"'}), 403, "forbidden")
        problem(platform.gateway.post(roster("c-mianzhou", path, entry["id"], "remove"), json={},
                                      headers={**headers, "If-Match": '"1"'}), 403, "forbidden")
    problem(platform.gateway.get(roster("c-changhong", path), headers=platform.login("street_officer")), 403, "forbidden")
    assert platform.mediation_event_count() == before


@pytest.mark.parametrize("name", ["mediation_record", "mediators", "mediation_units"])
def test_a_mediation_ledger_of_a_community_out_of_scope_is_403(platform, problem, name):
    for format_ in ("json", "xlsx"):
        answer = platform.gateway.get(ledger(name), params={"format": format_}, headers=platform.login("community_worker_2"))
        problem(answer, 403, "forbidden")
    assert platform.gateway.get(ledger(name), headers=platform.login("street_officer")).status_code == 200
