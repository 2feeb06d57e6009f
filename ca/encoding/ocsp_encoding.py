"""OCSP encoding: request parsing and response building (RFC 6960, RFC 5019, RFC 8954).

The hot path is cheap by construction: a SingleResponse is encoded once per
(issuer, serial, hash algorithm) by :func:`encode_single_response` and can be
stored; :func:`build_basic_response` joins stored pieces around one signature.
A request with a nonce therefore costs one signature and a few joins.

Requests are read with a strict DER reader; anything unexpected is an
:class:`OCSPRequestError` carrying the OCSPResponseStatus to answer with.
Request signatures are ignored (signed requests are not required).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ca.encoding import der
from ca.encoding.signers import Signer
from domain.reasons import RevocationReason

__all__ = [
    "ResponseStatus",
    "OCSPRequestError",
    "OCSPNonceError",
    "CertID",
    "ParsedRequest",
    "Good",
    "Revoked",
    "Unknown",
    "CertStatus",
    "GOOD",
    "UNKNOWN",
    "MAX_CERT_IDS",
    "parse_request",
    "issuer_hashes",
    "encode_cert_id",
    "encode_single_response",
    "build_basic_response",
    "error_response",
]

MAX_CERT_IDS = 16
_MAX_NONCE = 32  # RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32))

_ID_PKIX_OCSP_BASIC = "1.3.6.1.5.5.7.48.1.1"
_ID_PKIX_OCSP_NONCE = "1.3.6.1.5.5.7.48.1.2"
_HASH_OIDS = {"1.3.14.3.2.26": "sha1", "2.16.840.1.101.3.4.2.1": "sha256"}
_HASH_SIZES = {"sha1": 20, "sha256": 32}
# CertID hashAlgorithm as OpenSSL and most clients send it: parameters NULL.
_HASH_ALGORITHMS = {name: der.sequence(der.object_identifier(oid), der.null())
                    for oid, name in _HASH_OIDS.items()}


class ResponseStatus(enum.IntEnum):
    """OCSPResponseStatus (RFC 6960 §4.2.1); 4 is not used."""

    SUCCESSFUL = 0
    MALFORMED_REQUEST = 1
    INTERNAL_ERROR = 2
    TRY_LATER = 3
    SIG_REQUIRED = 5
    UNAUTHORIZED = 6

    @property
    def rfc_name(self) -> str:
        head, *rest = self.name.lower().split("_")
        return head + "".join(part.capitalize() for part in rest)


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


@dataclass(frozen=True, slots=True)
class Good:
    pass


@dataclass(frozen=True, slots=True)
class Unknown:
    pass


@dataclass(frozen=True, slots=True)
class Revoked:
    revocation_time: datetime
    reason: RevocationReason | None = None  # None / unspecified: revocationReason left out


CertStatus = Good | Revoked | Unknown
GOOD = Good()
UNKNOWN = Unknown()


# --- requests ---------------------------------------------------------------------------------


def _malformed(detail: str) -> OCSPRequestError:
    return OCSPRequestError(ResponseStatus.MALFORMED_REQUEST, detail)


def _expect(data: bytes, tag: int, offset: int, end: int) -> tuple[int, int]:
    """Content start and end of the TLV at ``offset``, which must carry ``tag``."""
    found, start, stop = der.read_tlv(data, offset, end)
    if found != tag:
        raise der.DERError(f"expected tag {tag:#04x} at {offset}, found {found:#04x}")
    return start, stop


def _parse_cert_id(data: bytes, offset: int, end: int) -> CertID:
    start, stop = _expect(data, der.SEQUENCE, offset, end)
    algorithm_start, algorithm_end = _expect(data, der.SEQUENCE, start, stop)
    oid_start, oid_end = _expect(data, der.OBJECT_IDENTIFIER, algorithm_start, algorithm_end)
    hash_name = _HASH_OIDS.get(der.decode_object_identifier(data[oid_start:oid_end]))
    if hash_name is None:
        raise _malformed("unsupported CertID hash algorithm")
    if oid_end != algorithm_end and data[oid_end:algorithm_end] != der.null():
        raise _malformed("hash algorithm parameters must be NULL or absent")
    name_start, name_end = _expect(data, der.OCTET_STRING, algorithm_end, stop)
    key_start, key_end = _expect(data, der.OCTET_STRING, name_end, stop)
    serial_start, serial_end = _expect(data, der.INTEGER, key_end, stop)
    if serial_end != stop:
        raise _malformed("trailing data in CertID")
    size = _HASH_SIZES[hash_name]
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
        oid_start, oid_end = _expect(data, der.OBJECT_IDENTIFIER, ext_start, ext_end)
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
        outer_start, outer_end = _expect(data, der.SEQUENCE, 0, len(data))
        if outer_end != len(data):
            raise _malformed("trailing data after the request")
        tbs_start, tbs_end = _expect(data, der.SEQUENCE, outer_start, outer_end)
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
            ext_start, ext_end = _expect(data, der.SEQUENCE, start, stop)
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


# --- issuers and responders -------------------------------------------------------------------


def _subject_public_key(data: bytes, offset: int, end: int) -> bytes:
    """The subjectPublicKey bits of the SubjectPublicKeyInfo at ``offset``."""
    start, stop = _expect(data, der.SEQUENCE, offset, end)
    _, algorithm_end = _expect(data, der.SEQUENCE, start, stop)
    bits_start, bits_end = _expect(data, der.BIT_STRING, algorithm_end, stop)
    if bits_end == bits_start or data[bits_start] != 0:
        raise der.DERError("subjectPublicKey has unused bits")
    return data[bits_start + 1:bits_end]


def issuer_hashes(issuer_cert_der: bytes) -> dict[str, tuple[bytes, bytes]]:
    """{hash name: (issuerNameHash, issuerKeyHash)} of a CA certificate, for sha1 and sha256."""
    data = bytes(issuer_cert_der)
    cert_start, cert_end = _expect(data, der.SEQUENCE, 0, len(data))
    tbs_start, tbs_end = _expect(data, der.SEQUENCE, cert_start, cert_end)
    fields = list(der.iter_tlvs(data, tbs_start, tbs_end))
    if fields and fields[0][0] == 0xA0:
        fields.pop(0)
    if len(fields) < 6:
        raise der.DERError("not a certificate")
    _, subject_offset, _, subject_end = fields[4]
    subject = data[subject_offset:subject_end]
    key = _subject_public_key(data, fields[5][1], fields[5][3])
    return {name: (hashlib.new(name, subject).digest(), hashlib.new(name, key).digest())
            for name in _HASH_SIZES}


# --- responses --------------------------------------------------------------------------------


def encode_cert_id(hash_name: str, issuer_name_hash: bytes, issuer_key_hash: bytes,
                   serial_number: int) -> bytes:
    """CertID with hashAlgorithm sha1 or sha256 (parameters NULL)."""
    algorithm = _HASH_ALGORITHMS.get(hash_name)
    if algorithm is None:
        raise ValueError(f"unsupported CertID hash {hash_name!r}")
    size = _HASH_SIZES[hash_name]
    if len(issuer_name_hash) != size or len(issuer_key_hash) != size:
        raise ValueError(f"issuer hashes must be {hash_name} digests")
    return der.sequence(algorithm, der.octet_string(issuer_name_hash),
                        der.octet_string(issuer_key_hash), der.integer(serial_number))


def _cert_status(status: CertStatus) -> bytes:
    """CertStatus: good [0] IMPLICIT NULL | revoked [1] IMPLICIT RevokedInfo | unknown [2] NULL."""
    if isinstance(status, Good):
        return b"\x80\x00"
    if isinstance(status, Unknown):
        return b"\x82\x00"
    info = der.generalized_time(status.revocation_time)
    reason = status.reason
    if reason == RevocationReason.REMOVE_FROM_CRL:
        raise ValueError("removeFromCRL is not an OCSP revocation reason")
    if reason is not None and reason != RevocationReason.UNSPECIFIED:
        info += der.context(0, der.enumerated(int(reason)))
    return der.context(1, info)


def encode_single_response(cert_id_der: bytes, status: CertStatus, this_update: datetime,
                           next_update: datetime | None = None) -> bytes:
    """SingleResponse for one CertID (from :func:`encode_cert_id` or a request's ``CertID.der``)."""
    this_part = der.generalized_time(this_update)
    next_part = b""
    if next_update is not None:
        next_part = der.context(0, der.generalized_time(next_update))
        if next_update <= this_update:
            raise ValueError("next_update must be after this_update")
    return der.sequence(cert_id_der, _cert_status(status), this_part, next_part)


def build_basic_response(responder_signer: Signer, responder_cert_der: bytes | None,
                         responder_key_hash: bytes, produced_at: datetime,
                         single_responses: Sequence[bytes], nonce: bytes | None = None) -> bytes:
    """A signed, successful OCSPResponse carrying a BasicOCSPResponse.

    ``responder_cert_der`` (a delegated responder certificate) goes in ``certs``;
    None when the CA key signs itself. ``responder_key_hash`` is the byKey
    ResponderID (``key_identifier`` of its key). ``nonce`` (the request's Nonce
    octets) is echoed in responseExtensions.
    """
    if len(responder_key_hash) != 20:
        raise ValueError("responder_key_hash must be a SHA-1 digest")
    if not single_responses:
        raise ValueError("at least one SingleResponse is needed")
    extensions = b""
    if nonce is not None:
        if not 1 <= len(nonce) <= _MAX_NONCE:
            raise ValueError("a nonce has 1 to 32 octets")
        nonce_extension = der.sequence(der.object_identifier(_ID_PKIX_OCSP_NONCE),
                                       der.octet_string(der.octet_string(nonce)))
        extensions = der.context(1, der.sequence(nonce_extension))
    response_data = der.sequence(
        der.context(2, der.octet_string(responder_key_hash)),  # ResponderID byKey [2] EXPLICIT
        der.generalized_time(produced_at),
        der.tlv(der.SEQUENCE, b"".join(single_responses)),
        extensions,
    )
    certs = b""
    if responder_cert_der is not None:
        certs = der.context(0, der.sequence(responder_cert_der))
    basic = der.sequence(response_data, responder_signer.signature_algorithm().dump(),
                         der.bit_string(responder_signer.sign(response_data)), certs)
    response_bytes = der.sequence(der.object_identifier(_ID_PKIX_OCSP_BASIC),
                                  der.octet_string(basic))
    return der.sequence(_SUCCESSFUL, der.context(0, response_bytes))


_SUCCESSFUL = der.enumerated(ResponseStatus.SUCCESSFUL)
_ERROR_RESPONSES: dict[ResponseStatus, bytes] = {
    status: der.sequence(der.enumerated(status)) for status in ResponseStatus
    if status is not ResponseStatus.SUCCESSFUL}


def error_response(status: ResponseStatus) -> bytes:
    """An OCSPResponse with only a responseStatus (no responseBytes)."""
    try:
        return _ERROR_RESPONSES[ResponseStatus(status)]
    except KeyError:
        raise ValueError("a successful response needs responseBytes") from None
