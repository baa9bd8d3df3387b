"""A household survey sheet reads back into the households it was written from, and every
bad cell of a sheet is reported at its row and column, in Chinese and English."""

import zipfile
from datetime import date, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook

from services.gateway.ledgers.layouts import HARDSHIP, HOUSEHOLD_SURVEY
from services.gateway.ledgers.xlsx import read_households, write_ledger
from shared.contracts.intake_requests import RegisterHousehold

WANG = {
    "head": {"name": "王秀英", "sex": "2", "birth_month": "1958-03", "ethnicity": "01", "political_status": "01",
             "phone": "13800138000", "work_unit": "绵阳市第一纺织厂（退休）", "remarks": "腿脚不便"},
    "members": [
        {"name": "李建国", "sex": "1", "birth_month": "1956-11", "ethnicity": "01", "relation": "11"},
        {"name": "李强", "sex": "1", "birth_month": "1985-07", "ethnicity": "01", "relation": "20",
         "political_status": "03", "phone": "0816-2345678", "work_unit": "绵阳市第二纺织厂"},
    ],
    "address": {"compound": "幸福楼院", "building": "3 栋", "unit": "2 单元", "room": "401"},
    "can_offer": "会裁缝，周末可以义务缝补",
    "needs": "老伴腿脚不便，希望有上门体检",
    "remarks": "2024 年新搬入",
}
SHAN = {
    "head": {"name": "单田芳", "sex": "1", "birth_month": "1950-01", "ethnicity": "11", "political_status": "13"},
    "address": {"compound": "幸福楼院", "building": "5 栋"},
}
AYGUL = {
    "head": {"name": "阿依古丽·买买提", "sex": "2", "birth_month": "1990-08", "ethnicity": "05",
             "political_status": "13", "phone": "+86 139 1234 5678"},
    "members": [{"name": "艾力·买买提", "sex": "1", "birth_month": "2015-04", "ethnicity": "05", "relation": "20"}],
    "address": {"compound": "幸福楼院", "building": "3 栋", "unit": "1 单元", "room": "102"},
}
# Rows of the written WANG sheet: title, date line, two header rows, then people.
HEAD_ROW, SPOUSE_ROW, SON_ROW = 5, 6, 7


def a_sheet(*households: dict[str, Any]) -> bytes:
    return write_ledger(HOUSEHOLD_SURVEY, households or [WANG], "绵州社区", date(2025, 3, 1))


def edited(data: bytes, **cells: Any) -> bytes:
    """The sheet with some cells changed, as a worker would in Excel."""
    workbook = load_workbook(BytesIO(data))
    for coordinate, value in cells.items():
        workbook.active[coordinate] = value
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def canonical(household: dict[str, Any]) -> dict[str, Any]:
    return RegisterHousehold.model_validate(household).model_dump(mode="json")


def the_errors(data: bytes) -> list[tuple[int | None, str | None, str, str]]:
    households, errors = read_households(data)
    assert households == [] and errors
    return [(error.row, error.column, error.field, error.code) for error in errors]


def the_error(data: bytes):
    households, errors = read_households(data)
    assert households == [] and len(errors) == 1, errors
    return errors[0]


def test_households_read_back_as_they_were_written():
    households, errors = read_households(a_sheet(WANG, SHAN, AYGUL))

    assert errors == []
    assert [parsed.household for parsed in households] == [canonical(h) for h in (WANG, SHAN, AYGUL)]
    assert [parsed.row for parsed in households] == [5, 8, 9]


def test_a_read_household_is_accepted_by_the_register_command():
    [parsed], _ = read_households(a_sheet(WANG))

    assert RegisterHousehold.model_validate(parsed.household).household_size == 3


def test_each_household_has_a_natural_key_of_head_birth_month_and_address():
    households, _ = read_households(a_sheet(WANG, SHAN))

    assert [parsed.key for parsed in households] == ["王秀英|1958-03|幸福楼院|3栋|2单元|401", "单田芳|1950-01|幸福楼院|5栋||"]


def test_the_natural_key_ignores_spacing_and_letter_case():
    spaced = edited(a_sheet(WANG), B5=" 王 秀英", K5="3栋", L5="2单元")

    [parsed], _ = read_households(spaced)
    assert parsed.key == "王秀英|1958-03|幸福楼院|3栋|2单元|401"


def test_rows_are_grouped_by_household_number_even_after_sorting():
    workbook = load_workbook(BytesIO(a_sheet(WANG, SHAN)))
    sheet = workbook.active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=5)]
    for row_number, values in enumerate(reversed(rows), start=5):  # 单田芳 first, 王秀英's son before her
        for column, value in enumerate(values, start=1):
            sheet.cell(row_number, column, value)
    buffer = BytesIO()
    workbook.save(buffer)

    households, errors = read_households(buffer.getvalue())
    assert errors == []
    assert sorted(h.household["head"]["name"] for h in households) == ["单田芳", "王秀英"]
    wang = next(h.household for h in households if h.household["head"]["name"] == "王秀英")
    assert [member["name"] for member in wang["members"]] == ["李强", "李建国"]


