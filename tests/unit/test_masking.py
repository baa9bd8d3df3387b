import pytest

from shared.masking import mask_id_number, mask_phone


def test_a_mobile_number_shows_its_network_code_and_last_four_digits():
    assert mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize(
    ("landline", "masked"),
    [("08162345678", "0816***5678"), ("01062345678", "010****5678"), ("02887654321", "028****4321")],
    ids=["绵阳-4-digit-area", "北京-3-digit-area", "成都-3-digit-area"],
)
def test_a_landline_keeps_its_area_code_and_last_four_digits(landline: str, masked: str):
    assert mask_phone(landline) == masked


def test_no_phone_stays_no_phone():
    assert mask_phone(None) is None
    assert mask_phone("") == ""


@pytest.mark.parametrize(("odd", "masked"), [("12345", "*****"), ("138001380001", "********0001")])
def test_a_phone_of_no_known_shape_shows_at_most_its_last_four_digits(odd: str, masked: str):
    assert mask_phone(odd) == masked


def test_an_id_number_shows_its_region_and_last_four_characters():
    assert mask_id_number("110101199003074311") == "110101********4311"
    assert mask_id_number("44030519851122103X") == "440305********103X"


def test_an_old_15_digit_id_number_hides_its_birth_date_too():
    assert mask_id_number("110101900307431") == "110101*****7431"


def test_a_short_id_number_shows_at_most_its_last_four_characters():
    assert mask_id_number("1101011990") == "******1990"
    assert mask_id_number("11010") == "*****"


def test_no_id_number_stays_no_id_number():
    assert mask_id_number(None) is None
