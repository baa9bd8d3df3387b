"""Errors as RFC 9457 problem details, in Chinese or English by Accept-Language.

Every message a client can read lives in this module: the problem titles
(`PROBLEMS`), the field-error templates (`FIELD_MESSAGES`) and the field labels
(`FIELD_LABELS`). Commands raise `PydanticCustomError(<our code>, <English
message>, {...})` so that their code survives into the response.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal, NamedTuple, TypeVar, get_args

import pydantic
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.types import ExceptionHandlersMap
from pydantic_core.core_schema import ErrorType

Language = Literal["zh", "en"]
DEFAULT_LANGUAGE: Language = "zh"  # most users are Chinese residents and staff
PROBLEM_TYPE_BASE = "https://fivezero.example/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger(__name__)
_E = TypeVar("_E", bound=BaseException)


class Text(NamedTuple):
    zh: str
    en: str

    def in_(self, lang: Language) -> str:
        return self.zh if lang == "zh" else self.en


class Problem(NamedTuple):
    status: int
    title: Text


PROBLEMS: dict[str, Problem] = {
    "validation_failed": Problem(400, Text("提交的内容有误", "Some fields are invalid")),
    "malformed_json": Problem(400, Text("请求体不是有效的 JSON", "The request body is not valid JSON")),
    "bad_request": Problem(400, Text("请求有误", "Bad request")),
    "unauthenticated": Problem(401, Text("请先登录", "Authentication required")),
    "forbidden": Problem(403, Text("无权执行此操作", "You are not allowed to do this")),
    "not_found": Problem(404, Text("找不到该记录", "Not found")),
    "method_not_allowed": Problem(405, Text("不支持该请求方法", "Method not allowed")),
    "version_conflict": Problem(
        409, Text("记录已被他人修改，请刷新后重试", "The record was changed by someone else; reload and retry")
    ),
    "precondition_failed": Problem(
        412, Text("If-Match 中的版本与记录不符", "The If-Match version does not match the record")
    ),
    "illegal_transition": Problem(409, Text("此时不能这样操作", "This action is not allowed in the record's current state")),
    "import_conflict": Problem(
        409, Text("表中有的家庭已登记但内容不同，未导入任何家庭", "Households of the sheet are registered with other content; nothing was imported")
    ),
    "import_failed": Problem(422, Text("表格有误，未导入任何家庭", "The sheet has errors; nothing was imported")),
    "body_too_large": Problem(413, Text("请求体过大", "The request body is too large")),
    "precondition_required": Problem(
        428, Text("修改记录须带 If-Match 版本号", "Changing a record requires an If-Match version")
    ),
    "too_many_requests": Problem(429, Text("请求过于频繁，请稍后再试", "Too many requests; try again later")),
    "internal_error": Problem(500, Text("服务器内部错误", "Internal server error")),
    "service_unavailable": Problem(503, Text("服务暂时不可用", "Service temporarily unavailable")),
    "http_error": Problem(500, Text("请求未能完成", "The request could not be completed")),
}

# Field names recur across the ledgers (姓名, 性别, 联系电话 ...), so one table serves all.
FIELD_LABELS: dict[str, Text] = {
    "": Text("请求体", "request body"),
    "name": Text("姓名", "name"),
    "sex": Text("性别", "sex"),
    "birth_month": Text("出生年月", "birth month"),
    "ethnicity": Text("民族", "ethnicity"),
    "political_status": Text("政治面貌", "political status"),
    "work_unit": Text("工作单位", "work unit"),
    "phone": Text("联系电话", "phone"),
    "id_number": Text("公民身份号码", "citizen ID number"),
    "remarks": Text("备注", "remarks"),
    "relation": Text("与户主关系", "relation to the head of household"),
    "head": Text("户主", "head of household"),
    "members": Text("家庭成员", "household members"),
    "address": Text("家庭住址", "address"),
    "compound": Text("楼院", "compound"),
    "building": Text("楼栋", "building"),
    "unit": Text("单元", "unit"),
    "room": Text("房号", "room"),
    "household_no": Text("户号", "household number"),
    "household_size": Text("家庭人口", "household size"),
    "can_offer": Text("可为社区提供的服务", "what the household can offer"),
    "label": Text("重点人群类别", "label"),
    "since": Text("纳入日期", "date labelled"),
    "reason": Text("原因说明", "reason"),
    "cause": Text("困难原因", "cause of hardship"),
    "skills": Text("有何特长或技能", "skills"),
    "former_work_unit": Text("原工作单位", "former work unit"),
    "relative_phone": Text("亲属联系电话", "relative's phone"),
    "has_income": Text("是否有收入来源", "has an income"),
    "transferred_in": Text("何时转业", "when transferred to civilian work"),
    "employed_at": Text("是否择业（工作单位）", "employed (where)"),
    "reason_for_custody": Text("原因", "reason for custody"),
    "released_on": Text("何时获释", "release date"),
    "until": Text("帮教期限", "end of the support period"),
    "on": Text("日期", "date"),
    "duplicate_id": Text("重复记录", "duplicate record"),
    "household_id": Text("迁入家庭", "household moved to"),
    "health": Text("健康状况", "health"),
    "needs": Text("对社区服务的需求", "what the household needs"),
    "channel": Text("反映渠道", "channel"),
    "text": Text("反映内容", "report text"),
    "place": Text("发生地点", "place"),
    "reporter": Text("反映人", "reporter"),
    "resident_id": Text("居民编号", "resident id"),
    "category": Text("类别", "category"),
    "reply": Text("答复内容", "reply"),
    "report_id": Text("民情反映编号", "report id"),
    "role": Text("信息员类别", "officer role"),
    "joined_on": Text("入组日期", "date joined"),
    "left_on": Text("离组日期", "date left"),
    "leader": Text("组长", "team leader"),
    "placed_on": Text("进楼栋日期", "date placed"),
    "held_on": Text("恳谈日期", "meeting date"),
    "participants": Text("参加人员", "participants"),
    "resident_ids": Text("参加居民", "participating residents"),
    "names": Text("参加人员姓名", "participants' names"),
    "count": Text("参加人数", "number of participants"),
    "items": Text("反映事项", "items raised"),
    "note": Text("情况记录", "note"),
    "visited_by": Text("走访人", "visited by"),
    "visited_on": Text("走访日期", "date of the visit"),
    "contacted_by": Text("联系人", "contacted by"),
    "contacted_on": Text("联系日期", "date of the contact"),
    "how": Text("联系方式", "way of contact"),
    # Disputes (调解矛盾纠纷记录表).
    "source": Text("纠纷来源", "source"),
    "dispute_cause": Text("纠纷缘由", "cause of the dispute"),
    "parties": Text("当事人", "parties"),
    "side": Text("当事人方（甲/乙）", "side (a/b)"),
    "party_id": Text("当事人编号", "party id"),
    "referred_by": Text("移交单位", "referred by"),
    "public": Text("是否公开调解", "held in public"),
    "mediators": Text("调解人", "mediators"),
    "mediator_ids": Text("调解员（名册）", "roster mediators"),
    "unit_ids": Text("参与调解单位（名册）", "roster units sharing mediation duty"),
    "unit_name": Text("单位", "unit"),
    "person_responsible": Text("参与调解责任人", "person responsible"),
    "investigated_on": Text("调查日期", "date of the investigation"),
    "investigators": Text("调查人", "investigators"),
    "findings": Text("调查情况", "findings"),
    "held_at": Text("调解时间", "time of the session"),
    "account": Text("调解情况", "how the mediation went"),
    "on_site": Text("是否现场调解", "mediated on the spot"),
    "form": Text("协议形式", "form of the agreement"),
    "reached_on": Text("协议生效日期", "date the agreement took effect"),
    "terms": Text("协议内容", "terms"),
    "clauses": Text("协议条款", "clauses"),
    "obligation": Text("履行事项", "obligation"),
    "due_on": Text("履行期限", "due date"),
    "fulfilled_clauses": Text("已履行条款", "fulfilled clauses"),
    "archive_no": Text("卷宗号", "archive number"),
}

# Templates see {label}, {field}, {input} and the error's context.
FIELD_MESSAGES: dict[str, Text] = {
    "missing": Text("{label}为必填项", "{label} is required"),
    "extra_field": Text("不接受的字段：{field}", "unexpected field: {field}"),
    "wrong_type": Text("{label}应为{expected_zh}", "{label} must be {expected_en}"),
    "blank": Text("{label}不能为空", "{label} must not be blank"),
    "too_short": Text("{label}不能少于 {min_length} 个字符", "{label} must have at least {min_length} characters"),
    "too_long": Text("{label}不能超过 {max_length} 个字符", "{label} must have at most {max_length} characters"),
    "too_few": Text("{label}至少要有 {min_length} 项", "{label} must have at least {min_length} entries"),
    "too_many": Text("{label}最多 {max_length} 项", "{label} may have at most {max_length} entries"),
    "not_allowed": Text("{label}只能是：{expected}", "{label} must be one of: {expected}"),
    "invalid_format": Text("{label}格式不对：{input}", "{label} has the wrong format: {input}"),
    "invalid_date": Text("{label}不是有效日期：{input}", "{label} is not a valid date: {input}"),
    "out_of_range": Text("{label}超出允许范围：{input}", "{label} is out of range: {input}"),
    "malformed_json": Text("JSON 格式错误：{error}", "malformed JSON: {error}"),
    "invalid": Text("{label}的值无效：{input}", "{label} is invalid: {input}"),
    "unknown_code": Text("{list_zh}代码不在 {standard} 中：{code}", "{list_en} code is not in {standard}: {code}"),
    "invalid_month": Text("{label}应为 YYYY-MM 格式：{input}", "{label} must look like YYYY-MM: {input}"),
    "impossible_month": Text("{label}不存在：{input}", "{label} does not exist: {input}"),
    "too_early": Text("{label}早于 {earliest} 年：{input}", "{label} is before {earliest}: {input}"),
    "future_month": Text("{label}晚于本月：{input}", "{label} is in the future: {input}"),
    "invalid_phone": Text(
        "{label}不是手机号或带区号的固定电话：{input}",
        "{label} is neither a mainland mobile number nor a landline with area code: {input}",
    ),
    "id_number_legacy": Text(
        "{label}是 15 位旧号码，请填写 18 位号码", "{label} is an old 15-digit number; enter the 18-digit one"
    ),
    "id_number_length": Text("{label}应为 18 位，不是 {length} 位", "{label} must have 18 characters, not {length}"),
    "id_number_characters": Text(
        "{label}应为 17 位数字加 1 位数字或 X", "{label} must be 17 digits followed by a digit or X"
    ),
    "id_number_region": Text(
        "{label}开头不是行政区划代码：{region}", "{label} does not start with a region code: {region}"
    ),
    "id_number_birth_date": Text(
        "{label}中的出生日期不存在：{birth_date}", "{label} holds a birth date that does not exist: {birth_date}"
    ),
    "id_number_future_birth": Text(
        "{label}中的出生日期晚于今天：{birth_date}", "{label} holds a birth date in the future: {birth_date}"
    ),
    "id_number_checksum": Text(
        "{label}校验位不符，请检查是否抄错了数字", "{label} fails its check character; look for a mistyped digit"
    ),
    "relation_is_head": Text(
        "{label}不能是本人或户主（户主单独登记）：{code}",
        "{label} cannot be self or head (the head is registered separately): {code}",
    ),
    "cannot_clear": Text("{label}不能清空", "{label} cannot be cleared"),
    # Importing a ledger from a spreadsheet.
    "unknown_label": Text("{list_zh}“{input}”不在 {standard} 中", "{list_en} “{input}” is not in {standard}"),
    "empty_file": Text("文件是空的", "the file is empty"),
    "not_xlsx": Text("文件不是 Excel 工作簿（.xlsx）", "the file is not an Excel workbook (.xlsx)"),
    "no_header": Text(
        "找不到表头：应有一行以“{expected}”开头", "no header row found: a row should start with “{expected}”"
    ),
    "wrong_header": Text(
        "{column}列的表头应为“{expected}”：{input}", "the header of column {column} should be “{expected}”: {input}"
    ),
    "extra_column": Text("{column}列不属于本表：{input}", "column {column} is not part of this ledger: {input}"),
    "no_rows": Text("表中没有数据", "the sheet has no rows"),
    "no_head": Text(
        "户号 {household_no} 没有户主行（与户主关系填“户主”）",
        "household {household_no} has no head's row (与户主关系 “户主”)",
    ),
    "two_heads": Text("户号 {household_no} 有不止一个户主", "household {household_no} has more than one head"),
    "differs_from_head": Text(
        "{label}只在户主行（第 {head_row} 行）填写，这里与之不同：{input}",
        "{label} belongs on the head's row (row {head_row}) and differs here: {input}",
    ),
    "size_mismatch": Text(
        "{label}为 {input}，但本户登记了 {counted} 人", "{label} is {input} but the household lists {counted} people"
    ),
    "duplicate_household": Text(
        "与第 {other_row} 行的家庭重复（户主、出生年月、住址都相同）",
        "the same household as on row {other_row} (same head, birth month and address)",
    ),
    "household_differs": Text(
        "第 {row} 行的家庭（户主 {name}）已登记，内容与表中不同；请在系统中修改该户，或让表格与之一致",
        "the household on row {row} (head {name}) is registered with other content; change it in the register, or make the sheet match",
    ),
    "relation_needed": Text("加入家庭时须填写与户主关系", "a relation to the head is needed to join a household"),
    "future_date": Text("{label}晚于今天：{input}", "{label} is in the future: {input}"),
    "until_before_release": Text("{label}应晚于获释日期", "{label} must be after the release date"),
    "empty_change": Text("修改至少要包含一个字段", "a change must include at least one field"),
    "member_form": Text(
        "信息员应填居民编号，或姓名加联系电话", "an officer needs a resident_id, or a name with a phone"
    ),
    "count_below_listed": Text(
        "{label}少于所列的 {listed} 名参加人员", "{label} is below the {listed} participants listed"
    ),
    "no_participants": Text("{label}应列出人员或填写人数", "{label} must list people or give their count"),
    "party_form": Text(
        "{label}应填居民编号或姓名", "{label} needs a resident_id or a name"
    ),
    "party_sides": Text(
        "{label}须有甲乙双方（side 为 a 和 b）", "{label} must include a party on each side (a and b)"
    ),
    "party_twice": Text("{label}中同一当事人编号出现了两次", "{label} lists the same party_id twice"),
    "reporter_form": Text(
        "{label}应填居民编号，或姓名加联系电话；匿名反映请不填{label}",
        "{label} needs a resident_id, or a name with a phone; leave {label} out for an anonymous report",
    ),
}

_CODE_BY_PYDANTIC_TYPE = {
    "missing": "missing",
    "extra_forbidden": "extra_field",
    "string_too_long": "too_long",
    "too_long": "too_many",  # pydantic's too_long/too_short count a collection's entries
    "too_short": "too_few",
    "literal_error": "not_allowed",
    "union_tag_invalid": "not_allowed",
    "union_tag_not_found": "missing",
    "enum": "not_allowed",
    "string_pattern_mismatch": "invalid_format",
    "json_invalid": "malformed_json",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "multiple_of": "out_of_range",
    "value_error": "invalid",
    "assertion_error": "invalid",
}

_PYDANTIC_ERROR_TYPES = frozenset(get_args(ErrorType))

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    412: "precondition_failed",
    413: "body_too_large",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}

_EXPECTED_TYPES: dict[str, Text] = {
    "string": Text("文本", "text"),
    "int": Text("整数", "a whole number"),
    "float": Text("数字", "a number"),
    "decimal": Text("数字", "a number"),
    "bool": Text("是或否（true/false）", "true or false"),
    "list": Text("列表", "a list"),
    "tuple": Text("列表", "a list"),
    "set": Text("列表", "a list"),
    "dict": Text("对象", "an object"),
    "model": Text("对象", "an object"),
    "none": Text("空值（null）", "null"),
}

_ANY_TYPE = Text("正确的类型", "of the right type")


_MSGSPEC_TYPES = {
    "str": "string",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "array": "list",
    "object": "dict",
    "null": "none",
}


@dataclass(frozen=True)
class FieldError:
    field: str
    """Dotted path from the body's root, e.g. `members.0.birth_month`; "" for the body itself."""
    code: str
    message: Text

    def as_json(self, lang: Language) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message.in_(lang)}


