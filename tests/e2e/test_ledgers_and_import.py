"""The household survey (社情民意统计表) out of the platform as rows and as the book's
spreadsheet, and households into it from such a spreadsheet: all or none, never twice."""

from __future__ import annotations

import sqlite3
from datetime import date
from io import BytesIO
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from services.gateway.imports_api import MAX_SHEET_BYTES, XLSX_MEDIA_TYPE
from services.gateway.ledgers.layouts import HOUSEHOLD_SURVEY
from services.gateway.ledgers.xlsx import write_ledger

pytestmark = pytest.mark.e2e

LEDGER = "/api/v1/communities/{}/ledgers/household_survey"
IMPORT = "/api/v1/communities/{}/households/import"
HEADERS_IN_THE_BOOKS_ORDER = [column.header for column in HOUSEHOLD_SURVEY.columns]


def a_household(name: str, compound: str, building: str = "3栋", **changes: Any) -> dict[str, Any]:
    return {
        "head": {"name": name, "sex": "2", "birth_month": "1958-03", "ethnicity": "01", "political_status": "13",
                 "phone": "13812345678"},
        "members": [{"name": "李明", "sex": "1", "birth_month": "1985-07", "ethnicity": "01", "relation": "20"}],
        "address": {"compound": compound, "building": building, "unit": "2", "room": "301"},
        **changes,
    }


def a_sheet(*households: dict[str, Any]) -> bytes:
    return write_ledger(HOUSEHOLD_SURVEY, households, "绵州社区", date(2025, 3, 1))


def upload(platform, username: str, data: bytes, community: str = "c-mianzhou", **headers: str):
    return platform.gateway.post(
        IMPORT.format(community), files={"file": ("社情民意统计表.xlsx", data, XLSX_MEDIA_TYPE)},
        headers={**platform.login(username), **headers}, timeout=60,
    )


def sheet_rows(data: bytes) -> list[tuple]:
    return list(load_workbook(BytesIO(data), read_only=True).active.iter_rows(values_only=True))


