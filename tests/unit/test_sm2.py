"""SM2/SM3 signing and verification (ca.encoding.sm2), on every signing backend.

gmssl is the reference: signatures from every backend must verify with gmssl's
own verification as well as ours. OpenSSL cross-checks live in
tests/interop/test_sm2_openssl.py.
"""

from __future__ import annotations

import secrets

import pytest
from asn1crypto import algos, keys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ca.encoding import der, sm2
from ca.encoding.algorithms import SM2_CURVE_OID, SM3_WITH_SM2_OID, KeyAlgorithm
from ca.encoding.signers import DEFAULT_SM2_ID, SignatureError, Signer, verify_signature
from ca.encoding.sm2 import _backends, _encoding, curve

BACKENDS = ["gmssl", "gmssl-pyx"]
MESSAGE = b"TBSCertificate stand-in \x00\xff"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param not in sm2.available_backends():
        pytest.skip(f"{request.param} is not installed (optional extra sm2-fast)")
    return request.param


@pytest.fixture
def signer(backend: str) -> sm2.Sm2Signer:
    return sm2.generate_signer(backend=backend)


def _spki_with_point(raw: bytes, curve_oid: str = SM2_CURVE_OID) -> keys.PublicKeyInfo:
    algorithm = keys.PublicKeyAlgorithm({
        "algorithm": "ec", "parameters": keys.ECDomainParameters(name="named", value=curve_oid)})
    return keys.PublicKeyInfo({"algorithm": algorithm, "public_key": raw})


def _rs(signature: bytes) -> tuple[int, int]:
    rs = _encoding.decode_signature(signature)
    assert rs is not None
    return rs


def test_signer_interface(signer: sm2.Sm2Signer, backend: str) -> None:
    assert isinstance(signer, Signer)
    assert signer.key_algorithm is KeyAlgorithm.SM2
    assert signer.backend == backend
    spki = signer.public_key_info()
    assert spki["algorithm"]["algorithm"].dotted == "1.2.840.10045.2.1"
    assert spki["algorithm"]["parameters"].chosen.dotted == SM2_CURVE_OID
    assert spki["public_key"].native == signer.public_point()
    assert signer.public_point()[0] == 0x04 and len(signer.public_point()) == 65
    assert keys.PublicKeyInfo.load(spki.dump()).dump() == spki.dump()
    sm2.validate_public_key_info(spki)
    sm2.validate_public_key_info(keys.PublicKeyInfo.load(spki.dump()))
    alg = signer.signature_algorithm()
    assert alg["algorithm"].dotted == SM3_WITH_SM2_OID
    assert alg.dump() == bytes.fromhex("300a06082a811ccf55018375")  # parameters absent
    assert "private" not in repr(signer) and f"{signer._d:x}" not in repr(signer)


def test_round_trip_and_failures(signer: sm2.Sm2Signer) -> None:
    spki = signer.public_key_info()
    signature = signer.sign(MESSAGE)
    assert sm2.verify_spki(spki, MESSAGE, signature, DEFAULT_SM2_ID)
    assert not sm2.verify_spki(spki, MESSAGE + b"!", signature, DEFAULT_SM2_ID)
    assert not sm2.verify_spki(spki, MESSAGE, signature, b"1234567812345679")
    assert not sm2.verify_spki(spki, MESSAGE, signature, b"")
    other = sm2.generate_signer(backend=signer.backend)
    assert not sm2.verify_spki(other.public_key_info(), MESSAGE, signature, DEFAULT_SM2_ID)
    algorithm = signer.signature_algorithm()
    assert verify_signature(spki, algorithm, signature, MESSAGE) == DEFAULT_SM2_ID
    with pytest.raises(SignatureError):
        verify_signature(spki, signer.signature_algorithm(), signature, MESSAGE[:-1])


def test_other_signer_id_and_empty_message(signer: sm2.Sm2Signer) -> None:
    spki = signer.public_key_info()
    for signer_id in (b"", b"ALICE123@YAHOO.COM", bytes(range(256))):
        signature = signer.sign(b"", signer_id=signer_id)
        assert sm2.verify_spki(spki, b"", signature, signer_id)
        assert not sm2.verify_spki(spki, b"", signature, DEFAULT_SM2_ID)
    assert not sm2.verify_spki(spki, b"", signer.sign(b""), b"x" * 8192)  # ID too long for ENTL


def test_signatures_agree_with_gmssl_reference(signer: sm2.Sm2Signer) -> None:
    point = signer._point
    z = _encoding.z_value(point, DEFAULT_SM2_ID)
    for index in range(5):
        message = secrets.token_bytes(index * 37)
        r, s = _rs(signer.sign(message))
        e = _encoding.message_digest(z, message)
        assert _backends.gmssl_verify_digest(point, e, r, s)
        assert sm2.verify_digest(point, e, r, s)
        assert not _backends.gmssl_verify_digest(point, e ^ 1, r, s)
        assert not sm2.verify_digest(point, e ^ 1, r, s)


