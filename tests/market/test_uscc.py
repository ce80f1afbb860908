import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from market.core.uscc import is_valid_uscc, make_uscc, uscc_problem, validate_uscc

REAL_CODES = [
    "91350100M000100Y43",  # the GB 32100 worked example
    "914403001922038216",  # Huawei Technologies Co., Ltd.
    "91440300708461136T",  # Shenzhen Tencent Computer Systems Co., Ltd.
    "91110108551385082Q",  # Xiaomi
    "9144030071526726XG",  # BYD
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code):
    assert is_valid_uscc(code)
    validate_uscc(code)


def test_lowercase_and_spaces_are_normalised():
    assert is_valid_uscc(" 91440300708461136t ")


def test_wrong_check_digit_names_character_18():
    problem = uscc_problem("914403001922038217")
    assert problem.position == 18
    with translation.override("zh-hans"):
        message = uscc_problem("914403001922038217").message
    assert "第18位" in message and "6" in message


def test_a_changed_body_character_breaks_the_check_digit():
    assert not is_valid_uscc("914403001922039216")


@pytest.mark.parametrize("code,position", [
    ("91440300708461I36T", 15),  # I is not in the alphabet
    ("91440300708461O36T", 15),  # nor O
    ("9144030070846113SZ", 17),  # S is not allowed either
    ("91A40300708461136T", 3),   # the region code must be digits
])
def test_disallowed_character_is_named(code, position):
    problem = uscc_problem(code)
    assert problem is not None and problem.position == position
    with translation.override("en"):
        assert f"Character {position}" in uscc_problem(code).message


@pytest.mark.parametrize("code", ["", "9144030070846113", "91440300708461136TX"])
def test_wrong_length_is_refused(code):
    with pytest.raises(ValidationError) as exc:
        validate_uscc(code)
    assert exc.value.code == "invalid_uscc"


def test_make_uscc_completes_a_valid_code():
    assert is_valid_uscc(make_uscc("91440104000000001"))
