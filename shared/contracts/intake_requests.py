"""Requests to register a household or change it: the household survey (社情民意统计表).

Shape checks only. Errors carry our codes (see `shared.problems.FIELD_MESSAGES`)
so that a client learns which field failed and why, in Chinese or English.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.codelists import CodeListName, code_list, source
from shared.idnumber import IdNumber

EARLIEST_BIRTH_YEAR = 1900
MAX_MEMBERS = 30
# GB/T 4761 codes that mean the head (本人, 户主, 小集体户户主): the head is registered apart.
HEAD_RELATIONS = frozenset({"01", "02", "03"})

_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")
_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _coded(list_name: CodeListName) -> Any:
    """A string that must be a code of `list_name`."""

    def check(code: str) -> str:
        if code not in code_list(list_name):
            listed = source(list_name)
            raise PydanticCustomError(
                "unknown_code",
                "{list_en} code is not in {standard}: {code}",
                {"list_en": listed.title_en, "list_zh": listed.title_zh, "standard": listed.standard, "code": code},
            )
        return code

    # No enum in the schema: listing the codes would read the CSVs at import, and Litestar's
    # OpenAPI generator refuses a callable json_schema_extra that could defer it.
    return Annotated[str, AfterValidator(check), Field(description=f"{source(list_name).standard} code")]


def _blank_as_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _birth_month(value: str) -> str:
    match = _YEAR_MONTH.fullmatch(value)
    if not match:
        raise PydanticCustomError("invalid_month", "must look like YYYY-MM: {input}", {"input": value})
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise PydanticCustomError("impossible_month", "does not exist: {input}", {"input": value})
    if year < EARLIEST_BIRTH_YEAR:
        raise PydanticCustomError(
            "too_early", "is before {earliest}: {input}", {"input": value, "earliest": EARLIEST_BIRTH_YEAR}
        )
    today = date.today()
    if (year, month) > (today.year, today.month):
        raise PydanticCustomError("future_month", "is in the future: {input}", {"input": value})
    return value


def _phone(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value)
    international = digits.startswith(("+86", "0086"))
    digits = digits.removeprefix("+86").removeprefix("0086")
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return digits
    # Dialled from abroad, a landline's area code drops its 0: +86 10 6234 5678 is 010 6234 5678.
    if international and _LANDLINE.fullmatch("0" + digits):
        return "0" + digits
    raise PydanticCustomError(
        "invalid_phone", "is neither a mainland mobile number nor a landline with area code: {input}", {"input": value}
    )


def _not_head(code: str) -> str:
    if code in HEAD_RELATIONS:
        raise PydanticCustomError(
            "relation_is_head", "cannot be self or head (the head is registered separately): {code}", {"code": code}
        )
    return code


def _phone_if_given(value: str | None) -> str | None:
    return None if value is None else _phone(value)


_BlankAsNone = BeforeValidator(_blank_as_none)

Name = Annotated[str, Field(min_length=1, max_length=50)]
BirthMonth = Annotated[str, AfterValidator(_birth_month), Field(examples=["1958-03"])]
Sex = _coded("sex")
Ethnicity = _coded("ethnicity")
PoliticalStatus = _coded("political_status")
Relation = Annotated[_coded("family_relationship"), AfterValidator(_not_head)]
Phone = Annotated[str | None, _BlankAsNone, AfterValidator(_phone_if_given)]
CitizenIdNumber = Annotated[IdNumber | None, _BlankAsNone]
WorkUnit = Annotated[Annotated[str, Field(max_length=100)] | None, _BlankAsNone]
Note = Annotated[Annotated[str, Field(max_length=500)] | None, _BlankAsNone]
CompoundName = Annotated[str, Field(min_length=1, max_length=50)]
BuildingName = Annotated[str, Field(min_length=1, max_length=20)]
AddressPart = Annotated[Annotated[str, Field(max_length=20)] | None, _BlankAsNone]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, use_attribute_docstrings=True)


class Person(Command):
    name: Name
    sex: Sex
    birth_month: BirthMonth
    ethnicity: Ethnicity
    work_unit: WorkUnit = None
    remarks: Note = None


class HouseholdHead(Person):
    political_status: PoliticalStatus
    phone: Phone = None
    id_number: CitizenIdNumber = None


class HouseholdMember(Person):
    relation: Relation
    political_status: PoliticalStatus | None = None
    phone: Phone = None
    id_number: CitizenIdNumber = None


Members = Annotated[list[HouseholdMember], Field(max_length=MAX_MEMBERS)]


class Address(Command):
    compound: CompoundName
    """楼院 or 网格, by name or id."""
    building: BuildingName
    unit: AddressPart = None
    room: AddressPart = None


class RegisterHousehold(Command):
    head: HouseholdHead
    members: Members = []
    address: Address
    can_offer: Note = None
    """可为社区提供何种服务: skills and time, for the volunteer pool."""
    needs: Note = None
    """对社区服务有何种需求: for service requests and assistance."""
    remarks: Note = None

    @property
    def household_size(self) -> int:
        return 1 + len(self.members)


class ChangeHousehold(Command):
    """A PATCH: only the fields sent change; `members`, when sent, replaces the list."""

    head: HouseholdHead | None = None
    members: Members | None = None
    address: Address | None = None
    can_offer: Note = None
    needs: Note = None
    remarks: Note = None

    @field_validator("head", "members", "address", mode="before")
    @classmethod
    def _refuse_clearing_what_a_household_must_have(cls, value: Any) -> Any:
        # Runs only for fields that were sent: an absent field keeps its value.
        if value is None:
            raise PydanticCustomError("cannot_clear", "cannot be cleared")
        return value

    @model_validator(mode="after")
    def _require_a_change(self) -> ChangeHousehold:
        if not self.model_fields_set:
            raise PydanticCustomError("empty_change", "a change must include at least one field")
        return self


class MergeResidents(Command):
    """Merge `duplicate_id` into the resident named in the path; both histories are kept."""

    duplicate_id: Annotated[str, Field(min_length=1, max_length=100)]


class EraseResident(Command):
    """Erase a resident's personal data for good (PIPL art. 47): their key is destroyed."""

    reason: Annotated[str, Field(min_length=2, max_length=500)]


