"""PKCS#10 certification requests: parse, check the key, check proof of possession.

The CA uses a request only for its public key and to know the applicant holds
the private key; the subject comes from the RA's reviewed data, not the request.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from asn1crypto import algos, csr, keys
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ca.encoding.algorithms import SM2_CURVE_OID, KeyAlgorithm
from ca.encoding.signers import DEFAULT_SM2_ID, SignatureError, key_algorithm_of, verify_signature
from domain.errors import InvalidRequest

__all__ = ["CheckedRequest", "check_request", "recorded_request_key", "decode_pem_or_der",
           "MAX_CSR_BYTES"]

MAX_CSR_BYTES = 16 * 1024
_EMPTY_SM2_ID = (
    "the CSR's SM2 signature was made with an empty signer ID (OpenSSL's default without "
    f"-sigopt); this CA accepts only the default ID {DEFAULT_SM2_ID.decode()}: make the request "
    f"again with '-sigopt distid:{DEFAULT_SM2_ID.decode()}'")
_EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"
_PEM = re.compile(r"-----BEGIN (NEW )?CERTIFICATE REQUEST-----(.+?)-----END (NEW )?CERTIFICATE "
                  r"REQUEST-----", re.S)


@dataclass(frozen=True)
class CheckedRequest:
    der: bytes
    public_key_info: keys.PublicKeyInfo
    key_algorithm: KeyAlgorithm
    sm2_signer_id: bytes | None  # which signer ID verified an SM2 request


def decode_pem_or_der(data: str | bytes) -> bytes:
    if isinstance(data, str):
        match = _PEM.search(data)
        if not match:
            raise _bad("the CSR is not a PEM 'CERTIFICATE REQUEST'")
        try:
            return base64.b64decode("".join(match.group(2).split()), validate=True)
        except (binascii.Error, ValueError):
            raise _bad("the CSR's PEM body is not valid base64") from None
    return bytes(data)


def check_request(data: str | bytes, *, accept_empty_sm2_id: bool = False,
                  sm2_signer_id: bytes | None = None) -> CheckedRequest:
    """Parse a CSR (PEM text or DER bytes) and check it; raise InvalidRequest if it is no good.

    An SM2 request must verify with the GM/T 0009 default signer ID "1234567812345678", or
    with the empty ID (what OpenSSL uses without ``-sigopt distid:...``) when
    ``accept_empty_sm2_id``. ``sm2_signer_id`` pins the one ID to try instead (the one
    that verified when the application was recorded).
    """
    der = decode_pem_or_der(data)
    if len(der) > MAX_CSR_BYTES:
        raise _bad(f"the CSR is larger than {MAX_CSR_BYTES} bytes")
    try:
        request = csr.CertificationRequest.load(der, strict=True)
        info = request["certification_request_info"]
        spki = info["subject_pk_info"]
        signature_algorithm = request["signature_algorithm"]
        signature = request["signature"].native
        message = info.dump()
        spki.dump()
        _ = signature_algorithm["algorithm"].dotted
    except (ValueError, TypeError, KeyError):
        raise _bad("the CSR is not valid DER PKCS#10") from None
    if info["version"].native != "v1":
        raise _bad("the CSR version must be v1 (0)")
    algorithm = _key_algorithm(spki)
    if sm2_signer_id is not None:
        ids: tuple[bytes, ...] = (sm2_signer_id,)
    else:
        ids = (DEFAULT_SM2_ID, b"") if accept_empty_sm2_id else (DEFAULT_SM2_ID,)
    try:
        signer_id = verify_signature(spki, signature_algorithm, signature, message, sm2_ids=ids)
    except SignatureError as exc:
        if algorithm is KeyAlgorithm.SM2 and b"" not in ids and _verifies_with_empty_id(
                spki, signature_algorithm, signature, message):
            raise InvalidRequest(_EMPTY_SM2_ID, code="sm2_empty_signer_id") from None
        raise InvalidRequest(f"the CSR's signature does not verify (no proof of possession): "
                             f"{exc}", code="bad_csr_signature") from None
    return CheckedRequest(der=der, public_key_info=spki, key_algorithm=algorithm,
                          sm2_signer_id=signer_id)


def recorded_request_key(der: bytes) -> tuple[keys.PublicKeyInfo, KeyAlgorithm]:
    """The public key of a CSR that :func:`check_request` accepted when it was recorded.

    Issuing does not verify the proof of possession again: the Applied event records
    that it verified (and with which SM2 signer ID), and the recorded bytes cannot change.
    """
    spki = csr.CertificationRequest.load(der)["certification_request_info"]["subject_pk_info"]
    return spki, _key_algorithm(spki)


def _verifies_with_empty_id(spki: keys.PublicKeyInfo,
                            signature_algorithm: algos.SignedDigestAlgorithm, signature: bytes,
                            message: bytes) -> bool:
    try:
        verify_signature(spki, signature_algorithm, signature, message, sm2_ids=(b"",))
    except SignatureError:
        return False
    return True


def _key_algorithm(spki: keys.PublicKeyInfo) -> KeyAlgorithm:
    try:
        algorithm_oid = spki["algorithm"]["algorithm"].dotted
        parameters = spki["algorithm"]["parameters"]
        is_ec = algorithm_oid == _EC_PUBLIC_KEY_OID
        curve = parameters.chosen.dotted if is_ec and parameters.name == "named" else None
    except (ValueError, TypeError, KeyError, AttributeError):
        raise _bad("the CSR's public key is malformed") from None
    if is_ec and curve is None:  # RFC 5480 §2.1.1: specifiedCurve and implicitCurve MUST NOT
        raise InvalidRequest("the CSR's EC key has explicit or implicit curve parameters; "
                             "only named curves (P-256, P-384, SM2) are certified",
                             code="weak_or_bad_key")
    if curve == SM2_CURVE_OID:
        from ca.encoding import sm2

        try:
            sm2.validate_public_key_info(spki)
        except ValueError as exc:
            raise InvalidRequest(f"the CSR's SM2 public key is not valid: {exc}",
                                 code="weak_or_bad_key") from None
        return KeyAlgorithm.SM2
    try:
        public_key = serialization.load_der_public_key(spki.dump())
    except (ValueError, TypeError, UnsupportedAlgorithm):  # e.g. an unknown named curve
        raise InvalidRequest("the CSR's public key is not a valid key of a supported type "
                             "(RSA, ECDSA P-256/P-384, Ed25519, SM2)",
                             code="weak_or_bad_key") from None
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
        raise InvalidRequest(f"RSA keys must be at least 2048 bits; this one has "
                             f"{public_key.key_size}", code="weak_or_bad_key")
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.public_numbers().e != 65537:
        raise InvalidRequest("RSA keys must have the public exponent 65537",
                             code="weak_or_bad_key")
    try:
        return key_algorithm_of(public_key)
    except ValueError as exc:
        raise InvalidRequest(str(exc), code="weak_or_bad_key") from None


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="bad_csr")
