"""CertLedger's domain: aggregates, events and value objects. Pure Python, no I/O.

Importing the package registers every event topic, so a process that only reads
the log (an auditor's replay) can decode every stored event.
"""

from domain.accounts import Account
from domain.actors import DEFAULT_PORTAL, Actor, Role
from domain.audit import AuditSigner, TreeHead
from domain.authority import CertificateAuthority
from domain.certificate import Certificate, Status
from domain.claims import SerialClaim, UsernameClaim
from domain.errors import Conflict, DomainError, IllegalTransition, InvalidRequest, NotFound
from domain.portals import Portal
from domain.reasons import RevocationReason
from domain.responder import OcspResponder
from domain.tokens import ApiToken

__all__ = ["Actor", "Role", "DEFAULT_PORTAL", "CertificateAuthority", "Certificate", "Status",
           "SerialClaim", "UsernameClaim", "ApiToken", "OcspResponder", "Portal", "Account",
           "AuditSigner", "TreeHead", "RevocationReason", "DomainError", "IllegalTransition",
           "Conflict", "InvalidRequest", "NotFound"]
