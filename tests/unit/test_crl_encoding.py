"""CRL encoding and the DER helpers under it (ca.encoding), read back by other parsers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from asn1crypto import algos, core
from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from cryptography.x509.oid import CRLEntryExtensionOID, ExtensionOID

from ca.encoding import der
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.crl_encoding import MAX_CRL_NUMBER, build_crl, encode_revoked_entry
from ca.encoding.signers import generate_private_key
from domain.reasons import RevocationReason

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
ISSUER = x509.Name.from_rfc4514_string("CN=CertLedger Test CA,O=CertLedger,C=CN")
AKI = bytes(range(20))


@pytest.fixture(scope="module", params=[KeyAlgorithm.RSA_2048, KeyAlgorithm.ECDSA_P256,
                                        KeyAlgorithm.ED25519], ids=lambda a: a.value)
def signer(request):
    return generate_private_key(request.param)


@pytest.fixture(scope="module")
def ec_signer():
    return generate_private_key(KeyAlgorithm.ECDSA_P256)


def _public_key(signer):
    return load_der_public_key(signer.public_key_info().dump())


def _build(signer, entries=(), **overrides):
    arguments = dict(issuer_name_der=ISSUER.public_bytes(), authority_key_identifier=AKI,
                     crl_number=7, this_update=NOW, next_update=NOW + timedelta(days=7),
                     entries=list(entries))
    arguments.update(overrides)
    return build_crl(signer, **arguments)


# --- ca.encoding.der ------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, 2**63, 2**159 - 1, -1, -128, -129,
                                   -(2**64)])
def test_integer_matches_asn1crypto(value):
    assert der.integer(value) == core.Integer(value).dump()
    _, start, end = der.read_tlv(der.integer(value))
    assert der.decode_integer(der.integer(value)[start:end]) == value


@pytest.mark.parametrize("length", [0, 1, 127, 128, 255, 256, 65535, 65536, 2**24 + 3])
def test_header_lengths(length):
    encoded = der.header(0x04, length) + bytes(length)
    assert core.OctetString.load(encoded).native == bytes(length)
    assert der.read_tlv(encoded)[1:] == (len(encoded) - length, len(encoded))


@pytest.mark.parametrize("dotted", ["2.5.29.20", "1.2.840.113549.1.1.11", "1.2.156.10197.1.501",
                                    "2.999.3", "1.3.6.1.5.5.7.48.1.2"])
def test_object_identifier_round_trip(dotted):
    encoded = der.object_identifier(dotted)
    assert encoded == core.ObjectIdentifier(dotted).dump()
    assert der.decode_object_identifier(encoded[2:]) == dotted


@pytest.mark.parametrize("bad", [b"", b"\x30", b"\x30\x80\x00\x00", b"\x30\x81\x05abcde",
                                 b"\x30\x82\x00\x85" + bytes(0x85), b"\x30\x05abc",
                                 b"\x1f\x01\x01\x00"])
def test_read_tlv_rejects_what_is_not_der(bad):
    with pytest.raises(der.DERError):
        der.read_tlv(bad)


def test_non_minimal_integers_are_refused():
    for content in (b"", b"\x00\x01", b"\xff\x80"):
        with pytest.raises(der.DERError):
            der.decode_integer(content)


def test_time_choice_switches_in_2050():
    last_utc = datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert der.x509_time(last_utc) == b"\x17\x0d491231235959Z"
    assert der.x509_time(last_utc + timedelta(seconds=1)) == b"\x18\x0f20500101000000Z"
    assert der.x509_time(datetime(1999, 1, 2, 3, 4, 5, tzinfo=UTC)) == b"\x17\x0d990102030405Z"


def test_times_are_utc_whole_seconds_and_must_be_aware():
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2026, 3, 1, 8, 0, 0, 999_999, tzinfo=beijing)
    assert der.x509_time(moment) == b"\x17\x0d260301000000Z"
    assert der.generalized_time(moment) == b"\x18\x0f20260301000000Z"
    with pytest.raises(ValueError):
        der.x509_time(datetime(2026, 3, 1))
    with pytest.raises(ValueError):
        der.utc_time(datetime(2050, 1, 1, tzinfo=UTC))


# --- entries ----------------------------------------------------------------------------------


def test_entry_without_reason_has_no_extensions():
    entry = asn1_crl.RevokedCertificate.load(encode_revoked_entry(12345, NOW))
    assert entry["user_certificate"].native == 12345
    assert entry["revocation_date"].chosen.__class__ is core.UTCTime
    assert entry["revocation_date"].native == NOW
    assert entry["crl_entry_extensions"].native is None


def test_unspecified_reason_is_left_out():
    unspecified = encode_revoked_entry(5, NOW, RevocationReason.UNSPECIFIED)
    assert unspecified == encode_revoked_entry(5, NOW)


@pytest.mark.parametrize("reason", [r for r in RevocationReason if r.value != 0])
def test_every_reason_code(reason):
    invalid_since = NOW - timedelta(days=2, microseconds=5)
    entry = asn1_crl.RevokedCertificate.load(
        encode_revoked_entry(2**120 + 1, NOW, reason, invalid_since))
    assert entry.crl_reason_value.native == reason.name.lower()
    assert entry.invalidity_date_value.__class__ is core.GeneralizedTime
    assert entry.invalidity_date_value.native == invalid_since.replace(microsecond=0)
    assert not any(ext["critical"].native for ext in entry["crl_entry_extensions"])


def test_revocation_date_after_2049_is_generalized_time():
    late = datetime(2051, 6, 1, tzinfo=UTC)
    entry = asn1_crl.RevokedCertificate.load(encode_revoked_entry(9, late))
    assert entry["revocation_date"].chosen.__class__ is core.GeneralizedTime
    assert entry["revocation_date"].native == late


@pytest.mark.parametrize("code", [7, 11, -1])
def test_codes_that_are_no_crl_reason_are_refused(code):
    with pytest.raises(ValueError):
        encode_revoked_entry(5, NOW, code)  # type: ignore[arg-type]


@pytest.mark.parametrize("serial", [0, -5, 2**159])
def test_serial_must_be_positive_and_at_most_20_octets(serial):
    with pytest.raises(ValueError):
        encode_revoked_entry(serial, NOW)


# --- whole CRLs -------------------------------------------------------------------------------


def test_full_crl_reads_back(signer):
    entries = [
        encode_revoked_entry(1001, NOW - timedelta(hours=3), RevocationReason.KEY_COMPROMISE,
                             NOW - timedelta(days=1)),
        encode_revoked_entry(1002, NOW - timedelta(hours=2), RevocationReason.CERTIFICATE_HOLD),
        encode_revoked_entry(1003, NOW - timedelta(hours=1)),
    ]
    crl = x509.load_der_x509_crl(_build(signer, entries,
                                        freshest_crl_urls=["http://crl.example/delta.crl"]))
    assert crl.is_signature_valid(_public_key(signer))
    assert crl.issuer == ISSUER
    assert crl.last_update_utc == NOW and crl.next_update_utc == NOW + timedelta(days=7)
    assert [e.serial_number for e in crl] == [1001, 1002, 1003]
    first = crl.get_revoked_certificate_by_serial_number(1001)
    assert first.extensions.get_extension_for_class(x509.CRLReason).value.reason \
        == x509.ReasonFlags.key_compromise
    assert first.extensions.get_extension_for_oid(CRLEntryExtensionOID.INVALIDITY_DATE) \
        .value.invalidity_date_utc == NOW - timedelta(days=1)
    held = crl.get_revoked_certificate_by_serial_number(1002)
    assert held.extensions.get_extension_for_class(x509.CRLReason).value.reason \
        == x509.ReasonFlags.certificate_hold
    assert len(crl.get_revoked_certificate_by_serial_number(1003).extensions) == 0
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert aki.value.key_identifier == AKI and not aki.critical
    freshest = crl.extensions.get_extension_for_class(x509.FreshestCRL)
    assert freshest.value[0].full_name == [
        x509.UniformResourceIdentifier("http://crl.example/delta.crl")]
    with pytest.raises(x509.ExtensionNotFound):
        crl.extensions.get_extension_for_oid(ExtensionOID.DELTA_CRL_INDICATOR)
    assert crl.signature_algorithm_oid.dotted_string \
        == signer.signature_algorithm()["algorithm"].dotted


def test_delta_crl_reads_back(signer):
    entries = [encode_revoked_entry(77, NOW, RevocationReason.REMOVE_FROM_CRL),
               encode_revoked_entry(78, NOW, RevocationReason.SUPERSEDED)]
    crl = x509.load_der_x509_crl(_build(signer, entries, crl_number=12, delta_crl_indicator=10))
    assert crl.is_signature_valid(_public_key(signer))
    indicator = crl.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert indicator.critical and indicator.value.crl_number == 10
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 12
    assert crl[0].extensions.get_extension_for_class(x509.CRLReason).value.reason \
        == x509.ReasonFlags.remove_from_crl


def test_issuing_distribution_point(ec_signer):
    crl = x509.load_der_x509_crl(_build(ec_signer,
                                        issuing_distribution_point_url="http://crl.example/ca.crl"))
    idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
    assert idp.critical
    assert idp.value.full_name == [x509.UniformResourceIdentifier("http://crl.example/ca.crl")]
    assert not idp.value.only_contains_user_certs


def test_empty_crl_leaves_revoked_certificates_out(signer):
    encoded = _build(signer)
    parsed = asn1_crl.CertificateList.load(encoded)
    tbs = parsed["tbs_cert_list"].dump()
    _, start, end = der.read_tlv(tbs)
    tags = [tag for tag, *_ in der.iter_tlvs(tbs, start, end)]
    assert tags == [der.INTEGER, der.SEQUENCE, der.SEQUENCE, der.UTC_TIME, der.UTC_TIME, 0xA0]
    crl = x509.load_der_x509_crl(encoded)
    assert len(crl) == 0 and crl.is_signature_valid(_public_key(signer))
    assert parsed["tbs_cert_list"]["version"].native == "v2"


def test_entries_may_be_any_iterable_and_keep_their_order(ec_signer):
    serials = [30, 10, 20]
    encoded = build_crl(ec_signer, issuer_name_der=ISSUER.public_bytes(),
                        authority_key_identifier=AKI, crl_number=1, this_update=NOW,
                        next_update=NOW + timedelta(hours=1),
                        entries=(encode_revoked_entry(s, NOW) for s in serials))
    assert [e.serial_number for e in x509.load_der_x509_crl(encoded)] == serials


def test_fifty_thousand_entries(ec_signer):
    entries = [encode_revoked_entry(2**63 + i * 7919, NOW - timedelta(seconds=i),
                                    RevocationReason(i % 6) if i % 3 else None)
               for i in range(50_000)]
    crl = x509.load_der_x509_crl(_build(ec_signer, entries))
    assert len(crl) == 50_000
    assert crl.is_signature_valid(_public_key(ec_signer))
    revoked = crl.get_revoked_certificate_by_serial_number(2**63 + 49_999 * 7919)
    assert revoked.revocation_date_utc == NOW - timedelta(seconds=49_999)


class _Sm2LikeSigner:
    """Signs with ECDSA but claims SM3withSM2: build_crl must only use the Signer interface."""

    def __init__(self) -> None:
        self._inner = generate_private_key(KeyAlgorithm.ECDSA_P256)
        self.key_algorithm = KeyAlgorithm.SM2

    def public_key_info(self):
        return self._inner.public_key_info()

    def signature_algorithm(self):
        return algos.SignedDigestAlgorithm({"algorithm": "1.2.156.10197.1.501"})

    def sign(self, message: bytes) -> bytes:
        return self._inner.sign(message)


def test_signature_algorithm_comes_from_the_signer():
    signer = _Sm2LikeSigner()
    parsed = asn1_crl.CertificateList.load(_build(signer, [encode_revoked_entry(3, NOW)]))
    sm3_with_sm2 = b"\x30\x0a\x06\x08\x2a\x81\x1c\xcf\x55\x01\x83\x75"
    assert parsed["signature_algorithm"].dump() == sm3_with_sm2
    assert parsed["tbs_cert_list"]["signature"].dump() == sm3_with_sm2
    r_s = core.load(parsed["signature"].native)  # the DER SEQUENCE { r, s } as the signer gave it
    assert len(r_s.native) == 2
    public_key = _public_key(signer)
    public_key.verify(parsed["signature"].native, parsed["tbs_cert_list"].dump(),
                      ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("overrides", [
    {"delta_crl_indicator": 3, "freshest_crl_urls": ["http://x/delta.crl"]},
    {"delta_crl_indicator": 7},
    {"crl_number": -1},
    {"crl_number": MAX_CRL_NUMBER + 1},
    {"next_update": NOW},
    {"authority_key_identifier": b""},
    {"issuer_name_der": b"\x31\x00"},
    {"issuer_name_der": ISSUER.public_bytes() + b"\x00"},
    {"this_update": datetime(2026, 3, 1)},
])
def test_bad_arguments_are_refused(ec_signer, overrides):
    with pytest.raises(ValueError):
        _build(ec_signer, **overrides)
