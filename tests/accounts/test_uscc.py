import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.models import validate_social_credit_code
from accounts.uscc import USCCError, check_character, validate_uscc

# A widely published example code, and the demo data's office code.
VALID_CODES = ["91350100M000100Y43", "1131010000000001X4"]


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_codes_pass(code: str) -> None:
    assert validate_uscc(code) == code


def test_lower_case_and_spaces_are_normalised() -> None:
    assert validate_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"


def test_wrong_check_character_is_refused_with_the_expected_one() -> None:
    with pytest.raises(USCCError) as excinfo:
        validate_uscc("91350100M000100Y44")
    assert str(excinfo.value) == "check character is '4', expected '3'"


def test_wrong_length_is_refused() -> None:
    with pytest.raises(USCCError, match="must be 18 characters, got 17"):
        validate_uscc("91350100M000100Y4")


def test_forbidden_letters_are_refused_with_their_position() -> None:
    with pytest.raises(USCCError, match="character 9 'I' is not allowed"):
        validate_uscc("91350100I000100Y43")


def test_division_code_must_be_digits() -> None:
    with pytest.raises(USCCError, match="characters 3 to 8 must be"):
        validate_uscc("9135A100M000100Y43")


def test_check_character_can_be_zero() -> None:
    # 31 - (sum mod 31) == 31 maps to '0': find such a code by brute force over a serial.
    for serial in range(100000):
        first17 = f"9111000010{serial:07d}"
        if check_character(first17) == "0":
            assert validate_uscc(first17 + "0") == first17 + "0"
            return
    raise AssertionError("no code with check character 0 found")


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Invalid unified social credit code: the check character is '4', expected '3'."),
        ("zh-hans", "统一社会信用代码无效：校验码为“4”，应为“3”。"),
    ],
)
def test_model_validator_says_why_in_the_users_language(language: str, message: str) -> None:
    with translation.override(language):
        with pytest.raises(ValidationError) as excinfo:
            validate_social_credit_code("91350100M000100Y44")
        assert excinfo.value.messages == [message]
