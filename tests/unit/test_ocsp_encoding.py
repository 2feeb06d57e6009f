"""OCSP encoding: requests in, responses out, read back by pyca/cryptography."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ca.encoding import der
from ca.encoding.certificate_encoding import key_identifier
from ca.encoding.ocsp_requests import MAX_CERT_IDS, OCSPNonceError, OCSPRequestError, parse_request
from ca.encoding.ocsp_responses import (
    GOOD,
    UNKNOWN,
    ResponseStatus,
    RevokedStatus,
    build_basic_response,
    encode_cert_id,
    encode_single_response,
    error_response,
    issuer_hashes,
)
from ca.encoding.signers import CryptographySigner
from domain.reasons import RevocationReason

NOW = datetime.now(UTC).replace(microsecond=0)
MALFORMED = ResponseStatus.MALFORMED_REQUEST


def _certificate(subject: str, key, issuer_name: x509.Name | None, issuer_key, *, ca: bool,
                 extensions=()) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_name or name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki():
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("OCSP Unit CA", ca_key, None, ca_key, ca=True)
    leaf = _certificate("leaf", ec.generate_private_key(ec.SECP256R1()), ca_cert.subject, ca_key,
                        ca=False)
    responder_key = ec.generate_private_key(ec.SECP256R1())
    responder = _certificate("responder", responder_key, ca_cert.subject, ca_key, ca=False,
                             extensions=[x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]),
                                         x509.OCSPNoCheck()])
    return {"ca": ca_cert, "leaf": leaf, "responder": responder,
            "responder_signer": CryptographySigner(responder_key),
            "ca_signer": CryptographySigner(ca_key)}


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _request(pki, algorithm: hashes.HashAlgorithm | None = None,
             nonce: bytes | None = None) -> bytes:
    algorithm = algorithm or hashes.SHA1()
    builder = ocsp.OCSPRequestBuilder().add_certificate(pki["leaf"], pki["ca"], algorithm)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _hand_request(cert_ids: list[bytes], extensions: bytes = b"", tail: bytes = b"") -> bytes:
    request_list = der.sequence(*(der.sequence(cert_id) for cert_id in cert_ids))
    return der.sequence(der.sequence(request_list, extensions), tail)


def _nonce_extensions(value: bytes) -> bytes:
    extension = der.sequence(der.object_identifier("1.3.6.1.5.5.7.48.1.2"), der.octet_string(value))
    return der.context(2, der.sequence(extension))


# --- requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [hashes.SHA1(), hashes.SHA256()], ids=["sha1", "sha256"])
def test_parse_request_from_cryptography(pki, algorithm):
    parsed = parse_request(_request(pki, algorithm, nonce=b"\x01" * 16))
    expected = ocsp.load_der_ocsp_request(_request(pki, algorithm))
    (cert_id,) = parsed.cert_ids
    assert cert_id.hash_name == algorithm.name
    assert cert_id.serial_number == pki["leaf"].serial_number
    assert cert_id.issuer_name_hash == expected.issuer_name_hash
    assert cert_id.issuer_key_hash == expected.issuer_key_hash
    assert cert_id.is_for_issuer(issuer_hashes(_der(pki["ca"])))
    assert not cert_id.is_for_issuer(issuer_hashes(_der(pki["leaf"])))
    assert parsed.nonce == b"\x01" * 16
    assert parse_request(_request(pki, algorithm)).nonce is None


def test_issuer_hashes_match_the_certificate(pki):
    hashes_ = issuer_hashes(_der(pki["ca"]))
    for algorithm in (hashes.SHA1(), hashes.SHA256()):
        request = ocsp.load_der_ocsp_request(_request(pki, algorithm))
        assert hashes_[algorithm.name] == (request.issuer_name_hash, request.issuer_key_hash)


def test_responder_key_hash_is_sha1_of_the_key(pki):
    expected = x509.SubjectKeyIdentifier.from_public_key(pki["responder"].public_key()).digest
    assert key_identifier(pki["responder_signer"].public_key_info()) == expected
    assert issuer_hashes(_der(pki["responder"]))["sha1"][1] == expected


def test_issuer_hashes_refuse_what_is_not_a_certificate(pki):
    for bad in (b"", b"\x30\x00", _der(pki["ca"])[:-1], b"\x30\x03\x02\x01\x01"):
        with pytest.raises(ValueError):
            issuer_hashes(bad)


def test_cert_id_is_echoed_and_canonical(pki):
    request = _request(pki, hashes.SHA256())
    cert_id = parse_request(request).cert_ids[0]
    assert cert_id.der in request
    name_hash, key_hash = issuer_hashes(_der(pki["ca"]))["sha256"]
    assert encode_cert_id("sha256", name_hash, key_hash, pki["leaf"].serial_number) == cert_id.der


def test_several_cert_ids_and_a_signed_request(pki):
    name_hash, key_hash = issuer_hashes(_der(pki["ca"]))["sha1"]
    cert_ids = [encode_cert_id("sha1", name_hash, key_hash, serial) for serial in (1, 2, 2**150)]
    ecdsa_with_sha256 = der.sequence(der.object_identifier("1.2.840.10045.4.3.2"))
    signature = der.context(0, der.sequence(ecdsa_with_sha256, der.bit_string(b"\x00" * 8)))
    parsed = parse_request(_hand_request(cert_ids, tail=signature))
    assert [c.serial_number for c in parsed.cert_ids] == [1, 2, 2**150]
    assert [c.der for c in parsed.cert_ids] == cert_ids
    assert len(parse_request(_hand_request(cert_ids * 5 + cert_ids[:1])).cert_ids) == MAX_CERT_IDS
    with pytest.raises(OCSPRequestError) as caught:
        parse_request(_hand_request(cert_ids * 5 + cert_ids[:2]))
    assert caught.value.status is MALFORMED


@pytest.mark.parametrize("size", [1, 32])
def test_nonce_sizes_accepted(pki, size):
    name_hash, key_hash = issuer_hashes(_der(pki["ca"]))["sha1"]
    cert_id = encode_cert_id("sha1", name_hash, key_hash, 5)
    nonce = bytes(range(size))
    assert parse_request(_hand_request([cert_id], _nonce_extensions(der.octet_string(nonce)))) \
        .nonce == nonce


@pytest.mark.parametrize("value", [der.octet_string(b""), der.octet_string(b"\x07" * 33),
                                   b"\x07" * 16, der.integer(5), der.octet_string(b"ab") + b"\x00"],
                         ids=["empty", "33-octets", "not-wrapped", "not-octet-string", "trailing"])
def test_bad_nonces(pki, value):
    name_hash, key_hash = issuer_hashes(_der(pki["ca"]))["sha1"]
    cert_id = encode_cert_id("sha1", name_hash, key_hash, 5)
    with pytest.raises(OCSPNonceError) as caught:
        parse_request(_hand_request([cert_id], _nonce_extensions(value)))
    assert caught.value.status is MALFORMED


def _bad_requests(pki) -> dict[str, bytes]:
    good = _request(pki)
    name_hash, key_hash = issuer_hashes(_der(pki["ca"]))["sha1"]
    cert_id = encode_cert_id("sha1", name_hash, key_hash, 5)
    sha1 = der.sequence(der.object_identifier("1.3.14.3.2.26"), der.null())
    md5 = der.sequence(der.object_identifier("1.2.840.113549.2.5"), der.null())
    sha384 = der.sequence(der.object_identifier("2.16.840.1.101.3.4.2.2"))
    critical = der.context(2, der.sequence(der.sequence(
        der.object_identifier("1.2.3.4"), der.boolean(True), der.octet_string(b"\x05\x00"))))
    nonce = der.sequence(der.object_identifier("1.3.6.1.5.5.7.48.1.2"),
                         der.octet_string(der.octet_string(b"a")))
    twice = der.context(2, der.sequence(nonce, nonce))
    return {
        "empty": b"",
        "garbage": b"GET / HTTP/1.1\r\n\r\n",
        "trailing": good + b"\x00",
        "not-a-sequence": b"\x04\x00",
        "empty-request-list": _hand_request([]),
        "md5": _hand_request([der.sequence(md5, der.octet_string(bytes(16)),
                                           der.octet_string(bytes(16)), der.integer(5))]),
        "sha384": _hand_request([der.sequence(sha384, der.octet_string(bytes(48)),
                                              der.octet_string(bytes(48)), der.integer(5))]),
        "short-hash": _hand_request([der.sequence(sha1, der.octet_string(name_hash[:19]),
                                                  der.octet_string(key_hash), der.integer(5))]),
        "version-2": der.sequence(der.sequence(der.context(0, der.integer(1)),
                                               der.sequence(der.sequence(cert_id)))),
        "critical-extension": _hand_request([cert_id], critical),
        "nonce-twice": _hand_request([cert_id], twice),
        "indefinite-length": b"\x30\x80" + good[2:] + b"\x00\x00",
        "long-form-length": b"\x30\x81" + good[1:],
        "non-minimal-serial": _hand_request([der.sequence(sha1, der.octet_string(name_hash),
                                                          der.octet_string(key_hash),
                                                          b"\x02\x02\x00\x05")]),
    }


@pytest.mark.parametrize("case", ["empty", "garbage", "trailing", "not-a-sequence",
                                  "empty-request-list", "md5", "sha384", "short-hash", "version-2",
                                  "critical-extension", "nonce-twice", "indefinite-length",
                                  "long-form-length", "non-minimal-serial"])
def test_bad_requests_are_malformed(pki, case):
    with pytest.raises(OCSPRequestError) as caught:
        parse_request(_bad_requests(pki)[case])
    assert caught.value.status is MALFORMED


def test_every_truncation_is_malformed(pki):
    request = _request(pki, hashes.SHA256(), nonce=b"\x02" * 20)
    for size in range(len(request)):
        with pytest.raises(OCSPRequestError):
            parse_request(request[:size])


# --- responses --------------------------------------------------------------------------------


def _response(pki, status, *, nonce=None, delegated=True, hash_name="sha1"):
    name_hash, key_hash = issuer_hashes(_der(pki["ca"]))[hash_name]
    cert_id = encode_cert_id(hash_name, name_hash, key_hash, pki["leaf"].serial_number)
    single = encode_single_response(cert_id, status, NOW, NOW + timedelta(days=1))
    signer = pki["responder_signer"] if delegated else pki["ca_signer"]
    certificate = _der(pki["responder"]) if delegated else None
    return build_basic_response(signer, certificate,
                                key_identifier(signer.public_key_info()),
                                NOW, [single], nonce)


def _check_signature(response: ocsp.OCSPResponse, certificate: x509.Certificate) -> None:
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))


def test_good_response(pki):
    response = ocsp.load_der_ocsp_response(_response(pki, GOOD))
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == pki["leaf"].serial_number
    assert response.this_update_utc == NOW and response.next_update_utc == NOW + timedelta(days=1)
    assert response.produced_at_utc == NOW
    assert response.responder_name is None
    assert response.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(
        pki["responder"].public_key()).digest
    assert response.certificates == [pki["responder"]]
    assert response.signature_algorithm_oid.dotted_string == "1.2.840.10045.4.3.2"
    assert len(response.extensions) == 0
    _check_signature(response, pki["responder"])


@pytest.mark.parametrize("reason", [None, RevocationReason.KEY_COMPROMISE,
                                    RevocationReason.CERTIFICATE_HOLD])
def test_revoked_response(pki, reason):
    revoked_at = NOW - timedelta(hours=5)
    response = ocsp.load_der_ocsp_response(_response(pki, RevokedStatus(revoked_at, reason),
                                                     hash_name="sha256"))
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_time_utc == revoked_at
    expected = None if reason is None else x509.ReasonFlags[reason.name.lower()]
    assert response.revocation_reason == expected
    assert response.hash_algorithm.name == "sha256"
    _check_signature(response, pki["responder"])


def test_unknown_response_signed_by_the_ca_with_nonce(pki):
    response = ocsp.load_der_ocsp_response(_response(pki, UNKNOWN, nonce=b"n" * 32,
                                                     delegated=False))
    assert response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    assert response.certificates == []
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"n" * 32
    _check_signature(response, pki["ca"])


def test_several_single_responses(pki):
    name_hash, key_hash = issuer_hashes(_der(pki["ca"]))["sha1"]
    singles = [encode_single_response(encode_cert_id("sha1", name_hash, key_hash, serial), status,
                                      NOW, None)
               for serial, status in ((1, GOOD), (2, UNKNOWN), (3, RevokedStatus(NOW)))]
    encoded = build_basic_response(pki["ca_signer"], None,
                                   key_identifier(pki["ca_signer"].public_key_info()),
                                   NOW, singles)
    statuses = [(r.serial_number, r.certificate_status, r.next_update_utc)
                for r in ocsp.load_der_ocsp_response(encoded).responses]
    assert statuses == [(1, ocsp.OCSPCertStatus.GOOD, None), (2, ocsp.OCSPCertStatus.UNKNOWN, None),
                        (3, ocsp.OCSPCertStatus.REVOKED, None)]


@pytest.mark.parametrize("status", [s for s in ResponseStatus if s.value])
def test_error_responses(status):
    encoded = error_response(status)
    assert encoded == bytes((0x30, 0x03, 0x0A, 0x01, status.value))
    assert ocsp.load_der_ocsp_response(encoded).response_status.value == status.value


def test_bad_response_arguments(pki):
    with pytest.raises(ValueError):
        error_response(ResponseStatus.SUCCESSFUL)
    with pytest.raises(ValueError):
        _response(pki, RevokedStatus(NOW, RevocationReason.REMOVE_FROM_CRL))
    with pytest.raises(ValueError):
        _response(pki, GOOD, nonce=b"")
    with pytest.raises(ValueError):
        encode_cert_id("md5", bytes(16), bytes(16), 1)
    with pytest.raises(ValueError):
        encode_single_response(b"\x30\x00", GOOD, NOW, NOW)
    with pytest.raises(ValueError):
        build_basic_response(pki["ca_signer"], None, bytes(32), NOW, [b"\x30\x00"])
    with pytest.raises(ValueError):
        build_basic_response(pki["ca_signer"], None, bytes(20), NOW, [])
