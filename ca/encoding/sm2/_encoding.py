"""SM3 hashing, the SM2 Z value, and the DER/SPKI encodings SM2 keys and signatures use.

Signature parsing is strict on purpose: exactly ``SEQUENCE { INTEGER r, INTEGER s }``
in DER (definite minimal lengths, minimal positive integers, nothing after it).
"""

from __future__ import annotations

from asn1crypto import keys
from cryptography.hazmat.primitives import hashes

from ca.encoding import der
from ca.encoding.algorithms import SM2_CURVE_OID
from ca.encoding.sm2 import curve

__all__ = [
    "EC_PUBLIC_KEY_OID",
    "sm3",
    "z_value",
    "message_digest",
    "encode_signature",
    "decode_signature",
    "encode_point",
    "public_key_info",
    "point_of",
]

EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"
_CURVE_CONSTANTS = b"".join(v.to_bytes(32, "big")
                            for v in (curve.A, curve.B, curve.GX, curve.GY))
_MAX_ID_BYTES = 0xFFFF // 8  # ENTL is the ID length in bits, in two bytes


def sm3(data: bytes) -> bytes:
    """The SM3 digest of ``data`` (OpenSSL's, through pyca/cryptography)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def z_value(point: tuple[int, int], signer_id: bytes) -> bytes:
    """Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2 §5.5)."""
    if len(signer_id) > _MAX_ID_BYTES:
        raise ValueError(f"SM2 signer ID is {len(signer_id)} bytes; at most {_MAX_ID_BYTES}")
    entl = (8 * len(signer_id)).to_bytes(2, "big")
    return sm3(entl + signer_id + _CURVE_CONSTANTS + encode_point(point)[1:])


def message_digest(z: bytes, message: bytes) -> int:
    """e = SM3(Z || M) as an integer."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(z)
    digest.update(message)
    return int.from_bytes(digest.finalize(), "big")


def encode_signature(r: int, s: int) -> bytes:
    """DER ``SEQUENCE { r INTEGER, s INTEGER }`` for positive r and s."""
    if r <= 0 or s <= 0:
        raise ValueError("SM2 signature components must be positive")
    return der.sequence(der.integer(r), der.integer(s))


def decode_signature(signature: bytes) -> tuple[int, int] | None:
    """(r, s) from a strict DER signature, or None if it is not one. Ranges are not checked."""
    try:
        tag, start, end = der.read_tlv(signature)
        if tag != der.SEQUENCE or end != len(signature):
            return None
        children = list(der.iter_tlvs(signature, start, end))
        if len(children) != 2 or any(child[0] != der.INTEGER for child in children):
            return None
        r, s = (der.decode_integer(signature[begin:stop]) for _, _, begin, stop in children)
    except der.DERError:
        return None
    return (r, s) if r >= 0 and s >= 0 else None


def encode_point(point: tuple[int, int]) -> bytes:
    """Uncompressed SEC 1 encoding 04 || x || y."""
    return b"\x04" + point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


def public_key_info(point: tuple[int, int]) -> keys.PublicKeyInfo:
    """SubjectPublicKeyInfo: id-ecPublicKey, namedCurve sm2p256v1, uncompressed point."""
    algorithm = keys.PublicKeyAlgorithm({
        "algorithm": "ec",
        "parameters": keys.ECDomainParameters(name="named", value=SM2_CURVE_OID),
    })
    return keys.PublicKeyInfo({"algorithm": algorithm, "public_key": encode_point(point)})


def point_of(spki: keys.PublicKeyInfo) -> tuple[int, int]:
    """The affine point of an SM2 SubjectPublicKeyInfo; ValueError saying what is wrong."""
    try:
        algorithm = spki["algorithm"]["algorithm"].dotted
        parameters = spki["algorithm"]["parameters"]
        params_name = parameters.name if parameters.native is not None else None
        curve_oid = parameters.chosen.dotted if params_name == "named" else None
        raw = bytes(spki["public_key"].native)
    except Exception as exc:  # asn1crypto raises several types on malformed input
        raise ValueError(f"SM2 public key cannot be parsed: {exc}") from None
    if algorithm != EC_PUBLIC_KEY_OID:
        raise ValueError(f"SM2 public key must use algorithm id-ecPublicKey ({EC_PUBLIC_KEY_OID}), "
                         f"not {algorithm}")
    if curve_oid is None:
        raise ValueError("SM2 public key must name its curve (namedCurve "
                         f"{SM2_CURVE_OID}); it has {params_name or 'no'} parameters")
    if curve_oid != SM2_CURVE_OID:
        raise ValueError(f"EC public key is on curve {curve_oid}, not SM2 ({SM2_CURVE_OID})")
    if raw == b"\x00":
        raise ValueError("SM2 public key is the point at infinity")
    if len(raw) != 65 or raw[0] != 0x04:
        kind = f"starts with 0x{raw[0]:02x}" if raw else "is empty"
        raise ValueError("SM2 public key point must be uncompressed (04 || x || y, 65 bytes); "
                         f"it is {len(raw)} bytes and {kind}")
    x, y = int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big")
    if not curve.is_on_curve(x, y):
        raise ValueError("SM2 public key point is not on the SM2 curve")
    return x, y
