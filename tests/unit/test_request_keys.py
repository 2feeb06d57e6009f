"""Keys and CSRs that could never be certified are refused when the CSR is checked
(issue 7, items 6 and 7): explicit EC curve parameters, RSA exponents other than 65537,
an unknown signature algorithm."""

from __future__ import annotations

from typing import Any

import pytest
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import pem, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ca.encoding.algorithms import KeyAlgorithm
from ca.policy.requests import check_request
from domain.errors import InvalidRequest
from tests.helpers import make_csr

# P-256 (SEC 2 secp256r1), written out as explicit parameters
_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
_GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _signed_request(spki: asn1_keys.PublicKeyInfo, sign: Any, algorithm: str) -> str:
    info = asn1_csr.CertificationRequestInfo({
        "version": "v1", "subject": x509.Name.build({"common_name": "applicant"}),
        "subject_pk_info": spki, "attributes": []})
    request = asn1_csr.CertificationRequest({
        "certification_request_info": info, "signature_algorithm": {"algorithm": algorithm},
        "signature": sign(info.dump())})
    return pem.armor("CERTIFICATE REQUEST", request.dump()).decode()


def _explicit_p256_csr() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    domain = asn1_keys.SpecifiedECDomain({
        "version": "ecdpVer1",
        "field_id": {"field_type": "prime_field", "parameters": _P},
        "curve": {"a": (_P - 3).to_bytes(32, "big"), "b": _B.to_bytes(32, "big")},
        "base": b"\x04" + _GX.to_bytes(32, "big") + _GY.to_bytes(32, "big"),
        "order": _N, "cofactor": 1})
    spki = asn1_keys.PublicKeyInfo({
        "algorithm": {"algorithm": "ec", "parameters": asn1_keys.ECDomainParameters(
            name="specified", value=domain)},
        "public_key": point})
    return _signed_request(spki, lambda m: key.sign(m, ec.ECDSA(hashes.SHA256())),
                           "sha256_ecdsa")


def _spki_of(key: Any) -> asn1_keys.PublicKeyInfo:
    return asn1_keys.PublicKeyInfo.load(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def test_an_ec_key_with_explicit_curve_parameters_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_request(_explicit_p256_csr())
    assert caught.value.code == "weak_or_bad_key"
    assert "named curves" in caught.value.message


def test_an_rsa_key_with_public_exponent_3_is_refused() -> None:
    key = rsa.generate_private_key(3, 2048)
    _, csr = make_csr(KeyAlgorithm.RSA_2048, key=key)
    with pytest.raises(InvalidRequest) as caught:
        check_request(csr)
    assert caught.value.code == "weak_or_bad_key" and "65537" in caught.value.message
    assert check_request(make_csr(KeyAlgorithm.RSA_2048)[1]).key_algorithm \
        is KeyAlgorithm.RSA_2048


@pytest.mark.parametrize("oid", ["1.2.3.4.5", "1.2.840.113549.1.1.10"])  # unknown; RSA-PSS
def test_an_unknown_or_unaccepted_signature_algorithm_is_a_bad_request(oid: str) -> None:
    key = rsa.generate_private_key(65537, 2048)
    csr = _signed_request(_spki_of(key), lambda m: key.sign(m, padding.PKCS1v15(),
                                                            hashes.SHA256()), oid)
    with pytest.raises(InvalidRequest) as caught:
        check_request(csr)
    assert caught.value.code == "bad_csr_signature"
    assert oid in caught.value.message
