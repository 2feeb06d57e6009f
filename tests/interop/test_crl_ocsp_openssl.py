"""CRLs and OCSP responses from our encoders, checked by OpenSSL and pkilint.

The test PKI (CA, leaves, delegated OCSP responder) is made here with
pyca/cryptography; only the CRLs and OCSP messages come from our encoders.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto.pem import armor as pem_armor
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pkilint import loader, pkix, validation
from pkilint.pkix import crl as pkilint_crl
from pkilint.pkix import extension, name
from pkilint.pkix import ocsp as pkilint_ocsp

from ca.encoding import der
from ca.encoding.algorithms import SM3_WITH_SM2_OID, KeyAlgorithm
from ca.encoding.certificate_encoding import key_identifier
from ca.encoding.crl_encoding import build_crl, encode_revoked_entry
from ca.encoding.ocsp_requests import parse_request
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
from ca.encoding.signers import DEFAULT_SM2_ID, CryptographySigner, verify_signature
from domain.reasons import RevocationReason

pytestmark = pytest.mark.interop

NOW = datetime.now(UTC).replace(microsecond=0)
CRL_URL = "http://crl.example/ca.crl"
DELTA_URL = "http://crl.example/delta.crl"
ALGORITHMS = [KeyAlgorithm.RSA_2048, KeyAlgorithm.ECDSA_P256, KeyAlgorithm.ED25519]


def _new_key(algorithm: KeyAlgorithm):
    if algorithm.is_rsa:
        return rsa.generate_private_key(65537, algorithm.rsa_bits)
    if algorithm is KeyAlgorithm.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def _digest(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


@dataclass
class Pki:
    """A CA and what it issued, written as PEM files into ``directory``."""

    directory: Path
    ca_key: Any
    ca: x509.Certificate
    signer: CryptographySigner
    responder_signer: CryptographySigner
    certs: dict[str, x509.Certificate] = field(default_factory=dict)

    def path(self, label: str) -> str:
        return str(self.directory / f"{label}.pem")

    def issue(self, label: str, key, *extensions: tuple[x509.ExtensionType, bool],
              ca: bool = False, self_signed: bool = False) -> x509.Certificate:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Interop {label}")])
        issuer_key = key if self_signed else self.ca_key
        builder = (x509.CertificateBuilder().subject_name(subject)
                   .issuer_name(subject if self_signed else self.ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - timedelta(days=1))
                   .not_valid_after(NOW + timedelta(days=90))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                  critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       issuer_key.public_key()), critical=False))
        for value, critical in extensions:
            builder = builder.add_extension(value, critical=critical)
        cert = builder.sign(issuer_key, _digest(issuer_key))
        (self.directory / f"{label}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.certs[label] = cert
        return cert

    def der(self, label: str) -> bytes:
        cert = self.ca if label == "ca" else self.certs[label]
        return cert.public_bytes(serialization.Encoding.DER)


def _key_usage(*, signing: bool = True, ca: bool = False) -> tuple[x509.KeyUsage, bool]:
    return x509.KeyUsage(digital_signature=signing, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=ca, crl_sign=ca, encipher_only=False,
                         decipher_only=False), True


def _make_pki(directory: Path, algorithm: KeyAlgorithm) -> Pki:
    ca_key = _new_key(algorithm)
    responder_key = _new_key(algorithm)
    pki = Pki(directory, ca_key, None, CryptographySigner(ca_key),  # type: ignore[arg-type]
              CryptographySigner(responder_key))
    pki.ca = pki.issue("ca", ca_key, _key_usage(ca=True), ca=True, self_signed=True)
    leaf_key = _new_key(KeyAlgorithm.ECDSA_P256)
    crl_dp = x509.CRLDistributionPoints([x509.DistributionPoint(
        [x509.UniformResourceIdentifier(CRL_URL)], None, None, None)])
    for label in ("good", "revoked", "held"):
        pki.issue(label, leaf_key, _key_usage())
    for label in ("dp_good", "dp_revoked"):
        pki.issue(label, leaf_key, _key_usage(), (crl_dp, False))
    pki.issue("responder", responder_key, _key_usage(),
              (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False),
              (x509.OCSPNoCheck(), False))
    return pki


@pytest.fixture(scope="module", params=ALGORITHMS, ids=lambda a: a.value)
def pki(request, tmp_path_factory) -> Pki:
    return _make_pki(tmp_path_factory.mktemp(request.param.value), request.param)


def _openssl(*args: str, cwd: Path) -> tuple[int, str]:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)
    return done.returncode, done.stdout + done.stderr


# --- CRLs -------------------------------------------------------------------------------------


def _crl(pki: Pki, entries: list[bytes], **options) -> bytes:
    aki = x509.SubjectKeyIdentifier.from_public_key(pki.ca.public_key()).digest
    arguments: dict[str, Any] = {
        "issuer_name_der": pki.ca.subject.public_bytes(), "authority_key_identifier": aki,
        "this_update": NOW - timedelta(minutes=1), "next_update": NOW + timedelta(days=1),
        "entries": entries, "crl_number": 1}
    arguments.update(options)
    return build_crl(pki.signer, **arguments)


def _entry(pki: Pki, label: str, reason: RevocationReason | None, **options) -> bytes:
    return encode_revoked_entry(pki.certs[label].serial_number, NOW - timedelta(minutes=10),
                                reason, **options)


def _full_crl(pki: Pki) -> bytes:
    return _crl(pki, [
        _entry(pki, "revoked", RevocationReason.KEY_COMPROMISE,
               invalidity_date=NOW - timedelta(days=3)),
        _entry(pki, "held", RevocationReason.CERTIFICATE_HOLD),
    ], crl_number=1, freshest_crl_urls=[DELTA_URL])


def _delta_crl(pki: Pki) -> bytes:
    return _crl(pki, [
        _entry(pki, "good", RevocationReason.SUPERSEDED),
        _entry(pki, "held", RevocationReason.REMOVE_FROM_CRL),
    ], crl_number=2, delta_crl_indicator=1)


def _write_pem(pki: Pki, label: str, *crls: bytes) -> str:
    pem = b"".join(x509.load_der_x509_crl(c).public_bytes(serialization.Encoding.PEM) for c in crls)
    path = pki.directory / f"{label}.crl.pem"
    path.write_bytes(pem)
    return str(path)


def _verify(pki: Pki, crl_file: str, label: str, *flags: str) -> str:
    code, output = _openssl("verify", "-crl_check", *flags, "-CRLfile", crl_file,
                            "-CAfile", pki.path("ca"), pki.path(label), cwd=pki.directory)
    if code == 0:
        assert f"{label}.pem: OK" in output
        return "OK"
    assert "certificate revoked" in output, output
    return "revoked"


def test_openssl_checks_the_crl_signature(pki):
    for label, encoded in (("full", _full_crl(pki)), ("delta", _delta_crl(pki)),
                           ("empty", _crl(pki, []))):
        path = pki.directory / f"{label}.crl.der"
        path.write_bytes(encoded)
        code, output = _openssl("crl", "-inform", "DER", "-in", str(path), "-CAfile",
                                pki.path("ca"), "-verify", "-noout", cwd=pki.directory)
        assert code == 0 and "verify OK" in output, output


def test_openssl_verify_uses_the_full_crl(pki):
    crl_file = _write_pem(pki, "full", _full_crl(pki))
    assert _verify(pki, crl_file, "good") == "OK"
    assert _verify(pki, crl_file, "revoked") == "revoked"
    assert _verify(pki, crl_file, "held") == "revoked"


def test_openssl_verify_uses_delta_crls(pki):
    crl_file = _write_pem(pki, "full_and_delta", _full_crl(pki), _delta_crl(pki))
    assert _verify(pki, crl_file, "good", "-use_deltas") == "revoked"
    assert _verify(pki, crl_file, "held", "-use_deltas") == "OK"  # removeFromCRL lifts the hold
    assert _verify(pki, crl_file, "revoked", "-use_deltas") == "revoked"
    assert _verify(pki, crl_file, "good") == "OK"  # without -use_deltas the delta is ignored
    assert _verify(pki, crl_file, "held") == "revoked"


def test_openssl_matches_the_issuing_distribution_point(pki):
    crl_file = _write_pem(pki, "idp", _crl(pki, [_entry(pki, "dp_revoked", None)], crl_number=3,
                                           issuing_distribution_point_url=CRL_URL))
    assert _verify(pki, crl_file, "dp_good") == "OK"
    assert _verify(pki, crl_file, "dp_revoked") == "revoked"
    # a certificate without that distribution point is outside the CRL's scope
    code, output = _openssl("verify", "-crl_check", "-CRLfile", crl_file, "-CAfile",
                            pki.path("ca"), pki.path("good"), cwd=pki.directory)
    assert code != 0 and "different CRL scope" in output


def _pkilint_crl_findings(encoded: bytes) -> list[tuple[str, str, str | None]]:
    validator = pkilint_crl.create_pkix_crl_validator_container(
        [pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
         pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS)],
        [pkilint_crl.create_issuer_validator_container([]),
         pkilint_crl.create_validity_validator_container([]),
         pkilint_crl.create_extensions_validator_container([])],
    )
    document = loader.RFC5280CertificateListDocumentLoader().load_der_document(encoded, "crl")
    return _findings(validator.validate(document.root))


def _findings(results) -> list[tuple[str, str, str | None]]:
    return [(d.finding.severity.name, d.finding.code, d.message)
            for result in results for d in result.finding_descriptions]


def _serious(findings):
    serious = (validation.ValidationFindingSeverity.FATAL.name,
               validation.ValidationFindingSeverity.ERROR.name)
    return [f for f in findings if f[0] in serious]


@pytest.mark.parametrize("kind", ["full", "full-empty", "delta", "delta-empty", "idp"])
def test_pkilint_finds_no_errors_in_crls(pki, kind):
    encoded = {
        "full": lambda: _full_crl(pki),
        "full-empty": lambda: _crl(pki, [], freshest_crl_urls=[DELTA_URL]),
        "delta": lambda: _delta_crl(pki),
        "delta-empty": lambda: _crl(pki, [], crl_number=5, delta_crl_indicator=4),
        "idp": lambda: _crl(pki, [_entry(pki, "dp_revoked", RevocationReason.AFFILIATION_CHANGED)],
                            issuing_distribution_point_url=CRL_URL),
    }[kind]()
    findings = _pkilint_crl_findings(encoded)
    assert _serious(findings) == [], findings


def test_pkilint_harness_reports_errors(pki):
    """Negative control: an (unsigned-over) empty revokedCertificates must be an ERROR."""
    encoded = _crl(pki, [])
    _, start, end = der.read_tlv(encoded)
    tbs, algorithm, signature = (encoded[offset:stop]
                                 for _, offset, _, stop in der.iter_tlvs(encoded, start, end))
    _, start, end = der.read_tlv(tbs)
    fields = [tbs[offset:stop] for _, offset, _, stop in der.iter_tlvs(tbs, start, end)]
    broken = der.sequence(der.sequence(*fields[:5], der.sequence(), fields[5]), algorithm,
                          signature)
    assert ("ERROR", "pkix.crl_revoked_certificates_empty", None) \
        in _pkilint_crl_findings(broken)


# --- OCSP -------------------------------------------------------------------------------------


def _single(pki: Pki, label: str, status, hash_name: str = "sha1") -> bytes:
    cert_id = encode_cert_id(hash_name, *issuer_hashes(pki.der("ca"))[hash_name],
                             pki.certs[label].serial_number)
    return encode_single_response(cert_id, status, NOW, NOW + timedelta(hours=4))


def _ocsp_response(pki: Pki, singles: list[bytes], *, delegated: bool = True,
                   nonce: bytes | None = None) -> bytes:
    signer = pki.responder_signer if delegated else pki.signer
    return build_basic_response(signer, pki.der("responder") if delegated else None,
                                key_identifier(signer.public_key_info()), NOW,
                                singles, nonce)


def _ocsp_check(pki: Pki, response: bytes, label: str | None, *extra: str) -> str:
    """``openssl ocsp -respin``: the signature and chain, and the status of ``label``'s cert."""
    path = pki.directory / f"ocsp-{label}.der"
    path.write_bytes(response)
    certificate = ("-cert", pki.path(label)) if label else ()
    code, output = _openssl("ocsp", "-respin", str(path), "-issuer", pki.path("ca"), *extra,
                            *certificate, "-CAfile", pki.path("ca"), cwd=pki.directory)
    assert code == 0 and "Response verify OK" in output, output
    return output