def test_a_value_typed_the_way_people_type_it_is_understood():
    relaxed = edited(
        a_sheet(WANG),
        C5="女性",  # the standard's name as well as 女
        D5="1958年3月",
        E5="汉",
        G5="中国共产党党员",
        D6=datetime(1956, 11, 1),  # Excel made a date of 1956-11
        N5=13800138000,  # Excel made a number of the phone
        A6="1",
    )

    [parsed], errors = read_households(relaxed)
    assert errors == [] and parsed.household == canonical(WANG)


def test_a_header_wrapped_onto_two_lines_is_still_the_header():
    households, errors = read_households(edited(a_sheet(WANG), P3="可为社区提供\n何种服务"))

    assert errors == [] and len(households) == 1


def test_an_unknown_sex_label_is_reported_at_its_cell():
    error = the_error(edited(a_sheet(WANG), C5="男的"))

    assert (error.row, error.column, error.field, error.code) == (HEAD_ROW, "性别", "head.sex", "unknown_label")
    assert error.message_zh == "性别“男的”不在 GB/T 2261.1 中"
    assert error.message_en == "sex “男的” is not in GB/T 2261.1"


def test_an_unknown_relation_of_a_member_is_reported_with_the_members_place():
    error = the_error(edited(a_sheet(WANG), F7="邻居"))

    assert (error.row, error.column, error.field, error.code) == (SON_ROW, "与户主关系", "members.1.relation", "unknown_label")


def test_an_impossible_birth_month_is_reported_at_its_cell():
    error = the_error(edited(a_sheet(WANG), D6="1956-13"))

    assert (error.row, error.column, error.field, error.code) == (
        SPOUSE_ROW, "出生年月", "members.0.birth_month", "impossible_month"
    )
    assert "1956-13" in error.message_zh and "does not exist" in error.message_en


def test_a_birth_month_stored_as_a_number_is_refused_because_its_month_is_unclear():
    error = the_error(edited(a_sheet(WANG), D5=1958.1))  # 1958.1 or 1958.10?

    assert (error.field, error.code) == ("head.birth_month", "invalid_month")


def test_a_malformed_phone_is_reported_at_its_cell():
    error = the_error(edited(a_sheet(WANG), N5="1380013800"))

    assert (error.row, error.column, error.field, error.code) == (HEAD_ROW, "联系电话", "head.phone", "invalid_phone")


def test_a_missing_head_name_is_reported_at_its_cell():
    error = the_error(edited(a_sheet(WANG), B5=None))

    assert (error.row, error.column, error.field, error.code) == (HEAD_ROW, "姓名", "head.name", "missing")
    assert error.message_zh == "姓名为必填项" and error.message_en == "name is required"


def test_a_missing_address_is_reported_on_the_head_row():
    error = the_error(edited(a_sheet(WANG), J5=None))

    assert (error.row, error.column, error.field, error.code) == (HEAD_ROW, "楼院", "address.compound", "missing")


def test_every_bad_cell_is_reported_in_sheet_order_and_no_household_is_returned():
    data = edited(a_sheet(WANG, SHAN), C8="不详", D5="1958-00", N7="123")

    assert the_errors(data) == [
        (HEAD_ROW, "出生年月", "head.birth_month", "impossible_month"),
        (SON_ROW, "联系电话", "members.1.phone", "invalid_phone"),
        (8, "性别", "head.sex", "unknown_label"),
    ]


def test_a_household_without_a_head_row_is_an_error():
    error = the_error(edited(a_sheet(WANG), F5="配偶"))

    assert (error.row, error.column, error.code) == (HEAD_ROW, "与户主关系", "no_head")
    assert "户号 1" in error.message_zh


def test_a_household_with_two_heads_is_an_error():
    error = the_error(edited(a_sheet(WANG), F7="户主"))

    assert (error.row, error.column, error.code) == (SON_ROW, "与户主关系", "two_heads")


def test_a_member_row_may_repeat_the_households_address_but_not_change_it():
    repeated = edited(a_sheet(WANG), J6="幸福楼院")
    assert read_households(repeated)[1] == []

    error = the_error(edited(a_sheet(WANG), J6="和平楼院"))
    assert (error.row, error.column, error.field, error.code) == (SPOUSE_ROW, "楼院", "address.compound", "differs_from_head")
    assert "第 5 行" in error.message_zh


def test_a_household_size_that_does_not_count_the_rows_is_an_error():
    error = the_error(edited(a_sheet(WANG), H5=4))

    assert (error.row, error.column, error.code) == (HEAD_ROW, "家庭人口", "size_mismatch")
    assert error.message_en == "household size is 4 but the household lists 3 people"


