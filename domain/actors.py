"""Who does things: every event names an actor id and a role."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Role", "Actor", "SYSTEM"]


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
    id: str
    role: Role

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 200:
            raise ValueError("an actor id is 1 to 200 characters")


SYSTEM = Actor("certledger", Role.SYSTEM)
