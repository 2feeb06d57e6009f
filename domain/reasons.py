"""Revocation reasons: RFC 5280 §5.3.1 CRLReason.

Value 7 is unused in the RFC; removeFromCRL (8) is only for delta CRLs and
is never a reason a person gives, so :meth:`RevocationReason.parse` refuses it.
"""

from __future__ import annotations

import enum

__all__ = ["RevocationReason"]


class RevocationReason(enum.IntEnum):
    UNSPECIFIED = 0
    KEY_COMPROMISE = 1
    CA_COMPROMISE = 2
    AFFILIATION_CHANGED = 3
    SUPERSEDED = 4
    CESSATION_OF_OPERATION = 5
    CERTIFICATE_HOLD = 6
    REMOVE_FROM_CRL = 8
    PRIVILEGE_WITHDRAWN = 9
    AA_COMPROMISE = 10

    @property
    def rfc_name(self) -> str:
        """The camelCase name RFC 5280 and OpenSSL use (``keyCompromise``)."""
        if self is RevocationReason.REMOVE_FROM_CRL:
            return "removeFromCRL"
        if self in (RevocationReason.CA_COMPROMISE, RevocationReason.AA_COMPROMISE):
            return f"{self.name[0].lower()}{self.name[1]}Compromise"  # cACompromise, aACompromise
        head, *rest = self.name.lower().split("_")
        return head + "".join(part.capitalize() for part in rest)

    @classmethod
    def parse(cls, text: str | int) -> RevocationReason:
        """A reason a person may give: its RFC name, snake_case name or code.

        certificateHold is given through *suspend*, removeFromCRL never.
        """
        if isinstance(text, int) and not isinstance(text, bool):
            try:
                reason = cls(text)
            except ValueError:
                raise ValueError(f"unknown revocation reason code {text}") from None
        else:
            key = str(text).replace("_", "").replace("-", "").lower()
            by_key = {r.name.replace("_", "").lower(): r for r in cls}
            if key not in by_key:
                names = ", ".join(r.rfc_name for r in cls if r.value not in (6, 8))
                raise ValueError(f"unknown revocation reason {text!r}; use one of {names}")
            reason = by_key[key]
        if reason in (cls.CERTIFICATE_HOLD, cls.REMOVE_FROM_CRL):
            raise ValueError(f"{reason.rfc_name} is not a revocation reason here"
                             " (use suspend for certificateHold)")
        if reason is cls.AA_COMPROMISE:
            raise ValueError("aACompromise applies to attribute certificates only")
        return reason