STATUSES = {
    "good": GOOD,
    "revoked": RevokedStatus(NOW - timedelta(hours=1), RevocationReason.KEY_COMPROMISE),
    "held": RevokedStatus(NOW - timedelta(hours=1), RevocationReason.CERTIFICATE_HOLD),
    "dp_good": UNKNOWN,
}


@pytest.mark.parametrize("delegated", [True, False], ids=["delegated", "ca-signed"])
def test_openssl_accepts_ocsp_responses(pki, delegated):
    for label, hash_name in (("good", "sha1"), ("revoked", "sha256"), ("held", "sha1"),
                             ("dp_good", "sha256")):
        response = _ocsp_response(pki, [_single(pki, label, STATUSES[label], hash_name)],
                                  delegated=delegated)
        output = _ocsp_check(pki, response, label, *(["-sha256"] if hash_name == "sha256" else []))
        expected = {"good": "good", "revoked": "revoked", "held": "revoked",
                    "dp_good": "unknown"}[label]
        assert f"{label}.pem: {expected}" in output
    if delegated:  # trusting the responder certificate directly works too
        response = _ocsp_response(pki, [_single(pki, "good", GOOD)])
        assert "good.pem: good" in _ocsp_check(pki, response, "good", "-VAfile",
                                               pki.path("responder"))
    assert "Reason: keyCompromise" in _ocsp_check(
        pki, _ocsp_response(pki, [_single(pki, "revoked", STATUSES["revoked"])]), "revoked")


