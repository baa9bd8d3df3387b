from datetime import date
from typing import Any

import pytest
from litestar import Litestar, patch, post
from litestar.params import FromPath, JSONBody
from litestar.testing import TestClient
from pydantic import BaseModel, ValidationError

from shared.contracts.intake_requests import (
    Address,
    ChangeHousehold,
    HouseholdHead,
    HouseholdMember,
    Person,
    RegisterHousehold,
)
from shared.problems import FieldError, field_errors_from_pydantic, problem_from_pydantic


def a_head(**changes: Any) -> dict[str, Any]:
    head = {
        "name": "王秀英",
        "sex": "2",
        "birth_month": "1958-03",
        "ethnicity": "01",
        "political_status": "01",
        "phone": "13800138000",
        "work_unit": "绵阳市第一纺织厂（退休）",
    }
    return {**head, **changes}


def a_member(**changes: Any) -> dict[str, Any]:
    husband = {"name": "李建国", "sex": "1", "birth_month": "1956-11", "ethnicity": "01", "relation": "11"}
    return {**husband, **changes}


def a_household(**changes: Any) -> dict[str, Any]:
    household = {
        "head": a_head(),
        "members": [a_member()],
        "address": {"compound": "幸福楼院", "building": "3 栋", "unit": "2 单元", "room": "401"},
        "can_offer": "会裁缝，周末可以义务缝补",
        "needs": "老伴腿脚不便，希望有上门体检",
    }
    return {**household, **changes}


def errors_of(command: type[BaseModel], data: Any) -> dict[str, FieldError]:
    with pytest.raises(ValidationError) as raised:
        command.model_validate(data)
    return {error.field: error for error in field_errors_from_pydantic(raised.value)}


def the_error(command: type[BaseModel], data: Any, field: str) -> FieldError:
    errors = errors_of(command, data)
    assert list(errors) == [field], errors
    return errors[field]


def next_month() -> str:
    today = date.today()
    return f"{today.year + 1}-01" if today.month == 12 else f"{today.year}-{today.month + 1:02d}"


# --- registering a household ---


def test_wang_xiuying_and_her_husband_are_registered_as_a_household_of_two():
    household = RegisterHousehold.model_validate(a_household())

    assert household.head.name == "王秀英"
    assert household.members[0].relation == "11"
    assert household.address.compound == "幸福楼院"
    assert household.household_size == 2


def test_a_head_living_alone_is_a_household_of_one():
    household = RegisterHousehold.model_validate(a_household(members=[]))

    assert household.household_size == 1
    without_members = {"head": a_head(), "address": {"compound": "幸福楼院", "building": "3 栋"}}
    assert RegisterHousehold.model_validate(without_members).members == []


def test_household_size_is_derived_never_accepted():
    error = the_error(RegisterHousehold, a_household(household_size=2), "household_size")

    assert error.code == "extra_field"
    assert error.message.zh == "不接受的字段：household_size"


def test_a_religion_field_is_refused_as_an_unexpected_field():
    error = the_error(RegisterHousehold, a_household(head=a_head(religion="x")), "head.religion")

    assert error.code == "extra_field"
    assert error.message.en == "unexpected field: head.religion"


@pytest.mark.parametrize(
    "command", [Person, HouseholdHead, HouseholdMember, Address, RegisterHousehold, ChangeHousehold]
)
def test_no_command_keeps_a_field_for_belief_or_religion(command: type[BaseModel]):
    words = ("relig", "belief", "faith")
    assert not [name for name in command.model_fields if any(word in name for word in words)]


def test_text_is_stripped_and_blank_optional_text_is_absent():
    household = RegisterHousehold.model_validate(
        a_household(
            head=a_head(name="  王秀英 ", work_unit="  "),
            remarks="",
            address={"compound": " 幸福楼院", "building": "3 栋 "},
        )
    )

    assert household.head.name == "王秀英"
    assert household.head.work_unit is None
    assert household.remarks is None
    assert (household.address.compound, household.address.building, household.address.unit) == ("幸福楼院", "3 栋", None)


def test_a_registered_household_cannot_be_altered_in_place():
    household = RegisterHousehold.model_validate(a_household())

    with pytest.raises(ValidationError):
        household.head.name = "王秀兰"  # type: ignore[misc]


def test_missing_required_fields_are_each_named():
    errors = errors_of(RegisterHousehold, {"head": {"name": "王秀英"}})

    assert {field: error.code for field, error in errors.items()} == {
        "head.sex": "missing",
        "head.birth_month": "missing",
        "head.ethnicity": "missing",
        "head.political_status": "missing",
        "address": "missing",
    }
    assert errors["head.birth_month"].message.zh == "出生年月为必填项"
    assert errors["address"].message.en == "address is required"


def test_a_member_need_not_have_a_political_status_but_the_head_must():
    household = RegisterHousehold.model_validate(a_household(members=[a_member(political_status=None)]))
    assert household.members[0].political_status is None

    head = dict(a_head())
    del head["political_status"]
    assert the_error(RegisterHousehold, a_household(head=head), "head.political_status").code == "missing"


