"""Checking a signed tree head: its signature, and its signer's certificate chain.

A head's signature must verify with the key of the signer certificate it names; that
certificate must be an audit signer's (extendedKeyUsage
:data:`ca.audit.signed_heads.AUDIT_SIGNING_OID` alone, keyUsage digitalSignature, no CA),
valid when the head was signed, and issued by a CA of the log (never by the root
itself) that chains, signature by signature, up to the root an auditor trusts.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import algos, x509

from ca.audit.signed_heads import AUDIT_SIGNING_OID, SignedHead
from ca.encoding.signers import SignatureError, verify_signature

__all__ = ["HeadError", "check_head_signature", "check_chain"]


class HeadError(Exception):
    """A tree head, its signature or its signer's certificate does not check out."""


def check_head_signature(head: SignedHead) -> x509.Certificate:
    """The head's signature checks with its signer certificate's key (HeadError if not);
    returns that certificate."""
    try:
        certificate = x509.Certificate.load(head.signer_certificate)
        algorithm = algos.SignedDigestAlgorithm.load(head.signature_algorithm)
        verify_signature(certificate.public_key, algorithm, head.signature, head.data())
    except SignatureError as exc:
        raise HeadError(f"{head.summary()}: the signature does not verify ({exc})") from None
    except (ValueError, TypeError) as exc:
        raise HeadError(f"{head.summary()}: unreadable signer certificate or algorithm "
                        f"({exc})") from None
    return certificate


def check_chain(signer: x509.Certificate, authorities: list[x509.Certificate],
                root: x509.Certificate, at: datetime) -> None:
    """``signer`` is an audit signing certificate valid at ``at``, issued by one of
    ``authorities`` (the CAs the log established), which chains up to ``root``; every
    signature checked (HeadError otherwise)."""
    _check_usage(signer)
    certificate, seen = signer, 0
    while True:
        _check_valid(certificate, at)
        if certificate.dump() == root.dump():
            if certificate is signer:
                raise HeadError("the trusted root certificate signs no tree head itself")
            return
        issuer = _issuer_of(certificate, [root, *authorities])
        if issuer is None:
            raise HeadError(f"no CA in the log or the trusted root issued "
                            f"{certificate.subject.human_friendly!r}")
        if not issuer.ca:
            raise HeadError(f"{issuer.subject.human_friendly!r} is not a CA")
        if issuer.dump() == certificate.dump():  # self-signed, and not the trusted root
            raise HeadError(f"{certificate.subject.human_friendly!r} is a root the auditor "
                            "does not trust")
        if certificate is signer and issuer.dump() == root.dump():
            raise HeadError("the audit signer is certified by the root: a root issues CA "
                            "certificates only")
        certificate, seen = issuer, seen + 1
        if seen > 8:
            raise HeadError("the certificate chain is too long")


def _check_usage(signer: x509.Certificate) -> None:
    usages = signer.extended_key_usage_value
    purposes = [purpose.dotted for purpose in usages] if usages is not None else []
    if purposes != [AUDIT_SIGNING_OID]:
        raise HeadError("the signer certificate is not an audit signer's (its only extended "
                        f"key usage must be {AUDIT_SIGNING_OID}, id-kp-timeStamping)")
    key_usage = signer.key_usage_value
    if key_usage is None or "digital_signature" not in key_usage.native or signer.ca:
        raise HeadError("the signer certificate is not an end-entity signing certificate")


def _check_valid(certificate: x509.Certificate, at: datetime) -> None:
    validity = certificate["tbs_certificate"]["validity"]
    if not validity["not_before"].native <= at <= validity["not_after"].native:
        raise HeadError(f"{certificate.subject.human_friendly!r} was not valid at "
                        f"{at.isoformat()}")


def _issuer_of(certificate: x509.Certificate,
               candidates: list[x509.Certificate]) -> x509.Certificate | None:
    """The candidate whose key verifies ``certificate``'s signature and whose subject is
    its issuer."""
    tbs = certificate["tbs_certificate"]
    for candidate in candidates:
        if candidate.subject != certificate.issuer:
            continue
        try:
            verify_signature(candidate.public_key, certificate["signature_algorithm"],
                             certificate["signature_value"].native, tbs.dump())
        except SignatureError:
            continue
        return candidate
    return None
