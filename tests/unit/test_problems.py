import logging
from datetime import date
from typing import Any, Literal

import pytest
from litestar import Litestar, get, post
from litestar.exceptions import (
    HTTPException,
    InternalServerException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.params import FromQuery, JSONBody
from litestar.testing import TestClient
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from shared.contracts.intake_requests import RegisterHousehold
from shared.problems import (
    FIELD_MESSAGES,
    PROBLEMS,
    ProblemError,
    exception_handlers,
    field_error,
    field_errors_from_pydantic,
    language_from,
    problem_response,
)

# --- Accept-Language ---


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "zh"),
        ("", "zh"),
        ("*", "zh"),
        ("fr-FR, de", "zh"),
        ("en", "en"),
        ("en-US", "en"),
        ("EN-gb", "en"),
        ("zh-CN", "zh"),
        ("zh-Hans-CN, en;q=0.9", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("en;q=0.5, zh;q=0.8", "zh"),
        ("zh;q=0.3, en", "en"),
        ("fr, en-GB;q=0.5", "en"),
        ("en;q=0, fr", "zh"),
        ("en;q=abc, zh;q=0.1", "zh"),
        ("english", "zh"),
    ],
)
def test_the_language_follows_accept_language_and_defaults_to_chinese(header: str | None, language: str):
    assert language_from(header) == language


# --- the problem itself ---


def test_a_problem_takes_its_status_and_titles_from_its_code():
    problem = ProblemError("version_conflict", detail_zh="当前版本为 3", detail_en="the current version is 3")

    assert problem.status == 409
    assert problem.title_zh == "记录已被他人修改，请刷新后重试"
    assert problem.title_en.startswith("The record was changed")
    assert str(problem) == "409 version_conflict: the current version is 3"


def test_every_code_the_brief_names_has_a_problem():
    named = {
        "validation_failed": 400,
        "malformed_json": 400,
        "unauthenticated": 401,
        "forbidden": 403,
        "not_found": 404,
        "version_conflict": 409,
        "precondition_failed": 412,
        "body_too_large": 413,
        "precondition_required": 428,
        "internal_error": 500,
    }
    assert {code: PROBLEMS[code].status for code in named} == named


def test_a_problem_with_an_unlisted_code_is_a_programming_error():
    with pytest.raises(KeyError):
        ProblemError("household_on_fire")


def test_a_problem_response_is_rfc_9457_json_in_the_requested_language():
    problem = ProblemError(
        "validation_failed",
        detail_zh="有 1 处需要修改",
        detail_en="1 field needs correcting",
        field_errors=[field_error("members.0.birth_month", "impossible_month", input="2023-13")],
    )

    response = problem_response(problem, "en")

    assert response.status_code == 400
    assert response.media_type == "application/problem+json"
    assert response.headers["Content-Language"] == "en"
    assert response.content == {
        "type": "https://fivezero.example/problems/validation_failed",
        "title": "Some fields are invalid",
        "status": 400,
        "detail": "1 field needs correcting",
        "code": "validation_failed",
        "errors": [
            {
                "field": "members.0.birth_month",
                "code": "impossible_month",
                "message": "birth month does not exist: 2023-13",
            }
        ],
    }
    assert problem_response(problem, "zh").content["errors"][0]["message"] == "出生年月不存在：2023-13"


def test_a_problem_without_detail_repeats_its_title():
    assert problem_response(ProblemError("not_found"), "zh").content["detail"] == "找不到该记录"


# --- pydantic errors as field errors ---


