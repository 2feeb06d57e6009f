"""``certledger audit export --files DIR``: what an auditor needs beside the log.

Written for people and their tools (openssl), all of it also in the log or signed:

- ``crls/<ca>/<number>.crl``: every CRL the CA published, DER, as it was served;
- ``certificates/<ca>.pem``: the CA certificates; ``certificates/ocsp-<ca>-<serial>.pem``
  every OCSP responder certificate; ``certificates/audit-signer-<serial>.pem`` every
  audit signer certificate;
- ``tree-heads/<number>.json``: every signed tree head (ca/audit/head_files.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from api.bootstrap import CertLedger
from api.views import pem
from ca.audit.head_files import write_head
from domain.audit import AuditSigner, TreeHead
from domain.authority import CertificateAuthority
from domain.responder import OcspResponder

__all__ = ["write_files"]

_TOPICS = [CertificateAuthority.Established.TOPIC, OcspResponder.Certified.TOPIC,
           OcspResponder.Rotated.TOPIC, AuditSigner.Certified.TOPIC, AuditSigner.Rotated.TOPIC,
           TreeHead.Signed.TOPIC]


def write_files(ledger: CertLedger, directory: Path) -> Iterator[str]:
    """Write the files; a line for each kind written."""
    certificates, heads = directory / "certificates", directory / "tree-heads"
    certificates.mkdir(parents=True, exist_ok=True)
    responders: dict[object, str] = {}
    counts = {"CA": 0, "responder": 0, "audit signer": 0, "tree head": 0}
    read = ledger.read
    for position, event in ledger.log.read(topics=_TOPICS):
        if isinstance(event, CertificateAuthority.Established):
            (certificates / f"{event.name}.pem").write_text(pem(event.certificate_der))
            counts["CA"] += 1
        elif isinstance(event, OcspResponder.Certified | OcspResponder.Rotated):
            issuer = responders.setdefault(event.originator_id, getattr(event, "issuer", "?"))
            (certificates / f"ocsp-{issuer}-{event.serial_number:x}.pem").write_text(
                pem(event.certificate_der))
            counts["responder"] += 1
        elif isinstance(event, AuditSigner.Certified | AuditSigner.Rotated):
            (certificates / f"audit-signer-{event.serial_number:x}.pem").write_text(
                pem(event.certificate_der))
            counts["audit signer"] += 1
        elif isinstance(event, TreeHead.Signed):
            head = read.tree_heads.get(event.number)
            if head is not None:
                write_head(heads, read.tree_heads.as_signed(head, position))
                counts["tree head"] += 1
    crls = 0
    for issuer in read.crls.authorities():
        folder = directory / "crls" / issuer
        folder.mkdir(parents=True, exist_ok=True)
        for number in read.crls.archived_numbers(issuer):
            der = read.crls.archived(issuer, number)
            if der is not None:
                (folder / f"{number}.crl").write_bytes(der)
                crls += 1
    yield f"{crls} CRLs written to {directory / 'crls'}"
    yield ", ".join(f"{count} {kind} certificates" for kind, count in counts.items()
                    if kind != "tree head") + f" written to {certificates}"
    yield f"{counts['tree head']} tree heads written to {heads}"