class ProblemError(Exception):
    """An error the client should see, as `PROBLEMS[code]` plus optional details."""

    def __init__(
        self,
        code: str,
        *,
        detail_zh: str | None = None,
        detail_en: str | None = None,
        field_errors: Iterable[FieldError] = (),
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        problem = PROBLEMS[code]
        self.code = code
        self.status = status or problem.status
        self.title_zh, self.title_en = problem.title
        self.detail_zh = detail_zh
        self.detail_en = detail_en
        self.field_errors = list(field_errors)
        self.headers = dict(headers or {})
        super().__init__(f"{self.status} {code}: {detail_en or self.title_en}")

    def title(self, lang: Language) -> str:
        return self.title_zh if lang == "zh" else self.title_en

    def detail(self, lang: Language) -> str | None:
        return self.detail_zh if lang == "zh" else self.detail_en


def field_error(field: str, code: str, **values: Any) -> FieldError:
    """A field error with its message rendered from `FIELD_MESSAGES` in both languages."""
    path = [int(part) if part.isdigit() else part for part in field.split(".")] if field else []
    shown = {key: _shown(value) for key, value in values.items()}
    return FieldError(field, code, _render(code, path, {"field": field, **shown}))


def language_from(accept_language: str | None) -> Language:
    """The language to answer in: the best-weighted of zh/en in the header, else zh."""
    best: tuple[float, Language] | None = None
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = _language_of(tag.strip().lower())
        weight = _weight(params)
        if lang and weight > 0 and (best is None or weight > best[0]):
            best = (weight, lang)
    return best[1] if best else DEFAULT_LANGUAGE


def problem_response(error: ProblemError, lang: Language) -> Response[dict[str, Any]]:
    body = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": error.title(lang),
        "status": error.status,
        "detail": error.detail(lang) or error.title(lang),
        "code": error.code,
        "errors": [e.as_json(lang) for e in error.field_errors],
    }
    return Response(
        body,
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={**error.headers, "Content-Language": lang},
    )