class Survey(BaseModel):
    """A model that can fail in every way pydantic reports."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=5)
    age: int | None = None
    score: float | None = None
    consent: bool | None = None
    sex: Literal["1", "2"] | None = None
    visited_on: date | None = None
    rooms: list[str] = Field(default_factory=list, max_length=2)
    floor: int = Field(default=1, ge=1)
    child: "Survey | None" = None
    note: str | None = None

    @field_validator("note")
    @classmethod
    def _refuse_no(cls, value: str | None) -> str | None:
        if value == "no":
            raise ValueError("note may not be no")
        if value == "custom":
            raise PydanticCustomError("not_in_our_table", "an English fallback")
        return value


@pytest.mark.parametrize(
    ("data", "field", "code", "zh", "en"),
    [
        ({}, "name", "missing", "姓名为必填项", "name is required"),
        ({"name": 7}, "name", "wrong_type", "姓名应为文本", "name must be text"),
        ({"name": " "}, "name", "blank", "姓名不能为空", "name must not be blank"),
        ({"name": "王秀英王秀英"}, "name", "too_long", "姓名不能超过 5 个字符", "name must have at most 5 characters"),
        ({"name": "王", "age": "sixty"}, "age", "wrong_type", "age应为整数", "age must be a whole number"),
        ({"name": "王", "score": "high"}, "score", "wrong_type", "score应为数字", "score must be a number"),
        ({"name": "王", "consent": "maybe"}, "consent", "wrong_type", "consent应为是或否（true/false）",
         "consent must be true or false"),
        ({"name": "王", "sex": "3"}, "sex", "not_allowed", "性别只能是：'1' or '2'", "sex must be one of: '1' or '2'"),
        ({"name": "王", "visited_on": "2024-02-30"}, "visited_on", "invalid_date",
         "走访日期不是有效日期：2024-02-30", "date of the visit is not a valid date: 2024-02-30"),
        ({"name": "王", "visited_on": "2024-02-01T10:00:01"}, "visited_on", "invalid_date",
         "走访日期不是有效日期：2024-02-01T10:00:01",
         "date of the visit is not a valid date: 2024-02-01T10:00:01"),
        ({"name": "王", "rooms": "401"}, "rooms", "wrong_type", "rooms应为列表", "rooms must be a list"),
        ({"name": "王", "rooms": ["1", "2", "3"]}, "rooms", "too_many", "rooms最多 2 项",
         "rooms may have at most 2 entries"),
        ({"name": "王", "rooms": ["1", 2]}, "rooms.1", "wrong_type", "rooms第 2 项应为文本", "rooms, entry 2 must be text"),
        ({"name": "王", "floor": 0}, "floor", "out_of_range", "floor超出允许范围：0", "floor is out of range: 0"),
        ({"name": "王", "child": "李"}, "child", "wrong_type", "child应为对象", "child must be an object"),
        ({"name": "王", "child": {"name": ""}}, "child.name", "blank", "姓名不能为空", "name must not be blank"),
        ({"name": "王", "religion": "x"}, "religion", "extra_field", "不接受的字段：religion", "unexpected field: religion"),
        ({"name": "王", "note": "no"}, "note", "invalid", "情况记录的值无效：no", "note is invalid: no"),
        ({"name": "王", "note": "custom"}, "note", "not_in_our_table", "an English fallback", "an English fallback"),
    ],
)
def test_each_pydantic_error_becomes_a_field_error_in_both_languages(
    data: dict[str, Any], field: str, code: str, zh: str, en: str
):
    with pytest.raises(ValidationError) as raised:
        Survey.model_validate(data)

    errors = field_errors_from_pydantic(raised.value)

    assert [(e.field, e.code, e.message.zh, e.message.en) for e in errors] == [(field, code, zh, en)]


def test_malformed_json_is_its_own_field_error():
    with pytest.raises(ValidationError) as raised:
        Survey.model_validate_json("{name")

    [error] = field_errors_from_pydantic(raised.value)
    assert (error.field, error.code) == ("", "malformed_json")
    assert error.message.en.startswith("malformed JSON: ")


def test_a_long_input_is_cut_short_in_the_message():
    error = field_error("remarks", "invalid", input="x" * 200)

    assert len(error.message.en) < 100


def test_every_message_template_has_both_languages():
    assert all(text.zh and text.en for text in FIELD_MESSAGES.values())
    assert all(problem.title.zh and problem.title.en for problem in PROBLEMS.values())


# --- through a Litestar app ---

SECRET = "postgresql://fivezero:hunter2@db"


@post("/households", request_max_body_size=4096)
async def register_household(data: JSONBody[RegisterHousehold]) -> dict[str, int]:
    return {"household_size": data.household_size}


@post("/raw")
async def register_raw(data: JSONBody[Any]) -> dict[str, int]:
    return {"household_size": RegisterHousehold.model_validate(data).household_size}


@get("/households")
async def list_households(limit: FromQuery[int]) -> dict[str, int]:
    return {"limit": limit}


@get("/stale")
async def stale() -> None:
    raise ProblemError("version_conflict", detail_zh="当前版本为 3", detail_en="the current version is 3")


@get("/anonymous")
async def anonymous() -> None:
    raise NotAuthorizedException(headers={"WWW-Authenticate": "Bearer"})


@get("/forbidden")
async def forbidden() -> None:
    raise PermissionDeniedException()


@get("/gone")
async def gone() -> None:
    raise NotFoundException()


@get("/teapot")
async def teapot() -> None:
    raise HTTPException(status_code=418, detail="no coffee here")


@get("/crash")
async def crash() -> None:
    raise RuntimeError(f"could not connect to {SECRET}")


@get("/broken")
async def broken() -> None:
    raise InternalServerException(detail=f"pool exhausted at {SECRET}")


@pytest.fixture
def client():
    handlers = [register_household, register_raw, list_households, stale, anonymous, forbidden, gone, teapot]
    app = Litestar([*handlers, crash, broken], exception_handlers=exception_handlers(), logging_config=None)
    with TestClient(app) as test_client:
        yield test_client


def a_household() -> dict[str, Any]:
    head = {"name": "王秀英", "sex": "2", "birth_month": "1958-03", "ethnicity": "01", "political_status": "13"}
    return {"head": head, "address": {"compound": "幸福楼院", "building": "3 栋"}}


def post_json(client: TestClient, path: str, body: bytes, language: str = "zh") -> Any:
    headers = {"Content-Type": "application/json", "Accept-Language": language}
    return client.post(path, content=body, headers=headers)


def test_a_well_formed_household_passes_through(client: TestClient):
    response = client.post("/households", json=a_household())

    assert response.status_code == 201
    assert response.json() == {"household_size": 1}


def test_a_malformed_json_body_is_a_400_malformed_json_problem(client: TestClient):
    response = post_json(client, "/households", '{"head": {"name": "王秀英",'.encode(), language="en")

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["title"]) == ("malformed_json", "The request body is not valid JSON")
    assert body["type"] == "https://fivezero.example/problems/malformed_json"
    assert body["detail"] and body["detail"] != body["title"]


def test_the_malformed_json_problem_says_why_in_chinese(client: TestClient):
    body = post_json(client, "/households", b"{not json}", language="zh-CN").json()

    assert body["title"] == "请求体不是有效的 JSON"
    assert body["detail"].startswith("JSON 格式错误：")


def test_an_empty_body_is_a_malformed_json_problem(client: TestClient):
    body = post_json(client, "/households", b"", language="zh").json()

    assert (body["code"], body["detail"]) == ("malformed_json", "请求体为空")


def test_a_body_larger_than_the_limit_is_a_413_problem(client: TestClient):
    response = post_json(client, "/households", b'{"remarks": "' + b"x" * 5000 + b'"}', language="zh")

    assert response.status_code == 413
    body = response.json()
    assert (body["status"], body["code"], body["title"]) == (413, "body_too_large", "请求体过大")


def test_the_413_problem_speaks_english_when_asked(client: TestClient):
    response = post_json(client, "/households", b"x" * 5000, language="en-US,en;q=0.9")

    assert response.json()["title"] == "The request body is too large"
    assert response.headers["content-language"] == "en"


def test_field_errors_of_a_typed_body_are_listed_in_the_requested_language(client: TestClient):
    household = a_household()
    household["head"]["birth_month"] = "2023-13"
    household["head"]["ethnicity"] = "99"

    zh = client.post("/households", json=household, headers={"Accept-Language": "zh-CN"}).json()
    en = client.post("/households", json=household, headers={"Accept-Language": "en"}).json()

    assert zh["code"] == "validation_failed"
    assert zh["detail"] == "有 2 处需要修改"
    assert zh["errors"] == [
        {"field": "head.birth_month", "code": "impossible_month", "message": "出生年月不存在：2023-13"},
        {"field": "head.ethnicity", "code": "unknown_code", "message": "民族代码不在 GB/T 3304 中：99"},
    ]
    assert [e["message"] for e in en["errors"]] == [
        "birth month does not exist: 2023-13",
        "ethnicity code is not in GB/T 3304: 99",
    ]


def test_a_validation_error_raised_in_a_handler_is_a_400_problem(client: TestClient):
    household = a_household() | {"household_size": 1}

    response = client.post("/raw", json=household, headers={"Accept-Language": "en"})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "household_size", "code": "extra_field", "message": "unexpected field: household_size"}
    ]


def test_a_body_of_the_wrong_shape_is_a_field_error_on_the_body(client: TestClient):
    body = post_json(client, "/households", b"[1, 2]", language="en").json()

    assert body["code"] == "validation_failed"
    assert body["errors"] == [{"field": "", "code": "wrong_type", "message": "request body must be an object"}]


def test_a_bad_query_parameter_is_a_field_error(client: TestClient):
    body = client.get("/households?limit=ten", headers={"Accept-Language": "en"}).json()

    assert body["errors"] == [{"field": "limit", "code": "wrong_type", "message": "limit must be a whole number"}]


def test_a_missing_query_parameter_is_a_field_error(client: TestClient):
    response = client.get("/households")

    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "limit", "code": "missing", "message": "limit为必填项"}]


def test_a_problem_raised_by_a_handler_keeps_its_status_and_detail(client: TestClient):
    response = client.get("/stale", headers={"Accept-Language": "zh"})

    assert response.status_code == 409
    assert response.json()["detail"] == "当前版本为 3"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/anonymous", 401, "unauthenticated"),
        ("/forbidden", 403, "forbidden"),
        ("/gone", 404, "not_found"),
        ("/no-such-path", 404, "not_found"),
        ("/teapot", 418, "http_error"),
    ],
)
def test_litestar_http_errors_become_problems(client: TestClient, path: str, status: int, code: str):
    response = client.get(path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["status"], response.json()["code"]) == (status, code)


def test_a_401_keeps_its_challenge_header(client: TestClient):
    assert client.get("/anonymous").headers["www-authenticate"] == "Bearer"


def test_a_wrong_method_is_a_405_problem_with_allow(client: TestClient):
    response = client.delete("/households")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


def test_a_client_error_keeps_the_detail_its_author_wrote(client: TestClient):
    assert client.get("/teapot", headers={"Accept-Language": "en"}).json()["detail"] == "no coffee here"


@pytest.mark.parametrize("path", ["/crash", "/broken"])
def test_an_unexpected_error_is_a_500_that_hides_its_internals(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str
):
    with caplog.at_level(logging.ERROR, logger="shared.problems"):
        response = client.get(path, headers={"Accept-Language": "en"})

    assert response.status_code == 500
    assert response.json() == {
        "type": "https://fivezero.example/problems/internal_error",
        "title": "Internal server error",
        "status": 500,
        "detail": "Internal server error",
        "code": "internal_error",
        "errors": [],
    }
    assert "hunter2" not in response.text and "Traceback" not in response.text
    logged = [record for record in caplog.records if record.name == "shared.problems"]
    assert logged and logged[0].exc_info is not None
    assert f"GET {path}" in logged[0].getMessage()
