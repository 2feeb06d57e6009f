"""The read models a runner follows the log for, in one list.

Add a read model by adding it here; its tables come from a migration in
``migrations/`` (both dialects). A read model takes nothing but events: it may not
sign, write events or call out (tests/unit/test_architecture.py checks its imports).
"""

from __future__ import annotations

from projections.accounts import AccountsReadModel
from projections.audit_tree import AuditTreeModel
from projections.authorities import AuthoritiesReadModel
from projections.base import ReadModel
from projections.certificate_index import CertificateIndexModel
from projections.crl_entries import CrlReadModel
from projections.messages import MessagesModel
from projections.ocsp_status import OcspReadModel
from projections.orders import OrdersReadModel

__all__ = ["read_models"]


def read_models() -> list[ReadModel]:
    return [AuthoritiesReadModel(), CrlReadModel(), OcspReadModel(), AccountsReadModel(),
            OrdersReadModel(), AuditTreeModel(), CertificateIndexModel(), MessagesModel()]
