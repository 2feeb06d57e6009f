"""OCSP requests (RFC 6960 §4.1, RFC 8954 nonces), read with a strict DER reader.

Anything unexpected is an :class:`OCSPRequestError` carrying the OCSPResponseStatus to
answer with. Request signatures are ignored (signed requests are not required).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ca.encoding import der
from ca.encoding.ocsp_responses import HASH_OIDS, HASH_SIZES, ResponseStatus

__all__ = ["OCSPRequestError", "OCSPNonceError", "CertID", "ParsedRequest",
           "MAX_CERT_IDS", "parse_request"]

MAX_CERT_IDS = 16
_MAX_NONCE = 32  # RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32))
_ID_PKIX_OCSP_NONCE = "1.3.6.1.5.5.7.48.1.2"


class OCSPRequestError(Exception):
    """A request we cannot answer with certificate statuses; ``status`` says what to send."""

    def __init__(self, status: ResponseStatus, detail: str = "") -> None:
        super().__init__(f"{status.rfc_name}: {detail}" if detail else status.rfc_name)
        self.status = status
        self.detail = detail


class OCSPNonceError(OCSPRequestError):
    """The nonce extension is not an OCTET STRING of 1 to 32 octets (RFC 8954)."""

    def __init__(self, detail: str) -> None:
        super().__init__(ResponseStatus.MALFORMED_REQUEST, detail)


@dataclass(frozen=True, slots=True)
class CertID:
    """One CertID of a request, with its DER as received (to echo it unchanged)."""

    hash_name: str
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial_number: int
    der: bytes

    def is_for_issuer(self, hashes: Mapping[str, tuple[bytes, bytes]]) -> bool:
        """True when this CertID names the issuer whose :func:`issuer_hashes` are given."""
        return hashes.get(self.hash_name) == (self.issuer_name_hash, self.issuer_key_hash)


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    cert_ids: tuple[CertID, ...]
    nonce: bytes | None  # the Nonce octets (1..32), None when the request has none



def _malformed(detail: str) -> OCSPRequestError:
    return OCSPRequestError(ResponseStatus.MALFORMED_REQUEST, detail)


def _parse_cert_id(data: bytes, offset: int, end: int) -> CertID:
    start, stop = der.expect(data, der.SEQUENCE, offset, end)
    algorithm_start, algorithm_end = der.expect(data, der.SEQUENCE, start, stop)
    oid_start, oid_end = der.expect(data, der.OBJECT_IDENTIFIER, algorithm_start, algorithm_end)
    hash_name = HASH_OIDS.get(der.decode_object_identifier(data[oid_start:oid_end]))
    if hash_name is None:
        raise _malformed("unsupported CertID hash algorithm")
    if oid_end != algorithm_end and data[oid_end:algorithm_end] != der.null():
        raise _malformed("hash algorithm parameters must be NULL or absent")
    name_start, name_end = der.expect(data, der.OCTET_STRING, algorithm_end, stop)
    key_start, key_end = der.expect(data, der.OCTET_STRING, name_end, stop)
    serial_start, serial_end = der.expect(data, der.INTEGER, key_end, stop)
    if serial_end != stop:
        raise _malformed("trailing data in CertID")
    size = HASH_SIZES[hash_name]
    if name_end - name_start != size or key_end - key_start != size:
        raise _malformed(f"issuer hashes are not {hash_name} digests")
    return CertID(hash_name, data[name_start:name_end], data[key_start:key_end],
                  der.decode_integer(data[serial_start:serial_end]), data[offset:stop])


def _parse_nonce(data: bytes, start: int, end: int) -> bytes:
    try:
        tag, value_start, value_end = der.read_tlv(data, start, end)
    except der.DERError:
        raise OCSPNonceError("nonce is not a DER OCTET STRING") from None
    if tag != der.OCTET_STRING or value_end != end:
        raise OCSPNonceError("nonce is not a DER OCTET STRING")
    if not 1 <= value_end - value_start <= _MAX_NONCE:
        raise OCSPNonceError(f"nonce of {value_end - value_start} octets (1 to 32 allowed)")
    return data[value_start:value_end]


def _parse_extensions(data: bytes, start: int, end: int) -> bytes | None:
    """requestExtensions: the nonce; unknown non-critical extensions are ignored."""
    nonce = None
    seen: set[str] = set()
    for tag, _, ext_start, ext_end in der.iter_tlvs(data, start, end):
        if tag != der.SEQUENCE:
            raise _malformed("an extension is not a SEQUENCE")
        oid_start, oid_end = der.expect(data, der.OBJECT_IDENTIFIER, ext_start, ext_end)
        oid = der.decode_object_identifier(data[oid_start:oid_end])
        if oid in seen:
            raise _malformed(f"extension {oid} appears twice")
        seen.add(oid)
        critical = False
        tag, value_start, value_end = der.read_tlv(data, oid_end, ext_end)
        if tag == der.BOOLEAN:
            if value_end - value_start != 1 or data[value_start] not in (0x00, 0xFF):
                raise _malformed("bad BOOLEAN")
            critical = data[value_start] == 0xFF
            tag, value_start, value_end = der.read_tlv(data, value_end, ext_end)
        if tag != der.OCTET_STRING or value_end != ext_end:
            raise _malformed("bad extension value")
        if oid == _ID_PKIX_OCSP_NONCE:
            nonce = _parse_nonce(data, value_start, value_end)
        elif critical:
            raise _malformed(f"unsupported critical extension {oid}")
    return nonce


def parse_request(request_der: bytes, *, max_cert_ids: int = MAX_CERT_IDS) -> ParsedRequest:
    """Read an OCSPRequest; raise :class:`OCSPRequestError` (malformedRequest) when it is bad."""
    data = bytes(request_der)
    try:
        outer_start, outer_end = der.expect(data, der.SEQUENCE, 0, len(data))
        if outer_end != len(data):
            raise _malformed("trailing data after the request")
        tbs_start, tbs_end = der.expect(data, der.SEQUENCE, outer_start, outer_end)
        rest = list(der.iter_tlvs(data, tbs_end, outer_end))  # optionalSignature: ignored
        if len(rest) > 1 or (rest and rest[0][0] != 0xA0):
            raise _malformed("unexpected data after tbsRequest")
        fields = list(der.iter_tlvs(data, tbs_start, tbs_end))
        if fields and fields[0][0] == 0xA0:  # version [0] EXPLICIT, v1 (0) only
            _, _, start, stop = fields.pop(0)
            if data[start:stop] != der.integer(0):
                raise _malformed("unsupported request version")
        if fields and fields[0][0] == 0xA1:  # requestorName: not used
            fields.pop(0)
        if not fields or fields[0][0] != der.SEQUENCE:
            raise _malformed("requestList is missing")
        _, _, list_start, list_end = fields.pop(0)
        nonce = None
        if fields and fields[0][0] == 0xA2:
            _, _, start, stop = fields.pop(0)
            ext_start, ext_end = der.expect(data, der.SEQUENCE, start, stop)
            if ext_end != stop or ext_start == ext_end:
                raise _malformed("bad requestExtensions")
            nonce = _parse_extensions(data, ext_start, ext_end)
        if fields:
            raise _malformed("unexpected field in tbsRequest")
        cert_ids: list[CertID] = []
        for tag, _, request_start, request_end in der.iter_tlvs(data, list_start, list_end):
            if tag != der.SEQUENCE:
                raise _malformed("a Request is not a SEQUENCE")
            if len(cert_ids) == max_cert_ids:
                raise _malformed(f"more than {max_cert_ids} certificates in one request")
            cert_id = _parse_cert_id(data, request_start, request_end)
            remainder = list(der.iter_tlvs(data, request_start + len(cert_id.der), request_end))
            if len(remainder) > 1 or (remainder and remainder[0][0] != 0xA0):
                raise _malformed("unexpected field in Request")
            cert_ids.append(cert_id)
        if not cert_ids:
            raise _malformed("empty requestList")
    except der.DERError as exc:
        raise _malformed(str(exc)) from None
    return ParsedRequest(tuple(cert_ids), nonce)


