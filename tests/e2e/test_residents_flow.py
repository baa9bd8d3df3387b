"""Residents through the gateway, over the real processes: one record per person, labels
as the book's ledgers 2–6, merging duplicates, personal data masked or whole (and
audited), reentry only for its duty, and erasure that leaves no plaintext anywhere."""

import asyncio
import io
import secrets
import time
from pathlib import Path

import asyncpg
import openpyxl
import pytest
import redis as sync_redis

from shared.idnumber import check_character

pytestmark = pytest.mark.e2e

RESIDENTS = "/api/v1/communities/{}/residents"


def residents(community="c-mianzhou", *rest: str) -> str:
    return "/".join([RESIDENTS.format(community), *rest])


def id_number(birth: str = "19480312", sequence: str | None = None) -> str:
    """A valid citizen ID number of 涪城区 (510703) born on `birth`."""
    first = f"510703{birth}{sequence or f'{secrets.randbelow(900) + 100}'}"
    return first + check_character(first)


def unique_phone() -> str:
    return f"137{secrets.randbelow(10**8):08d}"


def head_of(platform, survey, name, **head):
    form = survey(name, "幸福楼院", "3栋")
    form["head"].update(head)
    answer = platform.register("community_worker", form)
    assert answer.status_code == 201, answer.text
    return answer.json()["head"]["resident_id"], answer.json()


def label(platform, resident_id, body, user="community_worker", community="c-mianzhou"):
    return platform.gateway.post(residents(community, resident_id, "labels"), json=body, headers=platform.login(user))


HARDSHIP = {"label": "hardship", "since": "2026-03-01", "reason": "入户走访发现", "cause": "因病致贫：尿毒症透析"}
REENTRY = {
    "label": "reentry",
    "since": "2026-01-10",
    "reason": "司法所移交安置帮教",
    "reason_for_custody": "盗窃罪服刑三年",
    "released_on": "2026-01-05",
    "until": "2031-01-05",
}


def test_a_resident_is_found_by_pinyin_initials_and_shown_whole_only_to_a_worker_with_an_audit_row(platform, survey):
    phone, number = unique_phone(), id_number()
    resident_id, _ = head_of(platform, survey, "王秀英", phone=phone, id_number=number)
    worker = platform.login("community_worker")

    found = platform.gateway.get(residents(), params={"q": "wxy", "limit": 200}, headers=worker).json()["items"]
    [listed] = [item for item in found if item["id"] == resident_id]
    assert listed["phone"] == phone[:3] + "****" + phone[-4:]
    assert listed["id_number"] == number[:6] + "********" + number[-4:]
    assert resident_id in [i["id"] for i in platform.gateway.get(residents(), params={"q": "wangxiuying", "limit": 200}, headers=worker).json()["items"]]

    whole = platform.gateway.get(residents("c-mianzhou", resident_id), headers=worker).json()
    assert (whole["phone"], whole["id_number"], whole["name"]) == (phone, number, "王秀英")
    for user in ("auditor", "street_officer"):
        seen = platform.gateway.get(residents("c-mianzhou", resident_id), headers=platform.login(user)).json()
        assert seen["phone"] == listed["phone"], user

    trail = platform.gateway.get("/api/v1/audit", params={"community_id": "c-mianzhou"}, headers=platform.login("auditor"))
    assert trail.status_code == 200, trail.text
    mine = [entry for entry in trail.json()["items"] if entry["subject_id"] == resident_id]
    assert [(e["actor"], sorted(e["fields"])) for e in mine] == [("community_worker", ["id_number", "phone"])]
    assert platform.gateway.get("/api/v1/audit", headers=worker).status_code == 403


