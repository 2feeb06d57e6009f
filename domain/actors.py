"""Who does things: every event names an actor id and a role.

An actor also has a scope: the RA portals (tenants) whose accounts, applications and
certificates it may see and act on. An applicant portal sees exactly one portal, an
officer the portals its token lists (or every portal), an admin, an auditor and the CA
itself every portal. The scope is not recorded in events (who did it is the id and the
role); it is decided when a token is presented.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Role", "Actor", "SYSTEM", "DEFAULT_PORTAL"]

#: the portal of everything made before portals existed (release 0.1): applicant-portal
#: tokens recorded without a portal, and the applications they made, belong to it
DEFAULT_PORTAL = "default"


class Role(enum.Enum):
    APPLICANT_PORTAL = "applicant-portal"  # an RA portal acting for applicants
    OFFICER = "officer"                    # RA officer / counter staff who review
    ADMIN = "admin"                        # CA operator
    AUDITOR = "auditor"                    # reads the log, changes nothing
    SYSTEM = "system"                      # the CA's own scheduled work

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(text)
        except ValueError:
            choices = ", ".join(r.value for r in cls if r is not cls.SYSTEM)
            raise ValueError(f"unknown role {text!r}; use one of {choices}") from None


@dataclass(frozen=True)
class Actor:
    """``portals``: the portal codes the actor may see; None: every portal. An
    applicant portal without one is of :data:`DEFAULT_PORTAL` (as in release 0.1)."""

    id: str
    role: Role
    portals: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 200:
            raise ValueError("an actor id is 1 to 200 characters")
        if self.portals is not None:
            object.__setattr__(self, "portals", frozenset(self.portals))
        if self.role is Role.APPLICANT_PORTAL:
            if self.portals is None:
                object.__setattr__(self, "portals", frozenset({DEFAULT_PORTAL}))
            elif len(self.portals) != 1:
                raise ValueError("an applicant portal belongs to exactly one portal")
        elif self.role is Role.OFFICER:
            if self.portals is not None and not self.portals:
                raise ValueError("an officer sees at least one portal (or every portal)")
        elif self.portals is not None:
            raise ValueError(f"a {self.role.value} sees every portal")

    def sees(self, portal: str) -> bool:
        """Whether the actor may see and act on what belongs to ``portal``."""
        return self.portals is None or portal in self.portals

    @property
    def home_portal(self) -> str | None:
        """The portal the actor acts in when it sees exactly one (None otherwise)."""
        if self.portals is not None and len(self.portals) == 1:
            return next(iter(self.portals))
        return None


SYSTEM = Actor("certledger", Role.SYSTEM)
