"""ca.encoding.sm2 against the OpenSSL 3 command line: keys, signatures and CSRs both ways.

Needs the openssl binary ($OPENSSL, else /usr/bin/openssl, else the one on PATH);
the tests fail rather than skip without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import csr, keys, pem

from ca.encoding import sm2
from ca.encoding.algorithms import SM2_CURVE_OID, SM3_WITH_SM2_OID
from ca.encoding.signers import DEFAULT_SM2_ID

pytestmark = pytest.mark.interop

BACKENDS = ["gmssl", "gmssl-pyx"]
DISTID = f"distid:{DEFAULT_SM2_ID.decode()}"
MESSAGE = b"to be signed \x00\x01\x02" * 10


def _openssl_binary() -> str:
    found = os.environ.get("OPENSSL") or (
        "/usr/bin/openssl" if Path("/usr/bin/openssl").exists() else shutil.which("openssl"))
    assert found, "the openssl command line tool is needed for these tests"
    return found


def _openssl(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([_openssl_binary(), *map(str, args)], capture_output=True,
                            text=True, timeout=60)
    if check:
        assert result.returncode == 0, f"openssl {args}: {result.stdout}{result.stderr}"
    return result


def _der_of(path: Path) -> bytes:
    return pem.unarmor(path.read_bytes())[2]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param not in sm2.available_backends():
        pytest.skip(f"{request.param} is not installed (optional extra sm2-fast)")
    return request.param


@pytest.fixture(scope="module")
def openssl_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An SM2 key made by OpenSSL: (private key PEM, public key PEM)."""
    folder = tmp_path_factory.mktemp("openssl-sm2")
    key, pub = folder / "key.pem", folder / "pub.pem"
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", key)
    _openssl("pkey", "-in", key, "-pubout", "-out", pub)
    return key, pub


def _openssl_verifies(tmp_path: Path, spki: keys.PublicKeyInfo, message: bytes,
                      signature: bytes, distid: str | None = DISTID) -> bool:
    (tmp_path / "pub.pem").write_bytes(pem.armor("PUBLIC KEY", spki.dump()))
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig.der").write_bytes(signature)
    sigopt = ["-sigopt", distid] if distid else []
    result = _openssl("dgst", "-sm3", "-verify", tmp_path / "pub.pem", *sigopt,
                      "-signature", tmp_path / "sig.der", tmp_path / "msg", check=False)
    return result.returncode == 0 and "Verified OK" in result.stdout


def test_openssl_is_3(tmp_path: Path) -> None:
    assert _openssl("version").stdout.startswith("OpenSSL 3.")


def test_our_signatures_verify_with_openssl(backend: str, tmp_path: Path) -> None:
    signer = sm2.generate_signer(backend=backend)
    spki = signer.public_key_info()
    for message in (MESSAGE, b"", os.urandom(5000)):
        signature = signer.sign(message)
        assert _openssl_verifies(tmp_path, spki, message, signature)
        assert not _openssl_verifies(tmp_path, spki, message + b"x", signature)
        assert not _openssl_verifies(tmp_path, spki, message, signature, distid=None)  # empty ID
    alice = signer.sign(MESSAGE, signer_id=b"ALICE123@YAHOO.COM")
    assert _openssl_verifies(tmp_path, spki, MESSAGE, alice, distid="distid:ALICE123@YAHOO.COM")
    assert _openssl_verifies(tmp_path, spki, MESSAGE, signer.sign(MESSAGE, signer_id=b""),
                             distid=None)


def test_openssl_reads_our_public_key(tmp_path: Path) -> None:
    spki = sm2.generate_signer(backend="gmssl").public_key_info()
    (tmp_path / "ours.pem").write_bytes(pem.armor("PUBLIC KEY", spki.dump()))
    text = _openssl("pkey", "-pubin", "-in", tmp_path / "ours.pem", "-noout", "-text").stdout
    assert "ASN1 OID: SM2" in text
    _openssl("pkey", "-pubin", "-in", tmp_path / "ours.pem", "-outform", "DER",
             "-out", tmp_path / "again.der")
    assert (tmp_path / "again.der").read_bytes() == spki.dump()


def test_openssl_public_key_loads_and_validates(openssl_key: tuple[Path, Path]) -> None:
    spki = keys.PublicKeyInfo.load(_der_of(openssl_key[1]))
    assert spki["algorithm"]["algorithm"].dotted == "1.2.840.10045.2.1"  # id-ecPublicKey
    assert spki["algorithm"]["parameters"].chosen.dotted == SM2_CURVE_OID
    assert spki["public_key"].native[0] == 0x04
    sm2.validate_public_key_info(spki)
    assert keys.PublicKeyInfo.load(spki.dump()).dump() == _der_of(openssl_key[1])


