"""The read models a runner follows the log for, in one list.

Each entry is a factory ``(service, database) -> ReadModel`` so a read model may take
what it needs (the OCSP model takes its responders). Add a read model by adding its
factory to ``FACTORIES``; its tables come from a migration in ``migrations/``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.base import ReadModel
from projections.crl import CrlReadModel
from projections.db import ReadModelDatabase
from projections.ocsp import ocsp_read_model

__all__ = ["FACTORIES", "read_models"]

Factory = Callable[[Any, ReadModelDatabase], ReadModel]


def _crl(service: Any, database: ReadModelDatabase) -> ReadModel:
    return CrlReadModel()


FACTORIES: list[Factory] = [_crl, ocsp_read_model]


def read_models(service: Any, database: ReadModelDatabase) -> list[ReadModel]:
    return [factory(service, database) for factory in FACTORIES]
