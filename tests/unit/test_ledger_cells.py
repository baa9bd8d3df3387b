"""Cells read back as values: months as people type them, yes/no, whole numbers."""

from datetime import date

import pytest

from services.gateway.ledgers.cells import UnreadableCell, from_cell, to_cell
from services.gateway.ledgers.layouts import ELDERLY_ALONE, HOUSEHOLD_SURVEY

MONTH = HOUSEHOLD_SURVEY.column("birth_month")
HAS_INCOME = ELDERLY_ALONE.column("has_income")
HOUSEHOLD_NO = HOUSEHOLD_SURVEY.column("household_no")


@pytest.mark.parametrize("typed", ["1958-03", "1958-3", "1958.03", "1958/3", "1958年3月", "1958 年 3 月", "195803"])
def test_a_month_typed_any_usual_way_reads_as_year_dash_month(typed):
    assert from_cell(MONTH, typed) == "1958-03"


def test_a_month_excel_turned_into_a_date_reads_as_its_month():
    assert from_cell(MONTH, date(1958, 3, 1)) == "1958-03"


def test_text_that_is_not_a_month_is_passed_on_for_the_household_check_to_name():
    assert from_cell(MONTH, "三月") == "三月"


@pytest.mark.parametrize(("typed", "value"), [("是", True), ("否", False)])
def test_yes_and_no_read_back(typed, value):
    assert from_cell(HAS_INCOME, typed) is value
    assert to_cell(HAS_INCOME, value) == typed


def test_anything_but_yes_or_no_is_unreadable():
    with pytest.raises(UnreadableCell) as raised:
        from_cell(HAS_INCOME, "有")
    assert raised.value.code == "not_allowed"


@pytest.mark.parametrize(("raw", "number"), [(3, 3), (3.0, 3), (" 3 ", 3)])
def test_a_whole_number_reads_from_a_number_or_digits(raw, number):
    assert from_cell(HOUSEHOLD_NO, raw) == number


@pytest.mark.parametrize("raw", [3.5, "三", True])
def test_anything_else_is_not_a_whole_number(raw):
    with pytest.raises(UnreadableCell) as raised:
        from_cell(HOUSEHOLD_NO, raw)
    assert raised.value.code == "wrong_type"


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_a_blank_cell_reads_as_nothing(blank):
    assert from_cell(MONTH, blank) is None