Reason = Annotated[str, Field(min_length=2, max_length=500)]
ShortText = Annotated[Annotated[str, Field(max_length=200)] | None, _BlankAsNone]


def _year_month(value: str) -> str:
    match = _YEAR_MONTH.fullmatch(value)
    if not match or not 1 <= int(match[2]) <= 12:
        raise PydanticCustomError("invalid_month", "must look like YYYY-MM: {input}", {"input": value})
    return value


def _not_future(value: date) -> date:
    if value > date.today():
        raise PydanticCustomError("future_date", "is in the future: {input}", {"input": value.isoformat()})
    return value


PastDate = Annotated[date, AfterValidator(_not_future)]
YearMonth = Annotated[str, AfterValidator(_year_month), Field(examples=["1998-07"])]


class _Label(Command):
    since: PastDate
    """The day the resident came into this group."""
    reason: Reason
    """Why the label is added (who found it, on what grounds)."""


class HardshipLabel(_Label):
    """困难群众: the cause of hardship is personal data (sealed)."""

    label: Literal["hardship"]
    cause: Reason


class UnemployedLabel(_Label):
    """下岗失业人员."""

    label: Literal["unemployed"]
    skills: ShortText = None
    former_work_unit: ShortText = None


class ElderlyAloneLabel(_Label):
    """空巢及孤寡老人."""

    label: Literal["elderly_alone"]
    relative_phone: Phone = None
    has_income: bool
    health: ShortText = None
    """健康状况: health is personal data of a special kind (PIPL art. 28), sealed."""


class VeteranHardshipLabel(_Label):
    """困难军转干部."""

    label: Literal["veteran_hardship"]
    transferred_in: YearMonth
    """When the cadre transferred to civilian work."""
    employed_at: ShortText = None


class ReentryLabel(_Label):
    """“两劳”人员 (安置帮教): custody history is personal data (sealed); the support period ends
    on `until`, and the label lapses then unless renewed."""

    label: Literal["reentry"]
    reason_for_custody: Reason
    released_on: PastDate
    employed_at: ShortText = None
    until: date

    @model_validator(mode="after")
    def _support_ends_after_release(self) -> ReentryLabel:
        if self.until <= self.released_on:
            raise PydanticCustomError("until_before_release", "must be after the release date")
        return self


class LabelResident(RootModel[Annotated[
    HardshipLabel | UnemployedLabel | ElderlyAloneLabel | VeteranHardshipLabel | ReentryLabel,
    Field(discriminator="label"),
]]):
    """One of the book's ledgers 2–6, by `label`, with that ledger's own fields. A field
    error names the label too: `elderly_alone.relative_phone`."""

    model_config = ConfigDict(frozen=True)


class ClearLabel(Command):
    on: PastDate
    reason: Reason


class RenewLabel(Command):
    until: date
    reason: Reason


class MoveResident(Command):
    """A member leaves their household, for another household of the community
    (`household_id`, with their `relation` to its head) or for none (`household_id` null)."""

    household_id: Annotated[str, Field(min_length=1, max_length=100)] | None
    relation: Relation | None = None
    on: PastDate
    reason: Reason

    @model_validator(mode="after")
    def _joining_needs_a_relation(self) -> MoveResident:
        if self.household_id and not self.relation:
            raise PydanticCustomError("relation_needed", "is needed to join a household")
        return self
