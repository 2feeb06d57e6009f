"""The Portal aggregate: an RA portal, a tenant of the CA.

Every applicant-portal token belongs to one portal, every account and application too; a
portal's token sees only what belongs to its portal. The admin creates portals. Its id
derives from its code, so a code is taken once (a second creation is a conflict).

:data:`DEFAULT_PORTAL` is not created by an event: it always exists, and holds what was
made before portals (release 0.1 tokens and applications have no portal).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.actors import DEFAULT_PORTAL, Actor
from domain.errors import Conflict, InvalidRequest
from domain.events import ActorCreated, who
from domain.ids import NAMESPACE
from domain.topics import stable_topics

__all__ = ["Portal", "DEFAULT_PORTAL", "check_portal_code", "check_display_name"]

_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
MAX_NAME_LENGTH = 200


def check_portal_code(code: object) -> str:
    """A portal code: 1 to 63 lower-case letters, digits and hyphens, not starting with a
    hyphen (it appears in URLs, tokens' scopes and the command line)."""
    if not isinstance(code, str) or not _CODE.match(code):
        raise InvalidRequest("a portal code is 1 to 63 characters a-z, 0-9 and '-', "
                             "starting with a letter or digit", code="bad_portal_code")
    return code


# marks, embeddings, overrides and isolates: "Alice\u202egpj.exe" reads "Aliceexe.jpg"
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069")


def check_display_name(name: object, what: str = "name",
                       limit: int = MAX_NAME_LENGTH) -> str:
    """Text people read: 1 to ``limit`` characters, not blank, no control characters."""
    if not isinstance(name, str) or not name.strip() or len(name) > limit:
        raise InvalidRequest(f"{what} is text of 1 to {limit} characters, not blank",
                             code="bad_field")
    if any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in _BIDI_CONTROLS
           for c in name):
        raise InvalidRequest(f"{what} may not hold control characters (bidi controls and "
                             "line separators included)", code="bad_field")
    return name.strip()


@stable_topics("certledger:Portal")
class Portal(Aggregate):

    class Created(ActorCreated):
        TOPIC = "certledger:Portal.Created:v1"
        code: str
        name: str

    def __init__(self, *, actor_id: str, actor_role: str, code: str, name: str) -> None:
        self.code = code
        self.name = name
        self.created_by = actor_id

    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(NAMESPACE, f"portal:{code}")

    @classmethod
    def create(cls, *, actor: Actor, at: datetime, code: str, name: str) -> Portal:
        check_portal_code(code)
        if code == DEFAULT_PORTAL:
            raise Conflict(f"{DEFAULT_PORTAL!r} is the portal of data from before portals; "
                           "it exists already", code="portal_exists")
        return cls._create(cls.Created, timestamp=at, **who(actor), code=code,
                           name=check_display_name(name, "a portal name"))
