from datetime import date, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from shared.idnumber import IdNumber, birth_month_of, check_character, normalise_id_number, sex_of
from shared.problems import FIELD_MESSAGES, field_errors_from_pydantic


def numbered(first_17_digits: str) -> str:
    """A whole number: the 17 digits and the check character they call for."""
    return first_17_digits + check_character(first_17_digits)


# 居民 王秀英 of 涪城区 (510703), born 1958-03-12, sequence 002 (even: a woman).
WANG_XIUYING = numbered("51070319580312002")
# Her husband 李建国, born 1956-11-05, sequence 013 (odd: a man).
LI_JIANGUO = numbered("51070319561105013")


class Resident(BaseModel):
    id_number: IdNumber


def refusal(value: str) -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        Resident(id_number=value)
    return raised.value


def the_code(value: str) -> str:
    with pytest.raises(ValueError) as raised:
        normalise_id_number(value)
    return raised.value.type  # PydanticCustomError: a ValueError that carries our code


# --- valid numbers ---


@pytest.mark.parametrize(
    "number",
    ["110101199003074311", "310104200008152624", "44030519851122103X"],
    ids=["checks-to-1", "checks-to-4", "checks-to-X"],
)
def test_the_standards_sample_numbers_are_accepted(number: str):
    assert normalise_id_number(number) == number


def test_check_characters_are_computed_as_the_standard_says():
    assert check_character("11010119900307431") == "1"
    assert check_character("31010420000815262") == "4"
    assert check_character("44030519851122103") == "X"


def test_a_lowercase_x_is_stored_uppercase():
    assert normalise_id_number("44030519851122103x") == "44030519851122103X"


def test_spaces_typed_into_a_number_are_dropped():
    spaced = f" {WANG_XIUYING[:6]} {WANG_XIUYING[6:14]} {WANG_XIUYING[14:]} "
    assert normalise_id_number(spaced) == WANG_XIUYING


def test_full_width_digits_from_a_chinese_input_method_are_stored_as_ascii():
    assert normalise_id_number("４４０３０５１９８５１１２２１０３ｘ") == "44030519851122103X"


def test_digits_of_other_scripts_are_refused():
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in "11010119900307431") + "1"
    assert the_code(arabic_indic) == "id_number_characters"


def test_someone_born_today_has_a_valid_number():
    today = date.today().strftime("%Y%m%d")
    assert normalise_id_number(numbered(f"510703{today}002")) == numbered(f"510703{today}002")


def test_a_county_code_since_abolished_is_still_accepted():
    # 510722 was 三台县 under 绵阳 before renumbering; only the province is checked.
    assert normalise_id_number(numbered("51072219580312002")) == numbered("51072219580312002")


def test_a_hong_kong_residents_permit_number_is_accepted():
    assert normalise_id_number(numbered("81000019800101001")) == numbered("81000019800101001")


# --- what a number tells, for cross-checking entry ---


def test_wang_xiuyings_number_gives_her_birth_month_and_sex():
    assert birth_month_of(WANG_XIUYING) == "1958-03"
    assert sex_of(WANG_XIUYING) == "2"


def test_li_jianguos_number_gives_his_birth_month_and_sex():
    assert birth_month_of(LI_JIANGUO) == "1956-11"
    assert sex_of(LI_JIANGUO) == "1"


def test_birth_month_and_sex_are_not_read_from_an_invalid_number():
    with pytest.raises(ValueError):
        birth_month_of("110101199003074310")
    with pytest.raises(ValueError):
        sex_of("110101199003074310")


# --- each way a number is wrong ---


def test_an_old_15_digit_number_is_refused_with_its_own_reason():
    assert the_code("110101900307431") == "id_number_legacy"


@pytest.mark.parametrize("number", ["", "11010119900307431", "1101011990030743111"])
def test_a_number_of_the_wrong_length_is_refused(number: str):
    assert the_code(number) == "id_number_length"


@pytest.mark.parametrize("number", ["1101011990O3074311", "X10101199003074311", "11010119900307431Y"])
def test_a_number_with_letters_other_than_a_final_x_is_refused(number: str):
    assert the_code(number) == "id_number_characters"


@pytest.mark.parametrize("region", ["000000", "990101", "190101", "720101"])
def test_a_number_that_starts_with_no_province_is_refused(region: str):
    assert the_code(numbered(f"{region}19580312002")) == "id_number_region"


@pytest.mark.parametrize("born", ["19580230", "19581301", "19580000", "00000312"])
def test_a_birth_date_that_never_existed_is_refused(born: str):
    assert the_code(numbered(f"510703{born}002")) == "id_number_birth_date"


def test_a_birth_date_in_the_future_is_refused():
    tomorrow = (date.today() + timedelta(days=1)).strftime("%Y%m%d")
    assert the_code(numbered(f"510703{tomorrow}002")) == "id_number_future_birth"


def test_a_mistyped_digit_fails_the_check_character():
    assert the_code("110101199003074310") == "id_number_checksum"
    swapped = WANG_XIUYING[:14] + "020" + WANG_XIUYING[17]  # 002 typed as 020
    assert the_code(swapped) == "id_number_checksum"


# --- what the client reads ---


def test_a_refused_number_is_explained_in_chinese_and_english():
    [error] = field_errors_from_pydantic(refusal(numbered("51070319580230002")))

    assert (error.field, error.code) == ("id_number", "id_number_birth_date")
    assert error.message.zh == "公民身份号码中的出生日期不存在：19580230"
    assert error.message.en == "citizen ID number holds a birth date that does not exist: 19580230"


def test_a_wrong_check_character_is_explained_without_echoing_the_number():
    [error] = field_errors_from_pydantic(refusal("110101199003074310"))

    assert error.message.zh == "公民身份号码校验位不符，请检查是否抄错了数字"
    assert "110101199003074310" not in error.message.en


@pytest.mark.parametrize(
    "number",
    [
        "110101900307431",
        "1101011990",
        "1101011990O3074311",
        "000000195803120020",
        "510703195802300020",
        "510703299901010020",
        "110101199003074310",
    ],
)
def test_every_refusal_has_a_message_in_both_languages(number: str):
    [error] = field_errors_from_pydantic(refusal(number))

    assert error.code in FIELD_MESSAGES
    assert error.message.zh.startswith("公民身份号码")
    assert error.message.en.startswith("citizen ID number")
