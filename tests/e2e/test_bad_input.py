"""Bad requests get RFC 9457 problem details naming every bad field, in Chinese or English,
and write nothing: no event in intake's store, no household in any list."""

import json

import pytest

pytestmark = pytest.mark.e2e

MIANZHOU = "/api/v1/communities/c-mianzhou/households"


@pytest.fixture
def worker(platform) -> dict[str, str]:
    return platform.login("community_worker")


@pytest.fixture
def bad_survey(survey) -> dict:
    """王秀英's form filled in badly: every kind of mistake the survey clerks make, at once."""
    form = survey()
    form["head"].update(name=5, sex="7", ethnicity="99", birth_month="2023-13", phone="138 1234 567")
    form["members"][0].update(relation="02", birth_month="2099-01")  # 户主 again; born in the future
    form["members"].append("李红")
    del form["address"]["building"]
    form["religion"] = "佛教"  # no field records anyone's belief
    return form


EXPECTED_FIELD_CODES = {
    "head.name": "wrong_type",
    "head.sex": "unknown_code",
    "head.ethnicity": "unknown_code",
    "head.birth_month": "impossible_month",
    "head.phone": "invalid_phone",
    "members.0.relation": "relation_is_head",
    "members.0.birth_month": "future_month",
    "members.1": "wrong_type",
    "address.building": "missing",
    "religion": "extra_field",
}


def test_malformed_json_is_a_400_problem_and_writes_nothing(platform, problem, worker):
    with platform.nothing_written():
        answer = platform.gateway.post(
            MIANZHOU, content='{"head": {"name": "王秀英",'.encode(),
            headers={**worker, "Content-Type": "application/json", "Accept-Language": "en"},
        )
    problem(answer, 400, "malformed_json", "en")


@pytest.mark.parametrize(
    "body, code",
    [("", "malformed_json"), ("[]", "validation_failed"), ('"王秀英"', "validation_failed")],
    ids=["empty", "array", "string"],
)
def test_a_body_that_is_not_a_json_object_is_a_400_problem(platform, problem, worker, body, code):
    with platform.nothing_written():
        answer = platform.gateway.post(
            MIANZHOU, content=body.encode(), headers={**worker, "Content-Type": "application/json"}
        )
    errors = problem(answer, 400, code)["errors"]
    if code == "validation_failed":
        assert [(error["field"], error["code"]) for error in errors] == [("", "wrong_type")]


def test_every_bad_field_is_named_in_one_problem_in_english(platform, problem, worker, bad_survey):
    with platform.nothing_written():
        answer = platform.gateway.post(
            MIANZHOU, json=bad_survey, headers={**worker, "Accept-Language": "en-US,en;q=0.9"}
        )

    body = problem(answer, 400, "validation_failed", "en")
    assert {error["field"]: error["code"] for error in body["errors"]} == EXPECTED_FIELD_CODES
    assert body["title"] == "Some fields are invalid"
    assert body["detail"] == f"{len(EXPECTED_FIELD_CODES)} fields need correcting"
    messages = {error["field"]: error["message"] for error in body["errors"]}
    assert messages["head.sex"] == "sex code is not in GB/T 2261.1: 7"
    assert messages["head.ethnicity"] == "ethnicity code is not in GB/T 3304: 99"
    assert messages["head.birth_month"] == "birth month does not exist: 2023-13"
    assert "138 1234 567" in messages["head.phone"]
    assert messages["religion"] == "unexpected field: religion"


@pytest.mark.parametrize(
    "accept_language", ["zh-CN", "zh-CN,zh;q=0.9,en;q=0.8", None], ids=["zh-CN", "weighted", "absent"]
)
def test_the_same_problem_reads_in_chinese_for_zh_cn_and_by_default(
    platform, problem, worker, bad_survey, accept_language
):
    headers = {**worker, **({"Accept-Language": accept_language} if accept_language else {})}
    with platform.nothing_written():
        answer = platform.gateway.post(MIANZHOU, json=bad_survey, headers=headers)

    body = problem(answer, 400, "validation_failed", "zh")
    assert {error["field"]: error["code"] for error in body["errors"]} == EXPECTED_FIELD_CODES
    assert body["title"] == "提交的内容有误"
    messages = {error["field"]: error["message"] for error in body["errors"]}
    assert messages["head.sex"] == "性别代码不在 GB/T 2261.1 中：7"
    assert messages["head.ethnicity"] == "民族代码不在 GB/T 3304 中：99"
    assert messages["head.birth_month"] == "出生年月不存在：2023-13"
    assert messages["address.building"] == "楼栋为必填项"
    assert messages["religion"] == "不接受的字段：religion"


