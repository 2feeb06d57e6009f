"""OCSP responses (RFC 6960 §4.2, RFC 5019): statuses, CertIDs, signed responses.

The hot path is cheap by construction: a SingleResponse is encoded once per
(issuer, serial, hash algorithm) by :func:`encode_single_response` and can be
stored; :func:`build_basic_response` joins stored pieces around one signature.
A request with a nonce therefore costs one signature and a few joins.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ca.encoding import der
from ca.encoding.signers import Signer
from domain.reasons import RevocationReason

__all__ = ["ResponseStatus", "Good", "RevokedStatus", "Unknown", "CertStatus", "GOOD",
           "UNKNOWN", "HASH_OIDS", "HASH_SIZES", "issuer_hashes", "encode_cert_id",
           "encode_single_response", "build_basic_response", "error_response"]

_ID_PKIX_OCSP_BASIC = "1.3.6.1.5.5.7.48.1.1"
_ID_PKIX_OCSP_NONCE = "1.3.6.1.5.5.7.48.1.2"
_MAX_NONCE = 32  # RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32))
HASH_OIDS = {"1.3.14.3.2.26": "sha1", "2.16.840.1.101.3.4.2.1": "sha256"}
HASH_SIZES = {"sha1": 20, "sha256": 32}
# CertID hashAlgorithm as OpenSSL and most clients send it: parameters NULL.
_HASH_ALGORITHMS = {name: der.sequence(der.object_identifier(oid), der.null())
                    for oid, name in HASH_OIDS.items()}



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


@dataclass(frozen=True, slots=True)
class Good:
    pass


@dataclass(frozen=True, slots=True)
class Unknown:
    pass


@dataclass(frozen=True, slots=True)
class RevokedStatus:
    revocation_time: datetime
    reason: RevocationReason | None = None  # None / unspecified: revocationReason left out


CertStatus = Good | RevokedStatus | Unknown
GOOD = Good()
UNKNOWN = Unknown()

# --- issuers and responders -------------------------------------------------------------------


def _subject_public_key(data: bytes, offset: int, end: int) -> bytes:
    """The subjectPublicKey bits of the SubjectPublicKeyInfo at ``offset``."""
    start, stop = der.expect(data, der.SEQUENCE, offset, end)
    _, algorithm_end = der.expect(data, der.SEQUENCE, start, stop)
    bits_start, bits_end = der.expect(data, der.BIT_STRING, algorithm_end, stop)
    if bits_end == bits_start or data[bits_start] != 0:
        raise der.DERError("subjectPublicKey has unused bits")
    return data[bits_start + 1:bits_end]


def issuer_hashes(issuer_cert_der: bytes) -> dict[str, tuple[bytes, bytes]]:
    """{hash name: (issuerNameHash, issuerKeyHash)} of a CA certificate, for sha1 and sha256."""
    data = bytes(issuer_cert_der)
    cert_start, cert_end = der.expect(data, der.SEQUENCE, 0, len(data))
    tbs_start, tbs_end = der.expect(data, der.SEQUENCE, cert_start, cert_end)
    fields = list(der.iter_tlvs(data, tbs_start, tbs_end))
    if fields and fields[0][0] == 0xA0:
        fields.pop(0)
    if len(fields) < 6:
        raise der.DERError("not a certificate")
    _, subject_offset, _, subject_end = fields[4]
    subject = data[subject_offset:subject_end]
    key = _subject_public_key(data, fields[5][1], fields[5][3])
    return {name: (hashlib.new(name, subject).digest(), hashlib.new(name, key).digest())
            for name in HASH_SIZES}


# --- responses --------------------------------------------------------------------------------


def encode_cert_id(hash_name: str, issuer_name_hash: bytes, issuer_key_hash: bytes,
                   serial_number: int) -> bytes:
    """CertID with hashAlgorithm sha1 or sha256 (parameters NULL)."""
    algorithm = _HASH_ALGORITHMS.get(hash_name)
    if algorithm is None:
        raise ValueError(f"unsupported CertID hash {hash_name!r}")
    size = HASH_SIZES[hash_name]
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