def _openssl_request(pki: Pki, *options: str, name_: str = "req") -> bytes:
    path = pki.directory / f"{name_}.der"
    code, output = _openssl("ocsp", "-issuer", pki.path("ca"), *options, "-reqout", str(path),
                            cwd=pki.directory)
    assert code == 0, output
    return path.read_bytes()


def test_parse_openssl_requests(pki):
    ours = issuer_hashes(pki.der("ca"))
    with_nonce = parse_request(_openssl_request(pki, "-cert", pki.path("good")))
    assert len(with_nonce.nonce or b"") == 16
    (cert_id,) = with_nonce.cert_ids
    assert (cert_id.hash_name, cert_id.serial_number) == ("sha1", pki.certs["good"].serial_number)
    assert cert_id.is_for_issuer(ours)

    sha256 = parse_request(_openssl_request(pki, "-sha256", "-cert", pki.path("revoked"),
                                            "-no_nonce"))
    assert sha256.nonce is None
    assert sha256.cert_ids[0].hash_name == "sha256" and sha256.cert_ids[0].is_for_issuer(ours)

    labels = ["good", "revoked", "held", "dp_good"]
    several = parse_request(_openssl_request(pki, *[a for label in labels
                                                    for a in ("-cert", pki.path(label))]))
    assert [c.serial_number for c in several.cert_ids] == [pki.certs[x].serial_number
                                                           for x in labels]
    assert all(c.is_for_issuer(ours) for c in several.cert_ids)
    other = issuer_hashes(pki.der("responder"))
    assert not any(c.is_for_issuer(other) for c in several.cert_ids)


