"""The blob store: documents' bytes in files under the data directory, by SHA-256.

``<data_dir>/blobs/ab/cd/abcd...``: the name is the content's SHA-256, so the same
document stored twice is one file, and a file can be checked against its name. A write
goes to a temporary file renamed into place (atomic); events name blobs, never hold them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["BlobStore"]


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, content: bytes) -> Path:
        """Keep ``content`` (whose SHA-256 the caller checked is ``sha256``)."""
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ValueError("content does not match its name")
        target = self.path(sha256)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except (FileNotFoundError, ValueError):
            return None