def test_a_label_is_added_listed_in_its_ledger_and_cleared_with_a_reason(platform, survey, problem):
    resident_id, _ = head_of(platform, survey, "赵桂芳")
    worker = platform.login("community_worker")

    added = label(platform, resident_id, HARDSHIP)
    assert added.status_code == 201, added.text
    assert added.json()["labels"][0]["details"]["cause"] == "****"  # a write's answer is masked
    again = label(platform, resident_id, HARDSHIP)
    problem(again, 409, "illegal_transition")

    record = platform.gateway.get(residents("c-mianzhou", resident_id), headers=worker).json()
    [hardship] = record["labels"]
    assert (hardship["label"], hardship["since"], hardship["details"]["cause"]) == ("hardship", "2026-03-01", "因病致贫：尿毒症透析")
    ledger = platform.gateway.get(residents(), params={"label": "hardship", "limit": 200}, headers=worker).json()["items"]
    assert resident_id in [item["id"] for item in ledger]

    cleared = platform.gateway.post(
        residents("c-mianzhou", resident_id, "labels", "hardship", "clear"),
        json={"on": "2026-11-30", "reason": "已就业，脱困"}, headers=worker,
    )
    assert cleared.status_code == 200, cleared.text
    ledger = platform.gateway.get(residents(), params={"label": "hardship", "limit": 200}, headers=worker).json()["items"]
    assert resident_id not in [item["id"] for item in ledger]
    problem(
        platform.gateway.post(residents("c-mianzhou", resident_id, "labels", "hardship", "clear"),
                              json={"on": "2026-11-30", "reason": "重复操作"}, headers=worker),
        409, "illegal_transition",
    )


def test_bad_label_input_names_each_field_in_chinese_and_english(platform, survey, problem):
    resident_id, _ = head_of(platform, survey, "钱玉梅")
    headers = {**platform.login("community_worker"), "Accept-Language": "en"}
    with platform.nothing_written():
        unknown = platform.gateway.post(residents("c-mianzhou", resident_id, "labels"), json={**HARDSHIP, "label": "belief"}, headers=headers)
        future = platform.gateway.post(
            residents("c-mianzhou", resident_id, "labels"),
            json={"label": "elderly_alone", "since": "2099-01-01", "reason": "独居", "has_income": "maybe", "relative_phone": "12345"},
            headers=platform.login("community_worker"),
        )
    problem(unknown, 400, "validation_failed", "en")
    body = problem(future, 400, "validation_failed")
    assert {e["field"]: e["code"] for e in body["errors"]} == {
        "elderly_alone.since": "future_date",
        "elderly_alone.has_income": "wrong_type",
        "elderly_alone.relative_phone": "invalid_phone",
    }
    assert "纳入日期" in next(e["message"] for e in body["errors"] if e["field"] == "elderly_alone.since")


def test_reentry_is_for_staff_with_that_duty_only(platform, survey, problem):
    resident_id, _ = head_of(platform, survey, "孙建国")
    problem(label(platform, resident_id, REENTRY), 403, "forbidden")  # the worker has no reentry duty
    given = label(platform, resident_id, REENTRY, user="community_head")
    assert given.status_code == 201, given.text

    worker_view = platform.gateway.get(residents("c-mianzhou", resident_id), headers=platform.login("community_worker")).json()
    assert worker_view["labels"] == []
    head_view = platform.gateway.get(residents("c-mianzhou", resident_id), headers=platform.login("community_head")).json()
    [reentry] = head_view["labels"]
    assert (reentry["until"], reentry["details"]["reason_for_custody"]) == ("2031-01-05", "盗窃罪服刑三年")
    problem(platform.gateway.get(residents(), params={"label": "reentry"}, headers=platform.login("community_worker")), 403, "forbidden")
    ledger = platform.gateway.get(residents(), params={"label": "reentry"}, headers=platform.login("community_head")).json()
    assert resident_id in [item["id"] for item in ledger["items"]]


def test_a_duplicate_is_merged_into_the_resident_with_both_records_linked(platform, survey, problem):
    survivor, _ = head_of(platform, survey, "冯淑珍")
    duplicate, second = head_of(platform, survey, "冯淑珍")
    assert survivor in [d["resident_id"] for d in second["possible_duplicates"]]
    worker = platform.login("community_worker")

    merged = platform.gateway.post(residents("c-mianzhou", survivor, "merge"), json={"duplicate_id": duplicate}, headers=worker)

    assert merged.status_code == 200, merged.text
    assert merged.json()["absorbed"] == [duplicate]
    assert platform.gateway.get(residents("c-mianzhou", duplicate), headers=worker).json()["merged_into"] == survivor
    listed = platform.gateway.get(residents(), params={"q": "冯淑珍"}, headers=worker).json()["items"]
    assert [item["id"] for item in listed] == [survivor]
    problem(label(platform, duplicate, HARDSHIP), 409, "illegal_transition")