def test_nonce_is_echoed_to_openssl(pki):
    request = _openssl_request(pki, "-cert", pki.path("good"), name_="nonce-req")
    parsed = parse_request(request)
    single = encode_single_response(parsed.cert_ids[0].der, GOOD, NOW, NOW + timedelta(hours=4))
    request_path = str(pki.directory / "nonce-req.der")
    # with -reqin, openssl checks the nonce; -cert would make it build a new request instead
    answered = _ocsp_check(pki, _ocsp_response(pki, [single], nonce=parsed.nonce), None,
                           "-reqin", request_path)
    assert "nonce" not in answered.lower()
    missing = _ocsp_check(pki, _ocsp_response(pki, [single]), None, "-reqin", request_path)
    assert "WARNING: no nonce in response" in missing
    path = pki.directory / "ocsp-wrong-nonce.der"
    path.write_bytes(_ocsp_response(pki, [single], nonce=bytes(16)))
    code, output = _openssl("ocsp", "-respin", str(path), "-reqin", request_path,
                            "-CAfile", pki.path("ca"), cwd=pki.directory)
    assert code != 0 and "Nonce Verify error" in output


def _pkilint_ocsp_findings(encoded: bytes) -> list[tuple[str, str, str | None]]:
    validator = pkilint_ocsp.create_pkix_ocsp_response_validator_container(
        [pkilint_ocsp.create_response_decoder(),
         pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
         pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS)],
        [],
    )
    document = loader.RFC6960OCSPResponseDocumentLoader().load_der_document(encoded, "ocsp")
    return _findings(validator.validate(document.root))


