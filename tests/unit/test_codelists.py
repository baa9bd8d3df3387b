import csv
from pathlib import Path

import pytest

from shared import codelists
from shared.codelists import code_list, is_valid, label, source

REFERENCE = Path(codelists.__file__).parent / "reference"


def test_codes_are_strings_so_leading_zeros_survive():
    assert is_valid("ethnicity", "01")
    assert not is_valid("ethnicity", "1")
    assert label("ethnicity", "01", "zh") == "汉族"


def test_every_list_is_loaded_in_full():
    assert set(code_list("sex")) == {"0", "1", "2", "9"}
    assert len(code_list("ethnicity")) == 56
    assert list(code_list("political_status")) == [f"{n:02d}" for n in range(1, 14)]


def test_an_entry_has_a_chinese_and_an_english_name():
    entry = code_list("political_status")["13"]

    assert (entry.code, entry.name_zh, entry.name_en) == ("13", "群众", "Ordinary citizen (no political affiliation)")


def test_ethnicities_are_named_in_english_by_their_romanised_name():
    assert label("ethnicity", "04", "en") == "Zang"
    assert label("ethnicity", "04", "zh") == "藏族"


def test_a_family_relationship_category_is_not_a_relation_a_person_can_have():
    relations = code_list("family_relationship")

    assert not any(is_valid("family_relationship", category) for category in "012345678")
    assert all(len(code) == 2 for code in relations)
    assert label("family_relationship", "12", "zh") == "妻"


def test_every_two_digit_family_relationship_row_is_kept():
    with (REFERENCE / "family_relationship.csv").open(encoding="utf-8") as file:
        two_digit = {row["code"] for row in csv.DictReader(file) if len(row["code"]) == 2}

    assert set(code_list("family_relationship")) == two_digit


def test_an_unknown_code_has_no_label():
    with pytest.raises(KeyError):
        label("sex", "5", "zh")


def test_an_unknown_list_is_refused_by_name():
    with pytest.raises(ValueError, match="religion"):
        code_list("religion")  # type: ignore[arg-type]


def test_each_list_names_its_standard():
    assert source("ethnicity").standard == "GB/T 3304"
    assert source("family_relationship").title_zh == "家庭关系"


def test_the_lists_are_read_once_and_only_when_asked():
    codelists._load.cache_clear()

    source("sex")
    assert codelists._load.cache_info().currsize == 0

    code_list("sex")
    code_list("sex")
    assert codelists._load.cache_info().misses == 1


@pytest.mark.parametrize(
    ("name", "text", "code"),
    [
        ("sex", "男", "1"),
        ("sex", "女性", "2"),
        ("ethnicity", "汉族", "01"),
        ("ethnicity", "汉", "01"),
        ("ethnicity", "维吾尔族", "05"),
        ("political_status", "中共党员", "01"),
        ("political_status", "中国共产党党员", "01"),
        ("political_status", "群众", "13"),
        ("family_relationship", "配偶", "10"),
        ("family_relationship", "户主", "02"),
        ("family_relationship", " 妻 ", "12"),
    ],
)
def test_a_code_is_found_by_its_chinese_name_full_name_or_short_form(name, text, code):
    assert codelists.code_for_label(name, text) == code


@pytest.mark.parametrize(("name", "text"), [("sex", "男的"), ("ethnicity", "Han"), ("family_relationship", "邻居")])
def test_a_name_not_in_the_list_has_no_code(name, text):
    assert codelists.code_for_label(name, text) is None


def test_forms_print_sex_short_and_other_lists_by_their_standard_name():
    assert codelists.form_label("sex", "2") == "女"
    assert codelists.form_label("sex", "9") == "未说明的性别"
    assert codelists.form_label("ethnicity", "01") == "汉族"
    assert codelists.form_label("family_relationship", "02") == "户主"