def field_errors_from_pydantic(exc: pydantic.ValidationError) -> list[FieldError]:
    return [_from_pydantic_error(error) for error in exc.errors(include_url=False)]


def exception_handlers() -> ExceptionHandlersMap:
    """Handlers for Litestar's `exception_handlers=`; Litestar picks one by the exception's MRO."""
    return {
        ProblemError: _handle_problem,
        pydantic.ValidationError: _handle_pydantic,
        HTTPException: _handle_http,
        Exception: _handle_unexpected,
    }


def problem_from_pydantic(exc: pydantic.ValidationError) -> ProblemError:
    errors = field_errors_from_pydantic(exc)
    if malformed := next((e for e in errors if e.code == "malformed_json"), None):
        return ProblemError("malformed_json", detail_zh=malformed.message.zh, detail_en=malformed.message.en)
    return _validation_failed(errors)


def problem_from_http(exc: HTTPException) -> ProblemError:
    """The problem for an exception Litestar raised (or a handler raised in Litestar's terms)."""
    if serialization := _cause_of_type(exc, SerializationException):
        reason = serialization.detail or str(serialization)
        return ProblemError("malformed_json", detail_zh=f"JSON 格式错误：{reason}", detail_en=reason)
    if isinstance(exc, ValidationException):
        if pydantic_error := _cause_of_type(exc, pydantic.ValidationError):
            return problem_from_pydantic(pydantic_error)
        return _problem_from_litestar_validation(exc)
    code = _CODE_BY_STATUS.get(exc.status_code, "http_error")
    if exc.status_code >= 500:
        return ProblemError(code, status=exc.status_code, headers=exc.headers)
    return ProblemError(code, status=exc.status_code, detail_en=_own_detail(exc), headers=exc.headers)