def test_nonce_never_reused(signer: sm2.Sm2Signer) -> None:
    signatures = {signer.sign(MESSAGE) for _ in range(20)}
    assert len(signatures) == 20
    assert len({_rs(sig)[0] for sig in signatures}) == 20  # r = e + x(kG): distinct k


def test_gmssl_nonce_comes_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    import gmssl.func

    def _no_random(*_args: object) -> str:
        raise AssertionError("gmssl's random-module nonce must not be used")

    drawn: list[int] = []
    real_randbelow = secrets.randbelow

    def _spy(bound: int) -> int:
        drawn.append(bound)
        return real_randbelow(bound)

    monkeypatch.setattr(gmssl.func, "random_hex", _no_random)
    monkeypatch.setattr(_backends.secrets, "randbelow", _spy)
    signer = sm2.generate_signer(backend="gmssl")
    drawn.clear()
    assert sm2.verify_spki(signer.public_key_info(), MESSAGE, signer.sign(MESSAGE), DEFAULT_SM2_ID)
    assert drawn == [curve.N - 1]


def test_known_answer_gmt_0003() -> None:
    """GM/T 0003.5 / GB/T 32918.5 example on sm2p256v1 (signer ID 1234567812345678)."""
    d = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
    k = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
    signer = sm2.Sm2Signer.from_private_bytes(d.to_bytes(32, "big"), backend="gmssl")
    point = signer._point
    assert point == (0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020,
                     0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13)
    z = _encoding.z_value(point, DEFAULT_SM2_ID)
    assert z.hex() == "b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3"
    e = _encoding.message_digest(z, b"message digest")
    assert e == 0xF0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640
    out = _backends._gmssl(f"{d:064x}", point).sign(e.to_bytes(32, "big"), f"{k:064x}")
    r = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
    s = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
    assert out == f"{r:064x}{s:064x}"
    signature = _encoding.encode_signature(r, s)
    assert sm2.verify_spki(signer.public_key_info(), b"message digest", signature, DEFAULT_SM2_ID)


_seq = der.sequence
_int = der.integer


def _bad_signatures(signature: bytes) -> dict[str, bytes]:
    r, s = _rs(signature)
    body = signature[2:]
    n = curve.N
    return {
        "empty": b"",
        "truncated by one": signature[:-1],
        "truncated to the header": signature[:2],
        "trailing garbage": signature + b"\x00",
        "trailing sequence": signature + signature,
        "r = 0": _seq(_int(0), _int(s)),
        "s = 0": _seq(_int(r), _int(0)),
        "r = n": _seq(_int(n), _int(s)),
        "s = n": _seq(_int(r), _int(n)),
        "r + n": _seq(_int(r + n), _int(s)),
        "s + n": _seq(_int(r), _int(s + n)),
        "r, s swapped": _seq(_int(s), _int(r)),
        "negative r": _seq(b"\x02\x01\xff", _int(s)),
        "non-minimal r": _seq(b"\x02" + bytes([len(_int(r)) - 1]) + b"\x00" + _int(r)[2:], _int(s)),
        "long-form length": b"\x30\x81" + bytes([len(body)]) + body,
        "indefinite length": b"\x30\x80" + body + b"\x00\x00",
        "SET, not SEQUENCE": b"\x31" + signature[1:],
        "three integers": _seq(_int(r), _int(s), _int(1)),
        "one integer": _seq(_int(r)),
        "raw r||s": r.to_bytes(32, "big") + s.to_bytes(32, "big"),
    }


def test_malformed_signatures_are_false(signer: sm2.Sm2Signer) -> None:
    spki = signer.public_key_info()
    signature = signer.sign(MESSAGE)
    assert sm2.verify_spki(spki, MESSAGE, signature, DEFAULT_SM2_ID)
    for name, bad in _bad_signatures(signature).items():
        assert not sm2.verify_spki(spki, MESSAGE, bad, DEFAULT_SM2_ID), name
    assert not sm2.verify_spki(spki, MESSAGE, None, DEFAULT_SM2_ID)  # type: ignore[arg-type]


def test_signature_der_encoding_edges() -> None:
    for r, s in [(1, 1), (0x7F, 0x80), (0xFF, 1 << 255), (1 << 247, curve.N - 1), (2**256 - 1, 5)]:
        der = _encoding.encode_signature(r, s)
        assert _encoding.decode_signature(der) == (r, s)
        assert algos.DSASignature.load(der).native == {"r": r, "s": s}
        assert algos.DSASignature({"r": r, "s": s}).dump() == der
    with pytest.raises(ValueError):
        _encoding.encode_signature(0, 1)


@pytest.mark.parametrize("first_byte", [0x04, 0x00, 0x40])
def test_public_x_with_awkward_leading_byte(backend: str, first_byte: int) -> None:
    """gmssl's lstrip("04") would mangle such keys; fixed-width encodings must keep zeros."""
    d = 1
    while True:
        d += 1
        point = curve.to_affine(curve.mul_base(d))
        assert point is not None
        if point[0] >> 248 == first_byte:
            break
    signer = sm2.Sm2Signer.from_private_bytes(d.to_bytes(32, "big"), backend=backend)
    assert signer.public_point()[1] == first_byte
    for _ in range(3):
        signature = signer.sign(MESSAGE)
        assert sm2.verify_spki(signer.public_key_info(), MESSAGE, signature, DEFAULT_SM2_ID)
        e = _encoding.message_digest(_encoding.z_value(signer._point, DEFAULT_SM2_ID), MESSAGE)
        assert _backends.gmssl_verify_digest(signer._point, e, *_rs(signature))