def test_residents_are_scoped_like_every_record(platform, survey, problem):
    resident_id, _ = head_of(platform, survey, "蒋丽华")
    problem(platform.gateway.get(residents("c-mianzhou", resident_id), headers=platform.login("community_worker_2")), 404, "not_found")
    problem(platform.gateway.get(residents(), headers=platform.login("community_worker_2")), 403, "forbidden")
    problem(label(platform, resident_id, HARDSHIP, user="community_worker_2"), 404, "not_found")
    problem(label(platform, resident_id, HARDSHIP, user="auditor"), 403, "forbidden")
    officer = platform.login("street_officer")
    assert platform.gateway.get(residents("c-dongjin"), headers=officer).status_code == 200
    problem(platform.gateway.get(residents("c-changhong"), headers=officer), 403, "forbidden")


def test_erasure_leaves_no_plaintext_in_any_database_or_redis_stream_and_the_ledger_count_stays(any_platform, survey, problem):
    platform = any_platform
    phone, number, cause = unique_phone(), id_number(), f"因病致贫：肝移植术后 {secrets.token_hex(3)}"
    resident_id, household = head_of(platform, survey, "韩美兰", phone=phone, id_number=number)
    added = label(platform, resident_id, {**HARDSHIP, "cause": cause})
    assert added.status_code == 201, added.text
    head = platform.login("community_head")
    ledger_before = hardship_count(platform)
    assert platform.gateway.get(residents("c-mianzhou", resident_id), headers=head).json()["phone"] == phone

    problem(platform.gateway.post(residents("c-mianzhou", resident_id, "erase"), json={"reason": "本人申请"},
                                  headers=platform.login("community_worker")), 403, "forbidden")
    erased = platform.gateway.post(residents("c-mianzhou", resident_id, "erase"), json={"reason": "本人依法申请删除"}, headers=head)

    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] is True
    shown = platform.gateway.get(residents("c-mianzhou", resident_id), headers=head).json()
    assert (shown["phone"], shown["id_number"], shown["labels"][0]["details"]["cause"]) == (None, None, None)
    assert platform.gateway.get(f"/api/v1/communities/c-mianzhou/households/{household['id']}", headers=head).json()["head"]["phone"] is None
    assert hardship_count(platform) == ledger_before  # the person stays counted; their data is gone
    unemployed = {"label": "unemployed", "since": "2026-06-01", "reason": "下岗", "skills": "电工"}
    problem(label(platform, resident_id, unemployed), 409, "illegal_transition")

    plaintexts = [phone.encode(), number.encode(), cause.encode()]
    dumps = {**database_dumps(platform), **redis_stream_dumps(platform)}
    assert len(dumps) >= 3
    # The scan does see what is stored in the clear: the name (not sensitive data) is found.
    assert any("韩美兰".encode() in content for content in dumps.values())
    found = {where: [p.decode() for p in plaintexts if p in content] for where, content in dumps.items()}
    assert {where: hits for where, hits in found.items() if hits} == {}


def hardship_count(platform) -> int:
    answer = platform.gateway.get(residents(), params={"label": "hardship", "limit": 200}, headers=platform.login("community_head"))
    assert answer.status_code == 200, answer.text
    return len(answer.json()["items"])


def database_dumps(platform) -> dict[str, bytes]:
    """Every database file byte for byte (SQLite, with its WAL), or every row of every table (PostgreSQL)."""
    env = platform.platform.env
    url = env.get("FIVEZERO_DATABASE_URL", "")
    if url.startswith("postgresql"):
        return asyncio.run(_postgres_rows(url.replace("postgresql+asyncpg", "postgresql")))
    dumps = {}
    for key in ("FIVEZERO_INTAKE_DATABASE_URL", "FIVEZERO_GATEWAY_DATABASE_URL"):
        path = Path(env[key].removeprefix("sqlite+aiosqlite:///"))
        for file in (path, Path(f"{path}-wal")):
            if file.exists():
                dumps[str(file)] = file.read_bytes()
    return dumps


async def _postgres_rows(url: str) -> dict[str, bytes]:
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        dumps = {}
        for table in tables:
            name = f'"{table["schemaname"]}"."{table["tablename"]}"'
            rows = await conn.fetch(f"SELECT t::text AS row FROM {name} t")  # noqa: S608 - names from the catalogue
            dumps[name] = "\n".join(row["row"] for row in rows).encode()
        return dumps
    finally:
        await conn.close()