def test_a_blank_household_size_is_counted_from_the_rows():
    assert read_households(edited(a_sheet(WANG), H5=None))[1] == []


def test_a_row_without_a_household_number_is_an_error():
    # The row then belongs to no household, so its household also counts one person short.
    assert the_errors(edited(a_sheet(WANG), A6=None)) == [
        (HEAD_ROW, "家庭人口", "household_size", "size_mismatch"),
        (SPOUSE_ROW, "户号", "household_no", "missing"),
    ]


def test_a_household_number_that_is_not_a_whole_number_is_an_error():
    errors = the_errors(edited(a_sheet(WANG), A6="一", H5=None))

    assert errors == [(SPOUSE_ROW, "户号", "household_no", "wrong_type")]


def test_the_same_household_twice_in_a_file_is_an_error():
    error = the_error(a_sheet(WANG, SHAN, WANG))

    assert (error.row, error.column, error.code) == (9, "姓名", "duplicate_household")
    assert "第 5 行" in error.message_zh


def test_a_wrong_header_is_reported_at_its_column():
    error = the_error(edited(a_sheet(WANG), C3="性別"))

    assert (error.row, error.column, error.code) == (3, "性别", "wrong_header")
    assert error.message_zh == "C列的表头应为“性别”：性別"


def test_a_wrong_address_part_header_is_reported_on_the_second_header_row():
    error = the_error(edited(a_sheet(WANG), K4="栋"))

    assert (error.row, error.column, error.code) == (4, "楼栋", "wrong_header")


def test_a_column_beyond_the_ledgers_is_an_error():
    error = the_error(edited(a_sheet(WANG), S3="身份证号"))

    assert (error.row, error.column, error.code) == (3, None, "extra_column")


def test_another_ledgers_sheet_has_no_household_header():
    other = write_ledger(HARDSHIP, [{"name": "王秀英", "sex": "2"}], "绵州社区", date(2025, 3, 1))

    error = the_error(other)
    assert (error.row, error.column, error.code) == (None, None, "no_header")
    assert error.message_zh == "找不到表头：应有一行以“户号”开头"


def test_a_header_moved_down_by_added_lines_is_still_found():
    workbook = load_workbook(BytesIO(a_sheet(WANG)))
    workbook.active.insert_rows(1, amount=2)
    buffer = BytesIO()
    workbook.save(buffer)

    [parsed], errors = read_households(buffer.getvalue())
    assert errors == [] and parsed.row == HEAD_ROW + 2


def test_a_sheet_with_headers_and_no_rows_is_an_error():
    error = the_error(write_ledger(HOUSEHOLD_SURVEY, [], "绵州社区", date(2025, 3, 1)))

    assert (error.row, error.code, error.message_en) == (None, "no_rows", "the sheet has no rows")


def test_a_file_that_is_not_xlsx_is_an_error():
    for data in (b"name,sex\n\xe7\x8e\x8b,2\n", b"PK\x03\x04 truncated zip"):
        error = the_error(data)
        assert (error.row, error.column, error.field, error.code) == (None, None, "", "not_xlsx")
        assert error.message_zh == "文件不是 Excel 工作簿（.xlsx）"


def test_a_zip_that_is_not_a_workbook_is_an_error():
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "王秀英")

    assert the_error(buffer.getvalue()).code == "not_xlsx"


def test_an_empty_file_is_an_error():
    error = the_error(b"")

    assert (error.code, error.message_zh, error.message_en) == ("empty_file", "文件是空的", "the file is empty")


def test_a_workbook_whose_first_sheet_is_something_else_is_read_from_its_survey_sheet():
    workbook = load_workbook(BytesIO(a_sheet(WANG)))
    workbook.create_sheet("填表说明", 0)
    buffer = BytesIO()
    workbook.save(buffer)

    assert len(read_households(buffer.getvalue())[0]) == 1


def test_a_sheet_written_by_another_program_with_no_title_rows_is_read():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([column.group or column.header for column in HOUSEHOLD_SURVEY.columns])
    sheet.append([column.header if column.group else None for column in HOUSEHOLD_SURVEY.columns])
    sheet.append([1, "单田芳", "男", "1950-01", "满族", "户主", "群众", None, None, "幸福楼院", "5 栋"])
    buffer = BytesIO()
    workbook.save(buffer)

    [parsed], errors = read_households(buffer.getvalue())
    assert errors == [] and parsed.household == canonical(SHAN) and parsed.row == 3


def test_an_error_reads_as_a_plain_dict_for_an_api():
    error = the_error(edited(a_sheet(WANG), C5="男的"))

    assert error.as_dict() == {
        "row": 5, "column": "性别", "field": "head.sex", "code": "unknown_label",
        "message_zh": "性别“男的”不在 GB/T 2261.1 中", "message_en": "sex “男的” is not in GB/T 2261.1",
    }