def test_every_error_is_reported_at_once():
    errors = errors_of(
        RegisterHousehold,
        a_household(head=a_head(birth_month="2023-13", ethnicity="99"), members=[a_member(phone="12345")]),
    )

    assert set(errors) == {"head.birth_month", "head.ethnicity", "members.0.phone"}


# --- wrong types and lengths ---


def test_a_code_sent_as_a_number_is_the_wrong_type():
    error = the_error(RegisterHousehold, a_household(head=a_head(sex=2)), "head.sex")

    assert error.code == "wrong_type"
    assert error.message.zh == "性别应为文本"
    assert error.message.en == "sex must be text"


def test_a_member_that_is_not_an_object_is_the_wrong_type():
    error = the_error(RegisterHousehold, a_household(members=[a_member(), "李建国"]), "members.1")

    assert error.code == "wrong_type"
    assert error.message.zh == "家庭成员第 2 项应为对象"
    assert error.message.en == "household members, entry 2 must be an object"


def test_members_sent_as_an_object_are_the_wrong_type():
    assert the_error(RegisterHousehold, a_household(members=a_member()), "members").code == "wrong_type"


def test_a_name_longer_than_fifty_characters_is_too_long():
    error = the_error(RegisterHousehold, a_household(head=a_head(name="王" * 51)), "head.name")

    assert error.code == "too_long"
    assert error.message.zh == "姓名不能超过 50 个字符"
    assert error.message.en == "name must have at most 50 characters"


@pytest.mark.parametrize(("field", "limit"), [("can_offer", 500), ("needs", 500), ("remarks", 500)])
def test_long_free_text_is_too_long(field: str, limit: int):
    assert the_error(RegisterHousehold, a_household(**{field: "字" * (limit + 1)}), field).code == "too_long"


def test_a_room_longer_than_twenty_characters_is_too_long():
    address = {"compound": "幸福楼院", "building": "3 栋", "room": "4" * 21}
    assert the_error(RegisterHousehold, a_household(address=address), "address.room").code == "too_long"


def test_a_blank_name_is_refused():
    error = the_error(RegisterHousehold, a_household(head=a_head(name="   ")), "head.name")

    assert error.code == "blank"
    assert error.message.zh == "姓名不能为空"


def test_more_than_thirty_members_are_too_many():
    error = the_error(RegisterHousehold, a_household(members=[a_member()] * 31), "members")

    assert error.code == "too_many"
    assert error.message.zh == "家庭成员最多 30 项"


# --- code lists ---


def test_an_unknown_ethnicity_code_is_named_in_both_languages():
    error = the_error(RegisterHousehold, a_household(head=a_head(ethnicity="99")), "head.ethnicity")

    assert error.code == "unknown_code"
    assert error.message.zh == "民族代码不在 GB/T 3304 中：99"
    assert error.message.en == "ethnicity code is not in GB/T 3304: 99"


@pytest.mark.parametrize(
    ("field", "code", "standard"),
    [("sex", "5", "GB/T 2261.1"), ("political_status", "14", "GB/T 4762"), ("ethnicity", "1", "GB/T 3304")],
)
def test_an_unknown_code_names_its_standard(field: str, code: str, standard: str):
    error = the_error(RegisterHousehold, a_household(head=a_head(**{field: code})), f"head.{field}")

    assert error.code == "unknown_code"
    assert standard in error.message.zh and standard in error.message.en


def test_a_relation_category_is_not_a_relation():
    error = the_error(RegisterHousehold, a_household(members=[a_member(relation="1")]), "members.0.relation")

    assert error.code == "unknown_code"
    assert error.message.zh == "家庭关系代码不在 GB/T 4761 中：1"


@pytest.mark.parametrize("relation", ["01", "02", "03"])
def test_a_member_cannot_be_recorded_as_the_head(relation: str):
    error = the_error(RegisterHousehold, a_household(members=[a_member(relation=relation)]), "members.0.relation")

    assert error.code == "relation_is_head"
    assert error.message.zh == f"与户主关系不能是本人或户主（户主单独登记）：{relation}"


# --- birth month ---


def test_an_impossible_birth_month_is_named_in_both_languages():
    error = the_error(
        RegisterHousehold, a_household(members=[a_member(birth_month="2023-13")]), "members.0.birth_month"
    )

    assert error.code == "impossible_month"
    assert error.message.zh == "出生年月不存在：2023-13"
    assert error.message.en == "birth month does not exist: 2023-13"


def test_month_zero_is_impossible():
    assert the_error(RegisterHousehold, a_household(head=a_head(birth_month="1958-00")), "head.birth_month").code == (
        "impossible_month"
    )


