"""Identity numbers of mainland China, checked before anything is recorded.

- Resident identity card number (GB 11643-1999): 17 digits and a check character (0-9
  or X), the ISO 7064 MOD 11-2 check; digits 7-14 are a date of birth.
- Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from
  ``0-9A-Z`` without I, O, S, V, Z; the last is a MOD 31 check character. It is the
  number on a business licence.
- Phone numbers: a mobile number (11 digits, ``1[3-9]...``), or a fixed line with its
  area code (``010-12345678``); ``+86`` in front is accepted and dropped.
- Usernames: case-insensitive, stored upper-case (the seed portals require upper-case
  letters): 3 to 64 characters ``A-Z 0-9 _ . @ -``, starting with a letter or digit.

Each ``check_*`` returns the normalised value or raises InvalidRequest with a clear
message; messages never repeat an identity number (it is personal data).
"""

from __future__ import annotations

import re
from datetime import date

from domain.errors import InvalidRequest

__all__ = ["check_id_number", "check_credit_code", "check_phone", "check_mobile",
           "check_username", "credit_code_check_character", "id_number_check_character"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_NUMBER = re.compile(r"^[1-9][0-9]{16}[0-9X]\Z")
_CREDIT_CODE = re.compile(rf"^[{_CREDIT_ALPHABET}]{{18}}\Z")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}\Z")
_FIXED_LINE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}\Z")
_USERNAME = re.compile(r"^[A-Z0-9][A-Z0-9_.@-]{2,63}\Z")


def id_number_check_character(first17: str) -> str:
    """The check character of a resident identity card number's first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def check_id_number(value: object, what: str = "id_number") -> str:
    """A resident identity card number (18 characters, upper-case X)."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if not _ID_NUMBER.match(text):
        raise InvalidRequest(f"{what} must be an 18-character resident identity card number "
                             "(17 digits and a digit or X)", code="bad_id_number")
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1800:
        raise InvalidRequest(f"{what} does not hold a valid date of birth",
                             code="bad_id_number")
    if id_number_check_character(text[:17]) != text[17]:
        raise InvalidRequest(f"{what} has a wrong check character (GB 11643)",
                             code="bad_id_number")
    return text


def credit_code_check_character(first17: str) -> str:
    """The check character of a unified social credit code's first 17 characters."""
    total = sum(_CREDIT_ALPHABET.index(c) * w
                for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(value: object, what: str = "licence_number") -> str:
    """A unified social credit code (upper-case)."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if not _CREDIT_CODE.match(text):
        raise InvalidRequest(f"{what} must be an 18-character unified social credit code "
                             "(0-9 and A-Z without I, O, S, V, Z)", code="bad_licence_number")
    if credit_code_check_character(text[:17]) != text[17]:
        raise InvalidRequest(f"{what} has a wrong check character (GB 32100)",
                             code="bad_licence_number")
    return text


def _digits(value: object) -> str:
    text = value.strip().replace(" ", "") if isinstance(value, str) else ""
    if text.startswith("+86"):
        text = text[3:].lstrip("-")
    return text


def check_mobile(value: object, what: str = "phone") -> str:
    """A mainland mobile number: 11 digits starting 13-19."""
    text = _digits(value)
    if not _MOBILE.match(text):
        raise InvalidRequest(f"{what} must be a mobile number of 11 digits (13x-19x)",
                             code="bad_phone")
    return text


def check_phone(value: object, what: str = "phone") -> str:
    """A mobile number, or a fixed line with its area code (010-12345678)."""
    text = _digits(value)
    if not (_MOBILE.match(text) or _FIXED_LINE.match(text)):
        raise InvalidRequest(f"{what} must be a mobile number (11 digits) or a fixed line "
                             "with its area code (e.g. 010-12345678)", code="bad_phone")
    return text


def check_username(value: object) -> str:
    """A username, upper-cased: usernames are case-insensitive."""
    text = value.upper() if isinstance(value, str) and value.isascii() else ""
    if not _USERNAME.match(text):
        raise InvalidRequest("a username is 3 to 64 characters A-Z, 0-9, '_', '.', '@' "
                             "and '-', starting with a letter or digit (case does not "
                             "matter)", code="bad_username")
    return text