def _handle_problem(request: Request, exc: ProblemError) -> Response:
    return problem_response(exc, _language_of_request(request))


def _handle_pydantic(request: Request, exc: pydantic.ValidationError) -> Response:
    return problem_response(problem_from_pydantic(exc), _language_of_request(request))


def _handle_http(request: Request, exc: HTTPException) -> Response:
    if exc.status_code >= 500:
        logger.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return problem_response(problem_from_http(exc), _language_of_request(request))


def _handle_unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return problem_response(ProblemError("internal_error"), _language_of_request(request))


def _language_of_request(request: Request) -> Language:
    return language_from(request.headers.get("accept-language"))


def _language_of(tag: str) -> Language | None:
    if tag == "zh" or tag.startswith("zh-"):
        return "zh"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def _weight(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def _validation_failed(errors: list[FieldError]) -> ProblemError:
    return ProblemError(
        "validation_failed",
        detail_zh=f"有 {len(errors)} 处需要修改",
        detail_en="1 field needs correcting" if len(errors) == 1 else f"{len(errors)} fields need correcting",
        field_errors=errors,
    )


def _problem_from_litestar_validation(exc: ValidationException) -> ProblemError:
    # Litestar's own checks (query, path, header parameters, a body of the wrong shape)
    # report plain messages; their error types are gone by the time we see them.
    if not isinstance(exc.extra, list):
        missing = _cause_of_type(exc, KeyError)
        if missing is not None and missing.args:
            return _validation_failed([field_error(str(missing.args[0]), "missing")])
        return ProblemError("bad_request", detail_en=_own_detail(exc))
    errors = [_from_litestar_message(item) for item in exc.extra if isinstance(item, dict)]
    if any(e.field == "" and e.code == "missing" for e in errors):
        return ProblemError("malformed_json", detail_zh="请求体为空", detail_en="the request body is empty")
    return _validation_failed(errors)


def _from_litestar_message(item: dict[str, Any]) -> FieldError:
    key, message = str(item.get("key", "")), str(item.get("message", ""))
    field = "" if item.get("source") == "body" and key == "data" else key.removeprefix("data.")
    if message.startswith("'") or "missing" in message.lower():  # a KeyError's repr: the value is absent
        return field_error(field, "missing")
    if expected := re.match(r"Expected `(\w+)`", message):
        kind = _MSGSPEC_TYPES.get(expected.group(1), "")
        text = _EXPECTED_TYPES.get(kind, _ANY_TYPE)
        return field_error(field, "wrong_type", expected_zh=text.zh, expected_en=text.en)
    return field_error(field, "invalid", input=message)


def _from_pydantic_error(error: Mapping[str, Any]) -> FieldError:
    loc = tuple(error.get("loc", ()))
    field = ".".join(str(part) for part in loc)
    error_type = str(error.get("type", ""))
    context = dict(error.get("ctx") or {})
    code, extra = _our_code(error_type, context)
    values = {
        "field": field,
        "input": _shown(error.get("input")),
        "error": context.get("error", error.get("msg", "")),
        **{key: _shown(value) for key, value in context.items()},
        **extra,
    }
    if code in FIELD_MESSAGES:
        return FieldError(field, code, _render(code, loc, values))
    # A code we have no template for still tells the client what pydantic said.
    return FieldError(field, code, Text(str(error.get("msg", "")), str(error.get("msg", ""))))


def _our_code(error_type: str, context: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if error_type == "string_too_short":
        return ("blank" if context.get("min_length") == 1 else "too_short"), {}
    if error_type in _CODE_BY_PYDANTIC_TYPE:
        return _CODE_BY_PYDANTIC_TYPE[error_type], {}
    if error_type not in _PYDANTIC_ERROR_TYPES:  # ours, raised as PydanticCustomError
        return error_type, {}
    if error_type.startswith(("date", "datetime", "time")):
        return "invalid_date", {}
    if expected := _expected_type(error_type):
        return "wrong_type", {"expected_zh": expected.zh, "expected_en": expected.en}
    return "invalid", {}


def _expected_type(error_type: str) -> Text | None:
    if error_type in ("json_type", "model_attributes_type", "dataclass_type"):
        return _EXPECTED_TYPES["dict"]
    if not error_type.endswith(("_type", "_parsing")):
        return None
    kind = error_type.removesuffix("_type").removesuffix("_parsing").split("_")[0]
    return _EXPECTED_TYPES.get(kind, _ANY_TYPE)


def _label(path: Sequence[str | int]) -> Text:
    names = [str(part) for part in path if not isinstance(part, int)]
    name = names[-1] if names else ""
    label = FIELD_LABELS.get(name) or Text(name.replace("_", " "), name.replace("_", " "))
    if path and isinstance(path[-1], int):
        return Text(f"{label.zh}第 {path[-1] + 1} 项", f"{label.en}, entry {path[-1] + 1}")
    return label


def _render(code: str, path: Sequence[str | int], values: Mapping[str, Any]) -> Text:
    template = FIELD_MESSAGES[code]
    label = _label(path)
    return Text(
        template.zh.format_map(_Blank({**values, "label": label.zh})),
        template.en.format_map(_Blank({**values, "label": label.en})),
    )


class _Blank(dict[str, Any]):
    """Lets a template name a value the error did not carry."""

    def __missing__(self, key: str) -> str:
        return ""


def _shown(value: Any, limit: int = 50) -> Any:
    """A value fit to echo in a message: short, and never a whole nested object."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return value
    return ""


def _own_detail(exc: HTTPException) -> str | None:
    """Litestar's detail when someone wrote one, not the status phrase it fills in by default."""
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = ""
    return None if exc.detail in ("", phrase) else exc.detail


def _cause_of_type(exc: BaseException, kind: type[_E]) -> _E | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