def test_a_form_without_head_or_address_names_both(platform, problem, worker):
    with platform.nothing_written():
        answer = platform.gateway.post(MIANZHOU, json={"needs": "助餐"}, headers=worker)
    body = problem(answer, 400, "validation_failed")
    fields = {(error["field"], error["code"]) for error in body["errors"]}
    assert fields == {("head", "missing"), ("address", "missing")}


def test_a_body_over_one_mebibyte_is_413(platform, problem, worker, survey):
    oversized = json.dumps(survey(remarks="备注" * (1024 * 1024 // 6 + 1)), ensure_ascii=False).encode()
    assert len(oversized) > 1024 * 1024
    with platform.nothing_written():
        answer = platform.gateway.post(
            MIANZHOU, content=oversized, headers={**worker, "Content-Type": "application/json", "Accept-Language": "en"}
        )
    problem(answer, 413, "body_too_large", "en")


def test_an_unknown_community_is_404(platform, problem, worker, survey):
    with platform.nothing_written():
        answer = platform.gateway.post("/api/v1/communities/c-nowhere/households", json=survey(), headers=worker)
    assert "c-nowhere" in problem(answer, 404, "not_found")["detail"]


def test_an_unknown_community_is_404_even_when_the_body_is_bad_too(platform, problem, worker, bad_survey):
    """Where the request goes is decided before what it says: no form is checked for a
    community that does not exist."""
    with platform.nothing_written():
        answer = platform.gateway.post("/api/v1/communities/c-nowhere/households", json=bad_survey, headers=worker)
    problem(answer, 404, "not_found")


def test_a_writer_outside_the_community_gets_403_before_its_body_is_checked(platform, problem, bad_survey):
    """Access is decided first: a caller who may not write here learns nothing from field errors."""
    with platform.nothing_written():
        answer = platform.gateway.post(MIANZHOU, json=bad_survey, headers=platform.login("community_worker_2"))
    problem(answer, 403, "forbidden")


def test_a_bad_change_is_a_400_problem_and_leaves_the_household_as_it_was(platform, problem, worker, survey):
    registered = platform.register("community_worker", survey("何秀兰", "园艺山楼院", "2栋"))
    assert registered.status_code == 201, registered.text
    location = registered.headers["location"]
    before = platform.gateway.get(location, headers=worker)

    with platform.nothing_written():
        answer = platform.gateway.patch(
            location,
            json={"head": {**survey()["head"], "sex": "7"}, "address": None, "needs": "助" * 501},
            headers={**worker, "If-Match": '"1"', "Accept-Language": "en"},
        )
        empty = platform.gateway.patch(location, json={}, headers={**worker, "If-Match": '"1"'})

    body = problem(answer, 400, "validation_failed", "en")
    assert {error["field"]: error["code"] for error in body["errors"]} == {
        "head.sex": "unknown_code",
        "address": "cannot_clear",
        "needs": "too_long",
    }
    assert [error["code"] for error in problem(empty, 400, "validation_failed")["errors"]] == ["empty_change"]
    after = platform.gateway.get(location, headers=worker)
    assert after.json() == before.json()
    assert after.headers["etag"] == '"1"'


def test_an_if_match_that_is_not_a_version_is_412(platform, problem, worker, survey):
    location = platform.register("community_worker", survey("蒋玉梅", "园艺山楼院", "3栋")).headers["location"]
    with platform.nothing_written():
        answer = platform.gateway.patch(
            location, json={"needs": "助餐"}, headers={**worker, "If-Match": "latest", "Accept-Language": "en"}
        )
    assert "latest" in problem(answer, 412, "precondition_failed", "en")["detail"]  # intake's answer, in English


@pytest.mark.parametrize(
    "params", [{"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 201}, {"limit": "十"}],
    ids=["foreign-cursor", "limit-0", "limit-201", "limit-not-a-number"],
)
def test_a_bad_cursor_or_limit_is_a_400_problem(platform, problem, worker, params):
    answer = platform.gateway.get(MIANZHOU, params=params, headers={**worker, "Accept-Language": "en"})
    problem(answer, 400, "validation_failed", "en")