def test_openssl_signatures_verify_with_us(openssl_key: tuple[Path, Path], tmp_path: Path) -> None:
    key, pub = openssl_key
    spki = keys.PublicKeyInfo.load(_der_of(pub))
    (tmp_path / "msg").write_bytes(MESSAGE)
    for _ in range(3):
        _openssl("dgst", "-sm3", "-sign", key, "-sigopt", DISTID, "-out", tmp_path / "sig",
                 tmp_path / "msg")
        signature = (tmp_path / "sig").read_bytes()
        assert sm2.verify_spki(spki, MESSAGE, signature, DEFAULT_SM2_ID)
        assert not sm2.verify_spki(spki, MESSAGE, signature, b"")
        assert not sm2.verify_spki(spki, MESSAGE[1:], signature, DEFAULT_SM2_ID)
    # Without -sigopt, OpenSSL 3 hashes an empty signer ID into Z.
    _openssl("dgst", "-sm3", "-sign", key, "-out", tmp_path / "sig", tmp_path / "msg")
    signature = (tmp_path / "sig").read_bytes()
    assert sm2.verify_spki(spki, MESSAGE, signature, b"")
    assert not sm2.verify_spki(spki, MESSAGE, signature, DEFAULT_SM2_ID)


def test_openssl_private_key_signs_with_us(backend: str, openssl_key: tuple[Path, Path],
                                           tmp_path: Path) -> None:
    """Our signer on OpenSSL's scalar derives OpenSSL's public key, and OpenSSL verifies it."""
    key, pub = openssl_key
    private = keys.PrivateKeyInfo.load(_der_of(key))
    assert private["private_key_algorithm"]["parameters"].chosen.dotted == SM2_CURVE_OID
    scalar = private["private_key"].parsed["private_key"].native
    signer = sm2.Sm2Signer.from_private_bytes(scalar.to_bytes(32, "big"), backend=backend)
    assert signer.public_key_info().dump() == _der_of(pub)
    (tmp_path / "msg").write_bytes(MESSAGE)
    (tmp_path / "sig").write_bytes(signer.sign(MESSAGE))
    _openssl("dgst", "-sm3", "-verify", pub, "-sigopt", DISTID, "-signature", tmp_path / "sig",
             tmp_path / "msg")


@pytest.mark.parametrize(("options", "verifying_id"), [
    (["-sm3", "-sigopt", DISTID], DEFAULT_SM2_ID),
    (["-sm3"], b""),
    ([], b""),
])
def test_openssl_csr(openssl_key: tuple[Path, Path], tmp_path: Path, options: list[str],
                     verifying_id: bytes) -> None:
    """An OpenSSL CSR verifies with the default ID only if made with -sigopt distid:..."""
    key, _ = openssl_key
    _openssl("req", "-new", "-key", key, *options, "-subj", "/CN=x", "-out", tmp_path / "req.pem")
    request = csr.CertificationRequest.load(_der_of(tmp_path / "req.pem"))
    assert request["signature_algorithm"]["algorithm"].dotted == SM3_WITH_SM2_OID
    assert request["signature_algorithm"]["parameters"].native is None
    info = request["certification_request_info"]
    spki, message, signature = info["subject_pk_info"], info.dump(), request["signature"].native
    sm2.validate_public_key_info(spki)
    other_id = b"" if verifying_id else DEFAULT_SM2_ID
    assert sm2.verify_spki(spki, message, signature, verifying_id)
    assert not sm2.verify_spki(spki, message, signature, other_id)


def test_openssl_verifies_our_csr(backend: str, tmp_path: Path) -> None:
    signer = sm2.generate_signer(backend=backend)
    info = csr.CertificationRequestInfo({
        "version": "v1",
        "subject": csr.Name.build({"common_name": "sm2 test"}),
        "subject_pk_info": signer.public_key_info(),
        "attributes": [],
    })
    request = csr.CertificationRequest({
        "certification_request_info": info,
        "signature_algorithm": signer.signature_algorithm(),
        "signature": signer.sign(info.dump()),
    })
    (tmp_path / "req.pem").write_bytes(pem.armor("CERTIFICATE REQUEST", request.dump()))
    result = _openssl("req", "-in", tmp_path / "req.pem", "-verify", "-noout",
                      "-vfyopt", DISTID)
    assert "verify OK" in result.stdout + result.stderr
    without_id = _openssl("req", "-in", tmp_path / "req.pem", "-verify", "-noout", check=False)
    assert "verify OK" not in without_id.stdout + without_id.stderr  # OpenSSL assumes ID ""
