"""Each pillar-1 ledger is written as a sheet laid out like the book's form."""

from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from services.gateway.ledgers.layouts import HOUSEHOLD_SURVEY, LAYOUTS
from services.gateway.ledgers.xlsx import write_ledger

AS_OF = date(2025, 3, 1)
ROWS = {
    "hardship": [
        {"name": "王秀英", "sex": "2", "household_size": 2, "work_unit": "绵阳市第一纺织厂（退休）",
         "address": "幸福楼院 3 栋 2 单元 401", "phone": "13800138000", "hardship_cause": "老伴重病，医药费负担重"},
        {"name": "李强", "sex": "1", "household_size": 3, "address": "幸福楼院 5 栋", "phone": "13912345678"},
    ],
    "unemployed": [
        {"name": "李强", "sex": "1", "household_size": 3, "former_work_unit": "绵阳市第二纺织厂",
         "address": "幸福楼院 5 栋", "phone": "13912345678", "skills": "会修水电"},
    ],
    "elderly_alone": [
        {"name": "张桂兰", "sex": "2", "birth_month": "1938-05", "address": "幸福楼院 3 栋 1 单元 101",
         "phone": "08162345678", "relative_phone": "13800138000", "has_income": False},
        {"name": "王秀英", "sex": "2", "birth_month": "1958-03", "address": "幸福楼院 3 栋 2 单元 401",
         "phone": "13800138000", "has_income": True},
    ],
    "veteran_hardship": [
        {"name": "赵国强", "sex": "1", "political_status": "01", "transferred_in": "1998-10", "employment": "否",
         "address": "幸福楼院 7 栋", "phone": "13700137000"},
    ],
    "reentry": [
        {"name": "孙明", "sex": "1", "reason": "盗窃", "released_on": "2023-06-15", "employment": "是（绵州物业公司）",
         "address": "幸福楼院 9 栋", "phone": "13600136000"},
    ],
    "household_survey": [
        {
            "head": {"name": "王秀英", "sex": "2", "birth_month": "1958-03", "ethnicity": "01",
                     "political_status": "01", "phone": "13800138000", "work_unit": "绵阳市第一纺织厂（退休）"},
            "members": [{"name": "李建国", "sex": "1", "birth_month": "1956-11", "ethnicity": "01", "relation": "11"}],
            "address": {"compound": "幸福楼院", "building": "3 栋", "unit": "2 单元", "room": "401"},
            "can_offer": "会裁缝，周末可以义务缝补",
            "needs": "老伴腿脚不便，希望有上门体检",
        }
    ],
}
# The headers as the book prints them (seed pages 14-21).
BOOK_HEADERS = {
    "hardship": "姓名 性别 家庭人口 工作单位 家庭住址 联系电话 困难原因",
    "unemployed": "姓名 性别 家庭人口 工作单位 家庭住址 联系电话 有何特长或技能",
    "elderly_alone": "姓名 性别 出生年月 家庭住址 联系电话 亲属联系电话 是否有收入来源",
    "veteran_hardship": "姓名 性别 政治面貌 何时转业 是否择业(工作单位) 家庭住址 联系电话",
    "reentry": "姓名 性别 “两劳”原因 何时获释 是否择业(工作单位) 家庭住址 联系电话",
}
BOOK_TITLES = {
    "household_survey": "社情民意统计表",
    "hardship": "困难群众统计表",
    "unemployed": "下岗失业人员统计表",
    "elderly_alone": "空巢及孤寡老人统计表",
    "veteran_hardship": "困难军转干部统计表",
    "reentry": "“两劳”人员统计表",
}


def written(name: str):
    data = write_ledger(LAYOUTS[name], ROWS[name], "绵州社区", AS_OF)
    return load_workbook(BytesIO(data)).active


def row_values(sheet, row: int) -> list:
    return [cell.value for cell in sheet[row]]


def test_there_is_a_layout_for_each_pillar_1_ledger_and_none_for_belief():
    assert set(LAYOUTS) == set(BOOK_TITLES)
    headers = {column.header for layout in LAYOUTS.values() for column in layout.columns}
    assert not any(word in header for header in headers for word in ("宗教", "信仰", "邪教", "法轮功"))


@pytest.mark.parametrize("name", list(BOOK_TITLES))
def test_a_sheet_is_titled_as_the_book_titles_the_ledger_with_its_community_and_date(name):
    sheet = written(name)
    last = get_column_letter(len(LAYOUTS[name].columns))

    assert sheet.title == sheet["A1"].value == BOOK_TITLES[name]
    assert sheet["A1"].font.b
    assert sheet["A2"].value == "社区：绵州社区　　日期：2025年3月1日"
    assert {f"A1:{last}1", f"A2:{last}2"} <= {str(merged) for merged in sheet.merged_cells.ranges}


