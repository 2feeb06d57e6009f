"""Signed tree heads as files, for an operator to ship to write-once storage.

One file per head, ``<number, 10 digits>.json``, never rewritten::

    {"number": 7, "tree_size": 7012, "last_position": 7012, "position": 7015,
     "timestamp": "2026-05-01T08:00:00.123456+00:00", "root_hash": "<hex>",
     "frontier": "<base64>", "signature": "<base64>", "signature_algorithm": "<base64 DER>",
     "signer_certificate": "<base64 DER>"}

``position`` is where the head's own event is in the log. A copy of these files kept
out of the CA's reach is what shows that a head was dropped from the log: the log can
lose its latest head without any later head noticing (docs/audit.md, "the window").
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path

from ca.audit.signed_heads import SignedHead

__all__ = ["write_head", "read_heads", "latest_number", "head_to_json", "head_from_json"]

_SUFFIX = ".json"


def _name(number: int) -> str:
    return f"{number:010d}{_SUFFIX}"


def head_to_json(head: SignedHead) -> dict[str, object]:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return {"number": head.number, "tree_size": head.tree_size,
            "last_position": head.last_position, "position": head.position,
            "timestamp": head.timestamp.isoformat(), "root_hash": head.root_hash.hex(),
            "frontier": b64(head.frontier), "signature": b64(head.signature),
            "signature_algorithm": b64(head.signature_algorithm),
            "signer_certificate": b64(head.signer_certificate)}


def head_from_json(data: dict[str, object]) -> SignedHead:
    """ValueError when it is not a head file's content."""
    try:
        def raw(key: str) -> bytes:
            return base64.b64decode(str(data[key]), validate=True)

        return SignedHead(
            number=int(str(data["number"])), tree_size=int(str(data["tree_size"])),
            last_position=int(str(data["last_position"])),
            root_hash=bytes.fromhex(str(data["root_hash"])),
            timestamp=datetime.fromisoformat(str(data["timestamp"])),
            signature=raw("signature"), signature_algorithm=raw("signature_algorithm"),
            signer_certificate=raw("signer_certificate"), frontier=raw("frontier"),
            position=int(str(data["position"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a tree head ({exc})") from None


def write_head(directory: Path, head: SignedHead) -> bool:
    """Write the head's file unless it exists; True when written now."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / _name(head.number)
    if path.exists():
        return False
    partial = directory / f".{_name(head.number)}.{os.getpid()}.partial"
    partial.write_text(json.dumps(head_to_json(head), indent=1) + "\n")
    try:
        os.link(partial, path)  # fails if another process wrote it meanwhile: never replaced
    except FileExistsError:
        return False
    finally:
        partial.unlink()
    return True


def read_heads(directory: Path) -> list[SignedHead]:
    """Every head file in ``directory``, by number (ValueError names a bad file)."""
    heads = []
    for path in sorted(directory.glob(f"*{_SUFFIX}")):
        try:
            heads.append(head_from_json(json.loads(path.read_text())))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return heads


def latest_number(directory: Path) -> int:
    names = sorted(path.stem for path in directory.glob(f"*{_SUFFIX}") if path.stem.isdigit())
    return int(names[-1]) if names else 0
