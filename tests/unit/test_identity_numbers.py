"""Identity numbers of mainland China: checked against numbers published by others (the
GB 11643 examples; the credit codes on the business licences of Huawei, Tencent and
Alibaba), so the check algorithms are not only checked against themselves."""

from __future__ import annotations

import pytest

from domain.errors import InvalidRequest
from domain.identity import (
    check_credit_code,
    check_id_number,
    check_mobile,
    check_phone,
    check_username,
)

PUBLISHED_ID_NUMBERS = ["11010519491231002X", "440524188001010014"]  # GB 11643-1999 examples
PUBLISHED_CREDIT_CODES = ["914403001922038216", "9144030071526726XG", "91330100799655058B"]


@pytest.mark.parametrize("number", PUBLISHED_ID_NUMBERS)
def test_published_identity_card_numbers_pass(number: str) -> None:
    assert check_id_number(number) == number
    assert check_id_number(f" {number.lower()} ") == number  # x is X


@pytest.mark.parametrize("number,why", [
    ("11010519491231002Y", "18-character"), ("110105194912310021", "check character"),
    ("11010519491331002X", "date of birth"), ("01010519491231002X", "18-character"),
    ("1101051949123100", "18-character"), ("11010517991231002X", "date of birth"),
    (110105194912310020, "18-character")])
def test_wrong_identity_card_numbers_are_refused_without_repeating_them(number: object,
                                                                        why: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_id_number(number)
    assert refused.value.code == "bad_id_number" and why in refused.value.message
    assert str(number) not in refused.value.message


@pytest.mark.parametrize("code", PUBLISHED_CREDIT_CODES)
def test_published_credit_codes_pass(code: str) -> None:
    assert check_credit_code(code.lower()) == code


@pytest.mark.parametrize("code", ["914403001922038217", "9144030071526726XI",
                                  "91440300192203821", "91440300I922038216", ""])
def test_wrong_credit_codes_are_refused(code: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_credit_code(code)
    assert refused.value.code == "bad_licence_number"


def test_phones() -> None:
    assert check_mobile("+86 138 0013 8000") == "13800138000"
    assert check_phone("010-12345678") == "010-12345678"
    for bad in ("12800138000", "1380013800", "010-123", "", None):
        with pytest.raises(InvalidRequest):
            check_mobile(bad)
    with pytest.raises(InvalidRequest):
        check_phone("not a phone")


def test_usernames_are_case_insensitive_and_stored_upper_case() -> None:
    assert check_username("li.si@qh") == "LI.SI@QH"
    for bad in ("li", "-li", "李四", "li si", "x" * 65, 7):
        with pytest.raises(InvalidRequest) as refused:
            check_username(bad)
        assert refused.value.code == "bad_username"