@pytest.mark.parametrize("name", list(BOOK_HEADERS))
def test_a_ledgers_headers_are_the_books_in_the_books_order_bold_and_bordered(name):
    sheet = written(name)

    assert row_values(sheet, 3) == BOOK_HEADERS[name].split()
    assert all(cell.font.b and cell.border.left.style == "thin" for cell in sheet[3])
    assert sheet.freeze_panes == "B4"  # the header row and the name column stay in view


def test_the_household_survey_keeps_the_order_of_the_books_head_row_and_members_table():
    headers = [column.group or column.header for column in HOUSEHOLD_SURVEY.columns]
    book_head_row = "姓名 性别 出生年月 民族 政治面貌 家庭人口 工作单位 家庭住址 联系电话 备注".split()
    book_members = "姓名 性别 出生年月 民族 与户主关系 工作单位 备注".split()
    book_after = ["可为社区提供何种服务", "对社区服务有何种需求"]

    for book_order in (book_head_row, book_members, book_after):
        positions = [headers.index(header) for header in book_order]
        assert positions == sorted(positions), book_order


def test_the_household_surveys_address_heading_spans_its_parts_above_a_second_header_row():
    sheet = written("household_survey")

    assert row_values(sheet, 3)[9:13] == ["家庭住址", None, None, None]
    assert row_values(sheet, 4)[9:13] == ["楼院", "楼栋", "单元", "房号"]
    assert {"J3:M3", "A3:A4", "B3:B4"} <= {str(merged) for merged in sheet.merged_cells.ranges}
    assert sheet.freeze_panes == "C5"


def test_the_household_survey_shows_a_head_row_then_member_rows_with_chinese_labels():
    sheet = written("household_survey")

    assert row_values(sheet, 5) == [
        1, "王秀英", "女", "1958-03", "汉族", "户主", "中共党员", 2, "绵阳市第一纺织厂（退休）",
        "幸福楼院", "3 栋", "2 单元", "401", "13800138000", None,
        "会裁缝，周末可以义务缝补", "老伴腿脚不便，希望有上门体检", None,
    ]
    assert row_values(sheet, 6)[:6] == [1, "李建国", "男", "1956-11", "汉族", "夫"]
    assert row_values(sheet, 6)[7:] == [None] * 11  # household fields are on the head's row only


def test_a_flat_ledgers_row_shows_labels_yes_or_no_and_numbers():
    sheet = written("elderly_alone")

    assert row_values(sheet, 4) == [
        "张桂兰", "女", "1938-05", "幸福楼院 3 栋 1 单元 101", "08162345678", "13800138000", "否"
    ]
    assert row_values(sheet, 5)[-1] == "是"
    assert written("veteran_hardship")["C4"].value == "中共党员"
    assert written("hardship")["C4"].value == 2


@pytest.mark.parametrize(("name", "cells"), [("elderly_alone", ["E4", "F4", "C4"]), ("household_survey", ["N5", "D5"])])
def test_phone_and_month_cells_are_text_so_excel_keeps_leading_zeros(name, cells):
    sheet = written(name)

    for coordinate in cells:
        assert sheet[coordinate].data_type == "s" and sheet[coordinate].number_format == "@", coordinate


def test_a_blank_phone_column_is_formatted_as_text_for_what_is_typed_into_it_later():
    sheet = written("household_survey")

    assert sheet.column_dimensions["N"].number_format == "@"
    assert sheet.column_dimensions["A"].number_format == "General"  # 户号 is a number


def test_the_header_rows_are_printed_on_every_page():
    assert written("household_survey").print_title_rows == "$3:$4"
    assert written("hardship").print_title_rows == "$3:$3"


def test_a_code_not_in_its_list_is_refused_before_anything_is_written():
    with pytest.raises(KeyError):
        write_ledger(LAYOUTS["hardship"], [{"name": "王秀英", "sex": "女"}], "绵州社区", AS_OF)


def test_an_empty_ledger_still_has_its_title_and_headers():
    sheet = load_workbook(BytesIO(write_ledger(LAYOUTS["reentry"], [], "绵州社区", AS_OF))).active

    assert sheet["A1"].value == "“两劳”人员统计表" and row_values(sheet, 3)[0] == "姓名" and sheet.max_row == 3


def test_the_reentry_ledger_is_marked_restricted():
    assert [layout.name for layout in LAYOUTS.values() if layout.restricted] == ["reentry"]


def test_a_sheet_states_its_size_so_a_streaming_reader_need_not_measure_it():
    data = write_ledger(LAYOUTS["household_survey"], ROWS["household_survey"], "绵州社区", AS_OF)
    sheet = load_workbook(BytesIO(data), read_only=True).active

    assert sheet.calculate_dimension() == "A1:R6"
