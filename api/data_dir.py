"""The data directory is the CA user's alone: 0700, and 0600 for what is in it.

It holds the SQLite event log and read models (personal data of subscribers), their
``-wal``/``-shm`` files, the sealed keys and the demo passphrase. The CLI runs with
umask 077, so what it (and the gunicorn and OCSP workers it starts) makes is private;
:func:`secure_data_dir` tightens what an earlier release or another tool left open.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["secure_data_dir"]

log = logging.getLogger("certledger.data_dir")
_STORES = ("events.sqlite3", "readmodels.sqlite3")


def secure_data_dir(data_dir: Path) -> list[Path]:
    """Take group and other permissions off ``data_dir`` and the CA's files in it (the
    stores, the key store, the demo passphrase; nothing else, in case the directory is
    shared), if this user owns them. The paths changed, each logged."""
    if not data_dir.is_dir():
        return []
    changed = []
    for path in [data_dir, *sorted(data_dir.iterdir()), *_keys(data_dir)]:
        if path != data_dir and not _ours(path.name):
            continue
        try:
            status = path.lstat()
        except FileNotFoundError:  # a -wal/-shm file gone meanwhile
            continue
        if stat.S_ISLNK(status.st_mode) or status.st_uid != os.geteuid():
            continue
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
            changed.append(path)
            log.warning("%s was mode %04o: now %04o", path, mode, mode & 0o700)
    return changed


def _ours(name: str) -> bool:
    return name.startswith(_STORES) or name in ("keys", "key-passphrase") \
        or name.endswith((".key.json", ".secret.json"))


def _keys(data_dir: Path) -> list[Path]:
    keys = data_dir / "keys"
    return sorted(keys.iterdir()) if keys.is_dir() and not keys.is_symlink() else []
