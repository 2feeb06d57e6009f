"""Key and signature algorithms the CA supports, with their ASN.1 identifiers.

One place maps a key algorithm to the signature algorithm the CA uses with it,
so certificates, CRLs and OCSP responses agree.
"""

from __future__ import annotations

import enum

from asn1crypto import algos, core

__all__ = [
    "KeyAlgorithm",
    "SM2_CURVE_OID",
    "SM3_WITH_SM2_OID",
    "SM3_OID",
    "DEFAULT_SM2_ID",
    "signature_algorithm_identifier",
]

SM2_CURVE_OID = "1.2.156.10197.1.301"
SM3_WITH_SM2_OID = "1.2.156.10197.1.501"
SM3_OID = "1.2.156.10197.1.401"
DEFAULT_SM2_ID = b"1234567812345678"  # GM/T 0009-2012 default signer ID


class KeyAlgorithm(enum.Enum):
    """Key types a CA or a subscriber may use (DESIGN.md §5)."""

    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"
    ECDSA_P256 = "ecdsa-p256"
    ECDSA_P384 = "ecdsa-p384"
    ED25519 = "ed25519"
    SM2 = "sm2"

    @property
    def is_rsa(self) -> bool:
        return self.value.startswith("rsa-")

    @property
    def is_ecdsa(self) -> bool:
        return self.value.startswith("ecdsa-")

    @property
    def rsa_bits(self) -> int:
        return int(self.value.split("-")[1])

    @property
    def label(self) -> str:
        """How people name it: "ECDSA P-256", "RSA-2048", "Ed25519", "SM2"."""
        if self.is_ecdsa:
            return f"ECDSA P-{self.value.removeprefix('ecdsa-p')}"
        return {"ed25519": "Ed25519", "sm2": "SM2"}.get(self.value, self.value.upper())

    @property
    def hash_name(self) -> str:
        """The digest the CA uses when it signs with a key of this type."""
        if self in (KeyAlgorithm.ECDSA_P384, KeyAlgorithm.RSA_4096):
            return "sha384"
        if self is KeyAlgorithm.SM2:
            return "sm3"
        if self is KeyAlgorithm.ED25519:
            return "none"
        return "sha256"

    @classmethod
    def parse(cls, text: str) -> KeyAlgorithm:
        aliases = {"rsa": "rsa-2048", "ecdsa": "ecdsa-p256", "p256": "ecdsa-p256",
                   "p384": "ecdsa-p384", "ec": "ecdsa-p256"}
        value = aliases.get(text.lower(), text.lower())
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(a.value for a in cls)
            raise ValueError(f"unknown key algorithm {text!r}; choose one of {choices}") from None


def signature_algorithm_identifier(key_algorithm: KeyAlgorithm) -> algos.SignedDigestAlgorithm:
    """The AlgorithmIdentifier a signer of this key type writes into what it signs.

    RSA PKCS#1 v1.5 carries NULL parameters (RFC 4055 §5); ECDSA, Ed25519 and
    SM3withSM2 have parameters absent (RFC 5758 §3.2, RFC 8410 §3, GM/T 0015).
    """
    if key_algorithm.is_rsa:
        name = f"{key_algorithm.hash_name}_rsa"
        return algos.SignedDigestAlgorithm({"algorithm": name, "parameters": core.Null()})
    if key_algorithm.is_ecdsa:
        return algos.SignedDigestAlgorithm({"algorithm": f"{key_algorithm.hash_name}_ecdsa"})
    if key_algorithm is KeyAlgorithm.ED25519:
        return algos.SignedDigestAlgorithm({"algorithm": "ed25519"})
    return algos.SignedDigestAlgorithm({"algorithm": SM3_WITH_SM2_OID})
