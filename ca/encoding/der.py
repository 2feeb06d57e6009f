"""Small DER helpers: encode primitives and headers, read strict TLVs.

Big structures (a CRL with a million entries) are assembled from already
encoded pieces: :func:`header` gives the tag and length for content whose size
is known, so the caller joins the pieces once and nothing is encoded twice.

The reader accepts DER only: single-byte tags, definite and minimal lengths,
minimal INTEGERs. Anything else raises :class:`DERError`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime

__all__ = [
    "DERError",
    "BOOLEAN",
    "INTEGER",
    "BIT_STRING",
    "OCTET_STRING",
    "NULL",
    "OBJECT_IDENTIFIER",
    "ENUMERATED",
    "SEQUENCE",
    "IA5_STRING",
    "UTC_TIME",
    "GENERALIZED_TIME",
    "header",
    "tlv",
    "sequence",
    "integer",
    "enumerated",
    "boolean",
    "null",
    "octet_string",
    "bit_string",
    "object_identifier",
    "ia5_string",
    "utc_time",
    "generalized_time",
    "x509_time",
    "context",
    "read_tlv",
    "expect",
    "iter_tlvs",
    "decode_integer",
    "decode_object_identifier",
]

BOOLEAN = 0x01
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
ENUMERATED = 0x0A
SEQUENCE = 0x30
IA5_STRING = 0x16
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18

_CONSTRUCTED = 0x20
_CONTEXT = 0x80


class DERError(ValueError):
    """The bytes are not the DER this reader expects."""


# --- encoding ---------------------------------------------------------------------------------


def header(tag: int, length: int) -> bytes:
    """Identifier and length octets for ``length`` bytes of content."""
    if length < 0x80:
        return bytes((tag, length))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(body))) + body


def tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    return header(tag, length) + content


def sequence(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def integer(value: int) -> bytes:
    magnitude = value if value >= 0 else ~value
    return tlv(INTEGER, value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True))


def enumerated(value: int) -> bytes:
    magnitude = value if value >= 0 else ~value
    return tlv(ENUMERATED, value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True))


def boolean(value: bool) -> bytes:
    return b"\x01\x01\xff" if value else b"\x01\x01\x00"


def null() -> bytes:
    return b"\x05\x00"


def octet_string(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def bit_string(value: bytes, unused_bits: int = 0) -> bytes:
    return tlv(BIT_STRING, bytes((unused_bits,)) + value)


@functools.lru_cache(maxsize=256)
def object_identifier(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39):
        raise ValueError(f"not an object identifier: {dotted!r}")
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OBJECT_IDENTIFIER, bytes(body))


def ia5_string(value: str) -> bytes:
    return tlv(IA5_STRING, value.encode("ascii"))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("times must be timezone-aware")
        moment = moment.astimezone(UTC)
    return moment


# Two-digit table: joining bytes is about three times faster than strftime or %-formatting,
# and a CRL has a time in every entry.
_DIGITS = [b"%02d" % number for number in range(100)]


def utc_time(moment: datetime) -> bytes:
    """UTCTime ``YYMMDDHHMMSSZ`` (RFC 5280 §4.1.2.5.1); years 1950 to 2049 only."""
    moment = _utc(moment)
    year = moment.year
    if not 1950 <= year <= 2049:
        raise ValueError(f"UTCTime cannot hold the year {year}")
    digits = _DIGITS
    return b"".join((b"\x17\x0d", digits[year % 100], digits[moment.month], digits[moment.day],
                     digits[moment.hour], digits[moment.minute], digits[moment.second], b"Z"))


def generalized_time(moment: datetime) -> bytes:
    """GeneralizedTime ``YYYYMMDDHHMMSSZ``: UTC, whole seconds (RFC 5280 §4.1.2.5.2)."""
    moment = _utc(moment)
    year = moment.year
    digits = _DIGITS
    return b"".join((b"\x18\x0f", digits[year // 100], digits[year % 100], digits[moment.month],
                     digits[moment.day], digits[moment.hour], digits[moment.minute],
                     digits[moment.second], b"Z"))


def x509_time(moment: datetime) -> bytes:
    """The X.509 ``Time`` CHOICE: UTCTime through 2049, GeneralizedTime from 2050."""
    moment = _utc(moment)
    if moment.year < 2050:
        return utc_time(moment)
    return generalized_time(moment)


def context(number: int, content: bytes, *, constructed: bool = True) -> bytes:
    """A context-specific tag ``[number]``: EXPLICIT (constructed) or IMPLICIT primitive."""
    if not 0 <= number < 31:
        raise ValueError("context tag numbers above 30 are not supported")
    return tlv(_CONTEXT | (_CONSTRUCTED if constructed else 0) | number, content)


# --- reading ----------------------------------------------------------------------------------


def read_tlv(data: bytes, offset: int = 0, end: int | None = None) -> tuple[int, int, int]:
    """Read one TLV at ``offset``: (tag, content start, content end). Strict DER."""
    if end is None:
        end = len(data)
    if offset + 2 > end:
        raise DERError("truncated")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte tags are not supported")
    first = data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DERError("indefinite length is not DER")
    else:
        count = first & 0x7F
        if count > 4 or start + count > end:
            raise DERError("bad length")
        length = int.from_bytes(data[start:start + count], "big")
        if length < 0x80 or data[start] == 0:
            raise DERError("length is not minimally encoded")
        start += count
    if start + length > end:
        raise DERError("truncated")
    return tag, start, start + length


def expect(data: bytes, tag: int, offset: int, end: int) -> tuple[int, int]:
    """Content start and end of the TLV at ``offset``, which must carry ``tag``."""
    found, start, stop = read_tlv(data, offset, end)
    if found != tag:
        raise DERError(f"expected tag {tag:#04x} at {offset}, found {found:#04x}")
    return start, stop


def iter_tlvs(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Each TLV in ``data[start:end]`` (a SEQUENCE's children).

    Yields (tag, offset of the TLV, content start, content end).
    """
    offset = start
    while offset < end:
        tag, content_start, content_end = read_tlv(data, offset, end)
        yield tag, offset, content_start, content_end
        offset = content_end


def decode_integer(content: bytes) -> int:
    if not content:
        raise DERError("empty INTEGER")
    if len(content) > 1 and (
        (content[0] == 0 and content[1] < 0x80) or (content[0] == 0xFF and content[1] >= 0x80)
    ):
        raise DERError("INTEGER is not minimally encoded")
    return int.from_bytes(content, "big", signed=True)


def decode_object_identifier(content: bytes) -> str:
    if not content or content[-1] & 0x80:
        raise DERError("bad OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    fresh = True
    for byte in content:
        if fresh and byte == 0x80:
            raise DERError("OBJECT IDENTIFIER arc is not minimally encoded")
        value = (value << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]]))