def redis_stream_dumps(platform) -> dict[str, bytes]:
    client = sync_redis.Redis.from_url(platform.platform.env["FIVEZERO_REDIS_URL"])
    try:
        dumps = {}
        for key in client.scan_iter(count=1000):
            if client.type(key) == b"stream":
                entries = client.xrange(key)
                dumps[f"redis:{key.decode()}"] = b"\n".join(
                    b" ".join(k + b"=" + v for k, v in fields.items()) for _id, fields in entries
                )
        return dumps
    finally:
        client.close()


def test_the_hardship_ledger_lists_labelled_residents_in_the_books_columns_as_json_and_xlsx(platform, survey):
    phone = unique_phone()
    resident_id, _ = head_of(platform, survey, "曹桂兰", phone=phone)
    cause = f"因病致贫：糖尿病 {secrets.token_hex(2)}"
    assert label(platform, resident_id, {**HARDSHIP, "cause": cause}).status_code == 201
    worker = platform.login("community_worker")
    ledger = "/api/v1/communities/c-mianzhou/ledgers/hardship"

    rows = platform.gateway.get(ledger, headers=worker).json()
    assert [c["header"] for c in rows["columns"]] == ["姓名", "性别", "家庭人口", "工作单位", "家庭住址", "联系电话", "困难原因"]
    [mine] = [row for row in rows["rows"] if row["resident_id"] == resident_id]
    assert (mine["name"], mine["household_size"], mine["phone"], mine["hardship_cause"]) == (
        "曹桂兰", 2, phone[:3] + "****" + phone[-4:], "****",
    )

    sheet = platform.gateway.get(ledger, params={"format": "xlsx"}, headers=worker)
    assert sheet.status_code == 200, sheet.text
    found = sheet_row(sheet.content, "曹桂兰")
    assert found[-2:] == [phone, cause]  # the printed book is whole for the worker who keeps it
    masked = sheet_row(platform.gateway.get(ledger, params={"format": "xlsx"}, headers=platform.login("auditor")).content, "曹桂兰")
    assert masked[-1] == "****"
    assert platform.gateway.get("/api/v1/communities/c-mianzhou/ledgers/reentry", headers=worker).status_code == 403
    assert platform.gateway.get("/api/v1/communities/c-mianzhou/ledgers/reentry", headers=platform.login("community_head")).status_code == 200


def sheet_row(content: bytes, name: str) -> list:
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    [row] = [row for row in rows if row and row[0] == name]
    return row


LEDGER_LABELS = {
    "unemployed": ({"label": "unemployed", "since": "2026-02-01", "reason": "纺织厂关停", "skills": "电工、焊工",
                    "former_work_unit": "绵阳纺织厂"}, ["绵阳纺织厂", "电工、焊工"]),
    "elderly_alone": ({"label": "elderly_alone", "since": "2026-02-01", "reason": "子女在外地", "has_income": True,
                       "relative_phone": "13900001111", "health": "高血压，行动不便"}, ["13900001111", "是"]),
    "veteran_hardship": ({"label": "veteran_hardship", "since": "2026-02-01", "reason": "军转干部生活困难",
                          "transferred_in": "1998-07", "employed_at": "未择业"}, ["1998-07", "未择业"]),
    "reentry": (REENTRY, ["盗窃罪服刑三年", "2026-01-05"]),
}


@pytest.mark.parametrize("ledger", list(LEDGER_LABELS))
def test_each_label_ledger_opens_as_a_spreadsheet_with_the_books_title_headers_and_a_row(platform, survey, ledger):
    body, expected_cells = LEDGER_LABELS[ledger]
    name = {"unemployed": "邓建华", "elderly_alone": "彭秀芝", "veteran_hardship": "许国强", "reentry": "傅小军"}[ledger]
    resident_id, _ = head_of(platform, survey, name)
    head = platform.login("community_head")  # the only demo user with the reentry duty; a writer too
    assert label(platform, resident_id, body, user="community_head").status_code == 201

    sheet = platform.gateway.get(f"/api/v1/communities/c-mianzhou/ledgers/{ledger}", params={"format": "xlsx"}, headers=head)

    assert sheet.status_code == 200, sheet.text
    columns = platform.gateway.get(f"/api/v1/communities/c-mianzhou/ledgers/{ledger}", headers=head).json()["columns"]
    workbook = openpyxl.load_workbook(io.BytesIO(sheet.content), read_only=True).active
    rows = [list(row) for row in workbook.iter_rows(values_only=True)]
    title = {"unemployed": "下岗失业人员统计表", "elderly_alone": "空巢及孤寡老人统计表",
             "veteran_hardship": "困难军转干部统计表", "reentry": "“两劳”人员统计表"}[ledger]
    assert any(title in str(cell) for cell in rows[0] if cell)
    assert [c["header"] for c in columns] in [[cell for cell in row if cell] for row in rows[:4]]
    row = sheet_row(sheet.content, name)
    for cell in expected_cells:
        assert cell in [str(value) for value in row], (cell, row)