def test_private_key_bytes_round_trip(signer: sm2.Sm2Signer) -> None:
    raw = signer.private_key_bytes()
    assert len(raw) == 32
    again = sm2.Sm2Signer.from_private_bytes(raw, backend=signer.backend)
    assert again.public_key_info().dump() == signer.public_key_info().dump()
    assert sm2.verify_spki(signer.public_key_info(), MESSAGE, again.sign(MESSAGE), DEFAULT_SM2_ID)


@pytest.mark.parametrize("d", [0, curve.N - 1, curve.N, 2**256 - 1])
def test_private_key_out_of_range(d: int) -> None:
    with pytest.raises(ValueError, match=r"\[1, n-2\]") as info:
        sm2.Sm2Signer.from_private_bytes(d.to_bytes(32, "big"))
    assert f"{d:x}" not in str(info.value)


@pytest.mark.parametrize("raw", [b"", b"\x01" * 31, b"\x01" * 33, "01" * 32])
def test_private_key_wrong_length(raw: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        sm2.Sm2Signer.from_private_bytes(raw)


def test_edge_private_keys_sign() -> None:
    for d in (1, 2, curve.N - 2):
        signer = sm2.Sm2Signer.from_private_bytes(d.to_bytes(32, "big"), backend="gmssl")
        assert sm2.verify_spki(signer.public_key_info(), MESSAGE, signer.sign(MESSAGE),
                               DEFAULT_SM2_ID)


def _invalid_keys() -> dict[str, tuple[keys.PublicKeyInfo, str]]:
    good = sm2.generate_signer(backend="gmssl").public_point()
    y = int.from_bytes(good[33:], "big")
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ed = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    compressed = bytes([2 + (y & 1)]) + good[1:33]
    implicit = keys.PublicKeyInfo({"algorithm": keys.PublicKeyAlgorithm(
        {"algorithm": "ec", "parameters": keys.ECDomainParameters(name="implicit_ca",
                                                                   value=None)}),
        "public_key": good})
    return {
        "P-256 curve": (keys.PublicKeyInfo.load(p256), "1.2.840.10045.3.1.7"),
        "SM2 point under P-256 OID": (_spki_with_point(good, "1.2.840.10045.3.1.7"),
                                      "not SM2"),
        "Ed25519": (keys.PublicKeyInfo.load(ed), "id-ecPublicKey"),
        "not on curve": (_spki_with_point(good[:-1] + bytes([good[-1] ^ 1])), "not on the"),
        "x = p": (_spki_with_point(b"\x04" + curve.P.to_bytes(32, "big") + good[33:]),
                  "not on the"),
        "y >= p": (_spki_with_point(b"\x04" + good[1:33] + b"\xff" * 32), "not on the"),
        "zero point": (_spki_with_point(b"\x04" + bytes(64)), "not on the"),
        "infinity": (_spki_with_point(b"\x00"), "infinity"),
        "compressed": (_spki_with_point(compressed), "uncompressed"),
        "short": (_spki_with_point(good[:-1]), "uncompressed"),
        "empty": (_spki_with_point(b""), "uncompressed"),
        "implicit curve": (implicit, "name its curve"),
        "x, y swapped": (_spki_with_point(b"\x04" + good[33:] + good[1:33]), "not on the"),
    }


def test_invalid_public_keys_rejected_clearly() -> None:
    for name, (spki, message) in _invalid_keys().items():
        with pytest.raises(ValueError, match=message):
            sm2.validate_public_key_info(spki)
        assert not sm2.verify_spki(spki, MESSAGE, b"\x30\x06\x02\x01\x01\x02\x01\x01",
                                   DEFAULT_SM2_ID), name


def test_backend_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sm2.backend_name() in sm2.available_backends()
    assert "gmssl" in sm2.available_backends()
    assert _backends.choose_backend("gmssl") == "gmssl"
    with pytest.raises(RuntimeError, match="not an SM2 backend"):
        _backends.choose_backend("openssl")
    assert _backends.choose_backend(None) == sm2.available_backends()[0]
    before = sm2.backend_name()
    try:
        assert sm2.use_backend("gmssl") == "gmssl" == sm2.backend_name()
        assert sm2.generate_signer().backend == "gmssl"
    finally:
        sm2.use_backend(before)
    with pytest.raises(ValueError, match="not available"):
        sm2.generate_signer(backend="nope")


def test_gmssl_pyx_is_used_when_installed() -> None:
    pytest.importorskip("gmssl_pyx")
    assert sm2.available_backends() == ("gmssl-pyx", "gmssl")
    assert sm2.generate_signer(backend="gmssl-pyx").backend == "gmssl-pyx"