@pytest.mark.parametrize("month", ["1958/03", "1958-3", "195803", "1958-03-01", "三月"])
def test_a_birth_month_not_written_yyyy_mm_is_refused(month: str):
    error = the_error(RegisterHousehold, a_household(head=a_head(birth_month=month)), "head.birth_month")

    assert error.code == "invalid_month"
    assert error.message.en == f"birth month must look like YYYY-MM: {month}"


def test_a_birth_month_before_1900_is_refused():
    error = the_error(RegisterHousehold, a_household(head=a_head(birth_month="1899-12")), "head.birth_month")

    assert error.code == "too_early"
    assert error.message.zh == "出生年月早于 1900 年：1899-12"


def test_a_birth_month_in_the_future_is_refused():
    household = a_household(members=[a_member(birth_month=next_month())])

    error = the_error(RegisterHousehold, household, "members.0.birth_month")

    assert error.code == "future_month"
    assert error.message.zh == f"出生年月晚于本月：{next_month()}"


def test_a_baby_born_this_month_can_be_registered():
    this_month = date.today().strftime("%Y-%m")
    baby = a_member(name="李小宝", relation="41", birth_month=this_month)

    assert RegisterHousehold.model_validate(a_household(members=[baby])).members[0].birth_month == this_month


# --- phone ---


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("13800138000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("0816-2345678", "08162345678"),
        ("010-62345678", "01062345678"),
        ("+86 010 6234 5678", "01062345678"),
        ("+86 10 6234 5678", "01062345678"),
        ("0086 816 234 5678", "08162345678"),
    ],
)
def test_a_phone_is_stored_as_its_digits(given: str, stored: str):
    assert HouseholdHead.model_validate(a_head(phone=given)).phone == stored


@pytest.mark.parametrize("phone", ["12345", "12800138000", "1380013800", "138001380001", "0816-234", "138-0013-800a"])
def test_a_malformed_phone_is_refused(phone: str):
    error = the_error(RegisterHousehold, a_household(head=a_head(phone=phone)), "head.phone")

    assert error.code == "invalid_phone"
    assert error.message.zh == f"联系电话不是手机号或带区号的固定电话：{phone}"


def test_a_phone_is_optional_and_blank_means_none():
    assert HouseholdHead.model_validate(a_head(phone=None)).phone is None
    assert HouseholdMember.model_validate(a_member(phone=" ")).phone is None


# --- changing a household ---


def test_a_change_carries_only_what_was_sent():
    change = ChangeHousehold.model_validate({"needs": "希望社区组织老年人体检"})

    assert change.model_fields_set == {"needs"}
    assert change.model_dump(exclude_unset=True) == {"needs": "希望社区组织老年人体检"}


def test_an_empty_change_is_refused():
    error = the_error(ChangeHousehold, {}, "")

    assert error.code == "empty_change"
    assert error.message.zh == "修改至少要包含一个字段"
    assert error.message.en == "a change must include at least one field"


def test_a_change_may_clear_remarks_with_null():
    change = ChangeHousehold.model_validate({"remarks": None})

    assert change.model_fields_set == {"remarks"}
    assert change.remarks is None


@pytest.mark.parametrize("field", ["head", "members", "address"])
def test_a_change_cannot_clear_what_a_household_must_have(field: str):
    error = the_error(ChangeHousehold, {field: None}, field)

    assert error.code == "cannot_clear"


def test_a_change_may_leave_the_head_living_alone():
    change = ChangeHousehold.model_validate({"members": []})

    assert change.members == []


def test_a_change_is_checked_like_a_registration():
    errors = errors_of(ChangeHousehold, {"members": [a_member(birth_month="2023-13")], "address": {"building": "3 栋"}})

    assert {field: error.code for field, error in errors.items()} == {
        "members.0.birth_month": "impossible_month",
        "address.compound": "missing",
    }


def test_a_change_cannot_set_the_household_size():
    assert the_error(ChangeHousehold, {"household_size": 3}, "household_size").code == "extra_field"


# --- JSON and OpenAPI ---


def test_the_commands_can_be_described_in_openapi():
    @post("/households")
    async def register(data: JSONBody[RegisterHousehold]) -> None: ...

    @patch("/households/{household_id:str}")
    async def change(household_id: FromPath[str], data: JSONBody[ChangeHousehold]) -> None: ...

    with TestClient(Litestar([register, change])) as client:
        schemas = client.get("/schema/openapi.json").json()["components"]["schemas"]

    assert schemas["HouseholdMember"]["properties"]["ethnicity"]["description"] == "GB/T 3304 code"
    assert "household_size" not in schemas["RegisterHousehold"]["properties"]


def test_malformed_json_becomes_a_malformed_json_problem():
    with pytest.raises(ValidationError) as raised:
        RegisterHousehold.model_validate_json('{"head": ')

    problem = problem_from_pydantic(raised.value)
    assert (problem.status, problem.code) == (400, "malformed_json")
    assert problem.detail_zh and problem.detail_zh.startswith("JSON 格式错误")