def test_a_member_moves_to_another_household_and_both_households_show_it(platform, survey, problem):
    """李明 leaves his mother's household for his own (李明 is 户主's son in the default form)."""
    _, mother = head_of(platform, survey, "姚淑英")
    _, wife = head_of(platform, survey, "严春燕")
    son = mother["members"][0]["resident_id"]
    worker = platform.login("community_worker")
    households = "/api/v1/communities/c-mianzhou/households"

    moved = platform.gateway.post(
        residents("c-mianzhou", son, "move"),
        json={"household_id": wife["id"], "relation": "10", "on": "2026-10-01", "reason": "婚后迁入配偶家"},
        headers=worker,
    )

    assert moved.status_code == 200, moved.text
    assert moved.json()["household_id"] == wife["id"]
    before = platform.gateway.get(f"{households}/{mother['id']}", headers=worker).json()
    after = platform.gateway.get(f"{households}/{wife['id']}", headers=worker).json()
    assert son not in [m["resident_id"] for m in before["members"]] and before["household_size"] == 1
    assert son in [m["resident_id"] for m in after["members"]] and after["household_size"] == 3
    assert [m["relation"] for m in after["members"] if m["resident_id"] == son] == ["10"]

    problem(platform.gateway.post(residents("c-mianzhou", mother["head"]["resident_id"], "move"),
                                  json={"household_id": None, "on": "2026-10-01", "reason": "迁出"}, headers=worker),
            409, "illegal_transition")  # a head cannot leave their household
    problem(platform.gateway.post(residents("c-mianzhou", son, "move"),
                                  json={"household_id": wife["id"], "on": "2026-10-01", "reason": "迁入"}, headers=worker),
            400, "validation_failed")  # joining needs a relation
    gone = platform.gateway.post(residents("c-mianzhou", son, "move"),
                                 json={"household_id": None, "on": "2026-11-01", "reason": "迁出本社区"}, headers=worker)
    assert gone.status_code == 200, gone.text
    assert gone.json()["household_id"] is None


def test_an_elderly_residents_health_is_sealed_whole_for_the_worker_and_hidden_from_the_auditor(platform, survey):
    resident_id, _ = head_of(platform, survey, "殷桂珍")
    body = {"label": "elderly_alone", "since": "2026-03-01", "reason": "独居", "has_income": False, "health": "阿尔茨海默病早期"}
    assert label(platform, resident_id, body).status_code == 201

    def health_seen_by(user):
        record = platform.gateway.get(residents("c-mianzhou", resident_id), headers=platform.login(user)).json()
        return record["labels"][0]["details"]["health"]

    assert health_seen_by("community_worker") == "阿尔茨海默病早期"
    assert health_seen_by("auditor") == "****"


def test_a_member_dropped_from_the_survey_leaves_the_household_on_their_record_too(platform, survey):
    _, household = head_of(platform, survey, "顾月琴")
    son = household["members"][0]["resident_id"]
    worker = platform.login("community_worker")

    changed = platform.gateway.patch(
        f"/api/v1/communities/c-mianzhou/households/{household['id']}",
        json={"members": []}, headers={**worker, "If-Match": '"1"'},
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["household_size"] == 1
    # The resident's record is another read model row, written in the same transaction:
    # the PATCH answers once the household shows, the resident follows.
    deadline = time.monotonic() + 10
    while (record := platform.gateway.get(residents("c-mianzhou", son), headers=worker).json())["household_id"]:
        assert time.monotonic() < deadline, record
        time.sleep(0.05)
    assert record["household_id"] is None
