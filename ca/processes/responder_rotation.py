"""Keeping a delegated OCSP responder for every CA that answers OCSP.

Every ``every`` seconds (and at start), each CA that may delegate OCSP (any CA but a
root) gets a responder certified if it has none, and a new one (a new key) once less
than a third of the current one's life is left. Whether something is due is read from
the log each time, so a crash at any point only delays it to the next run.
"""

from __future__ import annotations

import logging

from ca.applications.hierarchy import Hierarchy
from ca.applications.ports import AuthorityNames
from ca.applications.responders import Responders

__all__ = ["ResponderRotation"]

log = logging.getLogger("certledger.ocsp")


class ResponderRotation:
    name = "ocsp-responders"
    every = 60.0

    def __init__(self, responders: Responders, hierarchy: Hierarchy,
                 authorities: AuthorityNames) -> None:
        self.responders = responders
        self.hierarchy = hierarchy
        self.authorities = authorities

    def run(self) -> list[str]:
        """Certify or rotate what is due; returns the CAs that got a new responder."""
        changed = []
        for issuer in self.authorities.names():
            try:
                if self.hierarchy.authority(issuer).is_root:
                    continue
                if self.responders.needs_work(issuer):
                    credentials = self.responders.certify_or_rotate(issuer)
                    log.info("OCSP responder of %s: serial %x, valid until %s", issuer,
                             credentials.serial_number, credentials.not_after.isoformat())
                    changed.append(issuer)
            except Exception:
                log.exception("OCSP responder of %s not certified; trying again later", issuer)
        return changed
