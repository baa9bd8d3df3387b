"""The pillar-1 ledgers as the book prints them: title, and columns in the book's order.

The household survey (社情民意统计表) is printed in the book as one block per
household: the head's row, a table of members, then what the household can offer
and what it needs. As a sheet it is one row per person, because that is the
table a community worker keeps in Excel and can sort, filter and extend by
inserting a row:

- 户号 groups the rows of one household. Every row carries it, so sorting or
  filtering the sheet never splits a household, and rows of a household need
  not be next to each other. It only groups rows within the file.
- 与户主关系 says which row is the head: 户主 (or 本人). A household has exactly one.
- The columns follow the book: the head's row (姓名 … 政治面貌, 家庭人口, 工作单位,
  家庭住址, 联系电话, 备注) with the members' 与户主关系 after 民族 as the members'
  table has it; then 可为社区提供何种服务 and 对社区服务有何种需求. 家庭住址 spans
  楼院 / 楼栋 / 单元 / 房号 under one heading, so an address reads back into its parts.
- Household columns (家庭人口, 家庭住址, the two services, 家庭备注) are filled on
  the head's row only, as on the paper form; on a member's row they are left
  blank or repeat the head's value. 家庭备注 is the household's own remark, which
  the book keeps in the head row's 备注 beside the head's: here 备注 is each
  person's.

Ledgers 2–6 are plain tables, one row per resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.codelists import CodeListName

Kind = Literal["text", "note", "integer", "phone", "month", "date", "yes_no", "code"]
Scope = Literal["person", "household"]


@dataclass(frozen=True)
class Column:
    header: str
    """As the book prints it."""
    key: str
    kind: Kind = "text"
    code_list: CodeListName | None = None
    group: str | None = None
    """A heading printed above this and its neighbours with the same group (家庭住址)."""
    scope: Scope = "person"
    """For the household survey: whether the value is the person's or the household's."""
    width: float = 12


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    """The table's name as the book prints it."""
    title_en: str
    columns: tuple[Column, ...]
    restricted: bool = False
    """Only roles with that ledger's duties may see it (the book's “两劳” register)."""

    @property
    def header_rows(self) -> int:
        return 2 if any(column.group for column in self.columns) else 1

    def column(self, key: str) -> Column:
        return next(column for column in self.columns if column.key == key)


def _name() -> Column:
    return Column("姓名", "name", width=10)


def _sex() -> Column:
    return Column("性别", "sex", "code", "sex", width=6)


def _household_size() -> Column:
    return Column("家庭人口", "household_size", "integer", width=8)


def _address() -> Column:
    return Column("家庭住址", "address", width=26)


def _phone() -> Column:
    return Column("联系电话", "phone", "phone", width=15)


def _employment() -> Column:
    return Column("是否择业(工作单位)", "employment", width=22)


HOUSEHOLD_SURVEY = Layout(
    "household_survey",
    "社情民意统计表",
    "Household survey",
    (
        Column("户号", "household_no", "integer", width=6),
        _name(),
        _sex(),
        Column("出生年月", "birth_month", "month", width=10),
        Column("民族", "ethnicity", "code", "ethnicity", width=8),
        Column("与户主关系", "relation", "code", "family_relationship", width=10),
        Column("政治面貌", "political_status", "code", "political_status", width=12),
        Column("家庭人口", "household_size", "integer", scope="household", width=8),
        Column("工作单位", "work_unit", width=22),
        Column("楼院", "compound", group="家庭住址", scope="household", width=12),
        Column("楼栋", "building", group="家庭住址", scope="household", width=8),
        Column("单元", "unit", group="家庭住址", scope="household", width=8),
        Column("房号", "room", group="家庭住址", scope="household", width=8),
        _phone(),
        Column("备注", "remarks", "note", width=16),
        Column("可为社区提供何种服务", "can_offer", "note", scope="household", width=24),
        Column("对社区服务有何种需求", "needs", "note", scope="household", width=24),
        Column("家庭备注", "household_remarks", "note", scope="household", width=16),
    ),
)

HARDSHIP = Layout(
    "hardship",
    "困难群众统计表",
    "Residents in hardship",
    (
        _name(),
        _sex(),
        _household_size(),
        Column("工作单位", "work_unit", width=22),
        _address(),
        _phone(),
        Column("困难原因", "hardship_cause", "note", width=30),
    ),
)

UNEMPLOYED = Layout(
    "unemployed",
    "下岗失业人员统计表",
    "Laid-off and unemployed residents",
    (
        _name(),
        _sex(),
        _household_size(),
        Column("工作单位", "former_work_unit", width=22),
        _address(),
        _phone(),
        Column("有何特长或技能", "skills", "note", width=30),
    ),
)

ELDERLY_ALONE = Layout(
    "elderly_alone",
    "空巢及孤寡老人统计表",
    "Elderly living alone or without family",
    (
        _name(),
        _sex(),
        Column("出生年月", "birth_month", "month", width=10),
        _address(),
        _phone(),
        Column("亲属联系电话", "relative_phone", "phone", width=15),
        Column("是否有收入来源", "has_income", "yes_no", width=10),
    ),
)

VETERAN_HARDSHIP = Layout(
    "veteran_hardship",
    "困难军转干部统计表",
    "Former military cadres in hardship",
    (
        _name(),
        _sex(),
        Column("政治面貌", "political_status", "code", "political_status", width=12),
        Column("何时转业", "transferred_in", "month", width=10),
        _employment(),
        _address(),
        _phone(),
    ),
)

REENTRY = Layout(
    "reentry",
    "“两劳”人员统计表",
    "People released from custody (reentry support)",
    (
        _name(),
        _sex(),
        Column("“两劳”原因", "reason", "note", width=24),
        Column("何时获释", "released_on", "date", width=12),
        _employment(),
        _address(),
        _phone(),
    ),
    restricted=True,
)

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (HOUSEHOLD_SURVEY, HARDSHIP, UNEMPLOYED, ELDERLY_ALONE, VETERAN_HARDSHIP, REENTRY)
}