def test_pkilint_finds_no_errors_in_ocsp_responses(pki):
    responses = [_ocsp_response(pki, [_single(pki, label, status)], delegated=delegated,
                                nonce=b"\x05" * 32 if delegated else None)
                 for label, status in STATUSES.items() for delegated in (True, False)]
    responses += [error_response(status) for status in ResponseStatus if status.value]
    for encoded in responses:
        findings = _pkilint_ocsp_findings(encoded)
        assert _serious(findings) == [], findings


# --- SM2 --------------------------------------------------------------------------------------


def _sm2_check(directory: Path, signer, tbs: bytes, signature: bytes) -> None:
    """OpenSSL 3.0 checks SM2 over extracted tbs + signature (DESIGN.md §5)."""
    (directory / "sm2.pub.pem").write_bytes(pem_armor("PUBLIC KEY",
                                                      signer.public_key_info().dump()))
    (directory / "tbs.der").write_bytes(tbs)
    (directory / "sig.der").write_bytes(signature)
    code, output = _openssl("dgst", "-sm3", "-verify", "sm2.pub.pem", "-sigopt",
                            f"distid:{DEFAULT_SM2_ID.decode()}", "-signature", "sig.der",
                            "tbs.der", cwd=directory)
    assert code == 0 and "Verified OK" in output, output
    verify_signature(signer.public_key_info(), signer.signature_algorithm(), signature, tbs)


def test_sm2_signed_crl_and_ocsp_response(tmp_path):
    from ca.encoding import sm2

    signer = sm2.generate_signer()
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SM2 CA")]).public_bytes()
    encoded = build_crl(signer, issuer_name_der=issuer, authority_key_identifier=b"\x01" * 20,
                        crl_number=9, this_update=NOW, next_update=NOW + timedelta(days=1),
                        entries=[encode_revoked_entry(4242, NOW, RevocationReason.SUPERSEDED)])
    crl = asn1_crl.CertificateList.load(encoded)
    assert crl["signature_algorithm"]["algorithm"].dotted == SM3_WITH_SM2_OID
    assert crl["tbs_cert_list"]["signature"].dump() == crl["signature_algorithm"].dump()
    _sm2_check(tmp_path, signer, crl["tbs_cert_list"].dump(), crl["signature"].native)
    assert _serious(_pkilint_crl_findings(encoded)) == []

    cert_id = encode_cert_id("sha1", bytes(20), bytes(20), 4242)
    response = build_basic_response(
        signer, None, key_identifier(signer.public_key_info()), NOW,
        [encode_single_response(cert_id, RevokedStatus(NOW, RevocationReason.SUPERSEDED), NOW)],
        b"\x07" * 8)
    basic = asn1_ocsp.OCSPResponse.load(response).basic_ocsp_response
    _sm2_check(tmp_path, signer, basic["tbs_response_data"].dump(), basic["signature"].native)
    assert _serious(_pkilint_ocsp_findings(response)) == []
