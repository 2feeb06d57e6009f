"""One signer interface for every algorithm, and one signature verifier.

A :class:`Signer` holds a private key and signs bytes; what it signs (a
TBSCertificate, a TBSCertList, a ResponseData) is none of its business. The CA
code asks a signer three things: its public key, the AlgorithmIdentifier it
signs with, and a signature.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from ca.encoding.algorithms import (
    DEFAULT_SM2_ID,
    SM3_WITH_SM2_OID,
    KeyAlgorithm,
    signature_algorithm_identifier,
)

__all__ = [
    "Signer",
    "SignatureError",
    "CryptographySigner",
    "generate_private_key",
    "key_algorithm_of",
    "verify_signature",
    "DEFAULT_SM2_ID",
]


_HASHES: dict[str, hashes.HashAlgorithm] = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(),
                                             "sha512": hashes.SHA512(), "sha1": hashes.SHA1()}


class SignatureError(Exception):
    """A signature did not verify, or its algorithm is not one we accept."""


@runtime_checkable
class Signer(Protocol):
    """Signs on behalf of one key. Implementations never expose the private key."""

    @property
    def key_algorithm(self) -> KeyAlgorithm: ...

    def public_key_info(self) -> keys.PublicKeyInfo:
        """The SubjectPublicKeyInfo of the key."""
        ...

    def signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        """The AlgorithmIdentifier written next to (and inside) what this signer signs."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The signature value as it goes in the BIT STRING (DER Ecdsa-Sig-Value for EC/SM2)."""
        ...


class CryptographySigner:
    """RSA, ECDSA and Ed25519 keys held by pyca/cryptography."""

    def __init__(self, private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                 | ed25519.Ed25519PrivateKey) -> None:
        self._key = private_key
        self._algorithm = key_algorithm_of(private_key.public_key())
        self._sig_alg = signature_algorithm_identifier(self._algorithm)
        spki = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self._spki = keys.PublicKeyInfo.load(spki)

    @property
    def key_algorithm(self) -> KeyAlgorithm:
        return self._algorithm

    def public_key_info(self) -> keys.PublicKeyInfo:
        return self._spki

    def signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        return self._sig_alg

    def sign(self, message: bytes) -> bytes:
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(message, padding.PKCS1v15(), _HASHES[self._algorithm.hash_name])
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(message, ec.ECDSA(_HASHES[self._algorithm.hash_name]))
        return key.sign(message)

    def private_key_der(self) -> bytes:
        """Unencrypted PKCS#8, for the key store to encrypt. Never log or store it as is."""
        return self._key.private_bytes(serialization.Encoding.DER,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())


def generate_private_key(algorithm: KeyAlgorithm) -> CryptographySigner:
    """A fresh key for the RSA/ECDSA/Ed25519 algorithms (SM2 lives in :mod:`ca.sm2`)."""
    if algorithm.is_rsa:
        return CryptographySigner(rsa.generate_private_key(65537, algorithm.rsa_bits))
    if algorithm is KeyAlgorithm.ECDSA_P256:
        return CryptographySigner(ec.generate_private_key(ec.SECP256R1()))
    if algorithm is KeyAlgorithm.ECDSA_P384:
        return CryptographySigner(ec.generate_private_key(ec.SECP384R1()))
    if algorithm is KeyAlgorithm.ED25519:
        return CryptographySigner(ed25519.Ed25519PrivateKey.generate())
    raise ValueError(f"{algorithm.value} keys are not made by this function")


def key_algorithm_of(public_key: object) -> KeyAlgorithm:
    if isinstance(public_key, rsa.RSAPublicKey):
        for candidate in (KeyAlgorithm.RSA_2048, KeyAlgorithm.RSA_3072, KeyAlgorithm.RSA_4096):
            if public_key.key_size == candidate.rsa_bits:
                return candidate
        raise ValueError(f"RSA key of {public_key.key_size} bits is not supported "
                         "(use 2048, 3072 or 4096)")
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if isinstance(public_key.curve, ec.SECP256R1):
            return KeyAlgorithm.ECDSA_P256
        if isinstance(public_key.curve, ec.SECP384R1):
            return KeyAlgorithm.ECDSA_P384
        raise ValueError(f"EC curve {public_key.curve.name} is not supported (use P-256 or P-384)")
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return KeyAlgorithm.ED25519
    raise ValueError(f"unsupported public key type {type(public_key).__name__}")


def verify_signature(public_key_info: keys.PublicKeyInfo,
                     signature_algorithm: algos.SignedDigestAlgorithm, signature: bytes,
                     message: bytes, *, sm2_ids: tuple[bytes, ...] = (DEFAULT_SM2_ID,),
                     ) -> bytes | None:
    """Check ``signature`` over ``message``; raise :class:`SignatureError` if it does not verify.

    For SM2 the signer ID is part of what is signed; each of ``sm2_ids`` is tried
    in order and the one that verified is returned (None for other algorithms).
    """
    oid = _dotted(signature_algorithm)
    if oid == SM3_WITH_SM2_OID:
        from ca.encoding import sm2  # SM2 lives in its own package (gmssl or a faster backend)

        for signer_id in sm2_ids:
            if sm2.verify_spki(public_key_info, message, signature, signer_id):
                return signer_id
        raise SignatureError("SM2 signature does not verify")
    try:
        name = signature_algorithm.signature_algo
    except ValueError:  # asn1crypto knows no such signature algorithm (e.g. 1.2.3.4.5)
        raise SignatureError(f"signature algorithm {oid} is not accepted") from None
    try:
        public_key = serialization.load_der_public_key(public_key_info.dump())
    except ValueError as exc:
        raise SignatureError(f"public key cannot be loaded: {exc}") from None
    try:
        if name == "rsassa_pkcs1v15" and isinstance(public_key, rsa.RSAPublicKey):
            digest = _HASHES.get(signature_algorithm.hash_algo)
            if digest is None or isinstance(digest, hashes.SHA1):
                raise SignatureError(f"digest {signature_algorithm.hash_algo} is not accepted")
            public_key.verify(signature, message, padding.PKCS1v15(), digest)
        elif name == "ecdsa" and isinstance(public_key, ec.EllipticCurvePublicKey):
            digest = _HASHES.get(signature_algorithm.hash_algo)
            if digest is None or isinstance(digest, hashes.SHA1):
                raise SignatureError(f"digest {signature_algorithm.hash_algo} is not accepted")
            public_key.verify(signature, message, ec.ECDSA(digest))
        elif name == "ed25519" and isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, message)
        else:
            raise SignatureError(f"signature algorithm {oid} does not match the key")
    except InvalidSignature:
        raise SignatureError("signature does not verify") from None
    except ValueError:  # no digest asn1crypto knows for this algorithm
        raise SignatureError(f"signature algorithm {oid} is not accepted") from None
    return None


def _dotted(signature_algorithm: algos.SignedDigestAlgorithm) -> str:
    try:
        return str(signature_algorithm["algorithm"].dotted)
    except (ValueError, TypeError, KeyError):
        return "(unreadable)"
