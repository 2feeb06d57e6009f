"""Proof documents an auditor checks without the log: inclusion and consistency.

An **inclusion proof** (``certledger audit prove --serial S``) shows that each event of
one certificate is in the log, at its position, under a signed tree head::

    {"format": "certledger-inclusion-proof-v1",
     "tree_head": {…a head file's fields, ca/audit/head_files.py…},
     "authorities": ["<base64 DER of each CA certificate in the log>", …],
     "events": [{"position": 17, "leaf_index": 16, "aggregate_id": "…", "version": 1,
                 "topic": "…", "state": "<base64>", "proof": ["<hex>", …]}, …],
     "not_covered": [positions of the certificate's events the head does not cover yet]}

A **consistency proof** (``prove --from-head N``) shows a later head extends an earlier
one (RFC 9162 §2.1.4)::

    {"format": "certledger-consistency-proof-v1", "first": {…head…}, "second": {…head…},
     "authorities": […], "proof": ["<hex>", …]}

:func:`verify_proof` checks either: the heads' signatures and signer chains up to the
trusted root, each event's leaf hash from its stored fields, each proof against the root.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from asn1crypto import x509

from ca.audit.head_checks import HeadError, check_chain, check_head_signature
from ca.audit.head_files import head_from_json
from ca.audit.merkle import verify_consistency, verify_inclusion
from ca.audit.records import stored_leaf_hash
from ca.audit.signed_heads import SignedHead

__all__ = ["INCLUSION", "CONSISTENCY", "ProofReport", "verify_proof"]

INCLUSION = "certledger-inclusion-proof-v1"
CONSISTENCY = "certledger-consistency-proof-v1"


@dataclass
class ProofReport:
    kind: str = ""
    heads: list[SignedHead] = field(default_factory=list)
    proven: list[int] = field(default_factory=list)  # positions of events proven included
    problems: list[str] = field(default_factory=list)
    not_covered: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and (self.kind == CONSISTENCY or bool(self.proven))


def verify_proof(document: Any, trust: x509.Certificate) -> ProofReport:
    report = ProofReport()
    try:
        report.kind = document["format"]
        authorities = [x509.Certificate.load(base64.b64decode(der, validate=True))
                       for der in document.get("authorities", [])]
        if report.kind == INCLUSION:
            head = _head(document["tree_head"], authorities, trust, report)
            for item in document["events"]:
                _check_event(item, head, report)
            report.not_covered = [int(p) for p in document.get("not_covered", [])]
        elif report.kind == CONSISTENCY:
            first = _head(document["first"], authorities, trust, report)
            second = _head(document["second"], authorities, trust, report)
            proof = [bytes.fromhex(h) for h in document["proof"]]
            if not verify_consistency(first.tree_size, second.tree_size, proof,
                                      first.root_hash, second.root_hash):
                report.problems.append(f"{second.summary()} does not extend "
                                       f"{first.summary()}")
        else:
            report.problems.append(f"unknown proof format {report.kind!r}")
    except (KeyError, TypeError, ValueError) as exc:
        report.problems.append(f"not a proof document ({type(exc).__name__}: {exc})")
    return report


def _head(data: Any, authorities: list[x509.Certificate], trust: x509.Certificate,
          report: ProofReport) -> SignedHead:
    head = head_from_json(data)
    report.heads.append(head)
    try:
        signer = check_head_signature(head)
        check_chain(signer, authorities, trust, head.timestamp)
    except HeadError as exc:
        report.problems.append(str(exc))
    return head


def _check_event(item: Any, head: SignedHead, report: ProofReport) -> None:
    position, index = int(item["position"]), int(item["leaf_index"])
    leaf = stored_leaf_hash(position, UUID(item["aggregate_id"]), int(item["version"]),
                            str(item["topic"]), base64.b64decode(item["state"], validate=True))
    proof = [bytes.fromhex(h) for h in item["proof"]]
    if verify_inclusion(leaf, index, head.tree_size, proof, head.root_hash):
        report.proven.append(position)
    else:
        report.problems.append(f"the event at position {position} is not proven in "
                               f"{head.summary()}")