def in_compound(platform, compound: str) -> list[dict[str, Any]]:
    answer = platform.gateway.get(
        IMPORT.format("c-mianzhou").removesuffix("/import"), params={"compound": compound, "limit": 200},
        headers=platform.login("community_worker"),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_the_household_survey_is_rows_in_the_books_columns_with_phones_masked(platform):
    registered = platform.register("community_worker", a_household("王秀英", "导出楼院"))
    assert registered.status_code == 201, registered.text
    household = registered.json()

    answer = platform.gateway.get(LEDGER.format("c-mianzhou"), headers=platform.login("community_worker"))

    assert answer.status_code == 200, answer.text
    ledger = answer.json()
    assert (ledger["ledger"], ledger["title"]) == ("household_survey", "社情民意统计表")
    assert [column["header"] for column in ledger["columns"]] == HEADERS_IN_THE_BOOKS_ORDER
    head, son = [row for row in ledger["rows"] if row["household_id"] == household["id"]]
    assert head["household_no"] == son["household_no"]
    assert (head["name"], head["relation"], head["household_size"], head["phone"]) == ("王秀英", "02", 2, "138****5678")
    assert (head["compound"], head["building"], head["room"]) == ("导出楼院", "3栋", "301")
    assert (son["name"], son["relation"], son["resident_id"]) == ("李明", "20", household["members"][0]["resident_id"])


def test_the_spreadsheet_is_the_books_form_with_phones_whole_for_a_worker_and_masked_for_the_auditor(platform):
    assert platform.register("community_worker", a_household("赵淑珍", "表格楼院")).status_code == 201

    worker = platform.gateway.get(
        LEDGER.format("c-mianzhou"), params={"format": "xlsx"}, headers=platform.login("community_worker")
    )
    auditor = platform.gateway.get(LEDGER.format("c-mianzhou"), params={"format": "xlsx"}, headers=platform.login("auditor"))

    assert worker.status_code == 200, worker.text
    assert worker.headers["content-type"] == XLSX_MEDIA_TYPE
    disposition = worker.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="household_survey-c-mianzhou-')
    assert f"filename*=UTF-8''{quote('社情民意统计表-绵州社区-')}" in disposition
    rows = sheet_rows(worker.content)
    assert rows[0][0] == "社情民意统计表"
    assert rows[1][0].startswith("社区：绵州社区")
    top, bottom = rows[2], rows[3]
    assert [b if t in (None, "家庭住址") else t for t, b in zip(top, bottom)] == HEADERS_IN_THE_BOOKS_ORDER
    [zhao] = [row for row in rows if row[1] == "赵淑珍"]
    assert zhao[2:7] == ("女", "1958-03", "汉族", "户主", "群众")
    assert (zhao[9], zhao[13]) == ("表格楼院", "13812345678")
    assert [row[13] for row in sheet_rows(auditor.content) if row[1] == "赵淑珍"] == ["138****5678"]


def test_every_person_in_a_workers_spreadsheet_is_in_the_audit_trail(platform):
    assert platform.register("community_worker", a_household("钱玉兰", "审计楼院")).status_code == 201

    answer = platform.gateway.get(
        LEDGER.format("c-mianzhou"), params={"format": "xlsx"}, headers=platform.login("community_head")
    )

    assert answer.status_code == 200, answer.text
    people_with_phones = sum(1 for row in sheet_rows(answer.content)[4:] if row[13])
    with sqlite3.connect(platform.log_path.parent / "gateway.db") as gateway_db:
        [[logged]] = gateway_db.execute(
            "SELECT count(*) FROM audit_log WHERE actor = 'community_head' AND resource LIKE '%household_survey?format=xlsx'"
        ).fetchall()
    assert logged >= people_with_phones > 0


def test_a_sheet_imports_its_households_and_residents_and_importing_it_again_registers_nobody(any_platform):
    data = a_sheet(a_household("孙桂英", "导入楼院"), a_household("周玉梅", "导入楼院", "5栋", members=[]))

    first = upload(any_platform, "community_worker", data)

    assert first.status_code == 201, first.text
    assert (first.json()["registered"], first.json()["already_present"], first.json()["visible"]) == (2, 0, True)
    assert [item["row"] for item in first.json()["households"]] == [5, 7]
    households = {item["head"]["name"]: item for item in in_compound(any_platform, "导入楼院")}
    assert sorted(households) == ["周玉梅", "孙桂英"]
    assert [member["name"] for member in households["孙桂英"]["members"]] == ["李明"]
    assert all(person["resident_id"] for person in [households["孙桂英"]["head"], *households["孙桂英"]["members"]])

    with any_platform.nothing_written():
        again = any_platform.gateway.post(
            IMPORT.format("c-mianzhou"), content=data,
            headers={**any_platform.login("community_worker"), "content-type": XLSX_MEDIA_TYPE},
        )
    assert again.status_code == 200, again.text
    assert (again.json()["registered"], again.json()["already_present"]) == (0, 2)
    assert [item["id"] for item in again.json()["households"]] == [item["id"] for item in first.json()["households"]]


def test_a_sheet_with_bad_rows_is_422_naming_each_row_and_column_and_nothing_is_imported(platform, problem):
    data = a_sheet(a_household("吴秀兰", "错误楼院"), a_household("郑桂芳", "错误楼院", "2栋"))
    workbook = load_workbook(BytesIO(data))
    workbook.active["C5"] = "未知"  # 性别 of 吴秀兰
    workbook.active["D7"] = "1958-13"  # 出生年月 of 郑桂芳
    buffer = BytesIO()
    workbook.save(buffer)

    with platform.nothing_written():
        answer = upload(platform, "community_worker", buffer.getvalue(), **{"Accept-Language": "en"})

    refused = problem(answer, 422, "import_failed", "en")
    assert [(error["row"], error["column"], error["field"]) for error in refused["errors"]] == [
        (5, "性别", "head.sex"),
        (7, "出生年月", "head.birth_month"),
    ]
    assert "未知" in refused["errors"][0]["message"] and refused["errors"][0]["message"].isascii() is False
    assert "does not exist" in refused["errors"][1]["message"]


def test_a_household_registered_with_other_content_makes_the_import_409_and_nothing_is_imported(platform, problem):
    assert upload(platform, "community_worker", a_sheet(a_household("冯淑英", "冲突楼院"))).status_code == 201
    changed = a_household("冯淑英", "冲突楼院", needs="老人助餐")

    with platform.nothing_written():
        answer = upload(platform, "community_worker", a_sheet(a_household("陈秀珍", "冲突楼院", "9栋"), changed))

    refused = problem(answer, 409, "import_conflict")
    [error] = refused["errors"]
    assert (error["row"], error["column"]) == (7, "姓名")
    assert "冯淑英" in error["message"]


def test_an_upload_over_the_size_limit_is_413(platform, problem):
    too_big = b"0" * (MAX_SHEET_BYTES + 1)
    answer = platform.gateway.post(
        IMPORT.format("c-mianzhou"), content=too_big,
        headers={**platform.login("community_worker"), "content-type": XLSX_MEDIA_TYPE},
    )
    problem(answer, 413, "body_too_large")


@pytest.mark.parametrize("username", ["community_worker_2", "auditor"])
def test_only_a_writer_of_the_community_imports(platform, problem, username):
    with platform.nothing_written():
        problem(upload(platform, username, a_sheet(a_household("韩玉珍", "越权楼院"))), 403, "forbidden")


def test_a_ledger_of_a_community_out_of_scope_is_403_and_an_unknown_ledger_404(platform, problem):
    other = platform.gateway.get(LEDGER.format("c-mianzhou"), headers=platform.login("community_worker_2"))
    problem(other, 403, "forbidden")
    as_sheet = platform.gateway.get(
        LEDGER.format("c-mianzhou"), params={"format": "xlsx"}, headers=platform.login("community_worker_2")
    )
    problem(as_sheet, 403, "forbidden")
    unknown = platform.gateway.get(
        "/api/v1/communities/c-mianzhou/ledgers/believers", headers=platform.login("community_worker")
    )
    problem(unknown, 404, "not_found")
