from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.bootstrap import key_passphrase
from api.settings import Settings
from ca.encoding.algorithms import KeyAlgorithm
from ca.keys.keystore import KeyStore, KeyStoreError

PASSPHRASE = b"a long enough passphrase"


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.ECDSA_P256, KeyAlgorithm.RSA_2048,
                                       KeyAlgorithm.ED25519, KeyAlgorithm.SM2])
def test_sealed_key_reopens_with_the_passphrase_and_signs_the_same(tmp_path: Path,
                                                                    algorithm: KeyAlgorithm
                                                                    ) -> None:
    key_ref, signer = KeyStore(tmp_path, PASSPHRASE, work_factor=2**10).generate(algorithm, "ca")
    reopened = KeyStore(tmp_path, PASSPHRASE).load(key_ref)
    assert reopened.public_key_info().dump() == signer.public_key_info().dump()
    from ca.encoding.signers import verify_signature

    verify_signature(signer.public_key_info(), signer.signature_algorithm(),
                     reopened.sign(b"message"), b"message")


def test_key_file_holds_no_plaintext_key(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, PASSPHRASE, work_factor=2**10)
    key_ref, signer = store.generate(KeyAlgorithm.ECDSA_P256, "ca")
    secret = signer.private_key_der()  # type: ignore[attr-defined]
    raw = (tmp_path / f"{key_ref}.key.json").read_bytes()
    assert secret not in raw and secret[-32:] not in raw
    assert json.loads(raw)["cipher"] == "aes-256-gcm"
    assert (tmp_path / f"{key_ref}.key.json").stat().st_mode & 0o077 == 0


def test_wrong_passphrase_does_not_open_the_key(tmp_path: Path) -> None:
    key_ref, _ = KeyStore(tmp_path, PASSPHRASE, work_factor=2**10).generate(
        KeyAlgorithm.ECDSA_P256, "ca")
    with pytest.raises(KeyStoreError, match="does not open") as caught:
        KeyStore(tmp_path, b"another long passphrase").load(key_ref)
    assert "passphrase" in str(caught.value) and PASSPHRASE.decode() not in str(caught.value)


def test_a_relabelled_key_file_does_not_open(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, PASSPHRASE, work_factor=2**10)
    key_ref, _ = store.generate(KeyAlgorithm.ECDSA_P256, "ca")
    (tmp_path / f"{key_ref}.key.json").rename(tmp_path / "other-1234.key.json")
    with pytest.raises(KeyStoreError):
        KeyStore(tmp_path, PASSPHRASE).load("other-1234")


def test_passphrase_comes_from_environment_or_file(tmp_path: Path) -> None:
    def passphrase(**environment: str) -> bytes:
        return key_passphrase(Settings.from_env({"CERTLEDGER_DATA_DIR": str(tmp_path / "d"),
                                                 **environment}))

    assert passphrase(CERTLEDGER_KEY_PASSPHRASE="x" * 20) == b"x" * 20
    (tmp_path / "pass").write_text("from a file passphrase\n")
    assert passphrase(CERTLEDGER_KEY_PASSPHRASE_FILE=str(tmp_path / "pass")) \
        == b"from a file passphrase"
    with pytest.raises(KeyStoreError, match="no key passphrase"):
        passphrase()
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "key-passphrase").write_text("the demo passphrase of make serve")
    assert passphrase() == b"the demo passphrase of make serve"
    with pytest.raises(KeyStoreError):
        KeyStore(tmp_path, b"short")
