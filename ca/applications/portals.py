"""RA portals (tenants): create, read, list; which portal a new record belongs to.

A portal's id derives from its code, so a code is created once (409 ``portal_exists``).
The default portal (data from before portals) exists without an event. What is outside
an actor's scope is reported exactly as what does not exist (404), so ids do not leak.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.persistence import IntegrityError

from ca.applications.event_log import EventLog
from ca.applications.ports import Clock
from domain.actors import DEFAULT_PORTAL, Actor
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.portals import Portal, check_portal_code

__all__ = ["Portals", "PortalInfo", "portal_not_found"]

@dataclass(frozen=True)
class PortalInfo:
    code: str
    name: str
    created: datetime | None  # None: the default portal, which no event made
    created_by: str | None


_DEFAULT = PortalInfo(DEFAULT_PORTAL, "Default portal (data from before portals)", None, None)


def portal_not_found(code: str) -> NotFound:
    return NotFound(f"no portal {code[:80]!r}", code="portal_not_found")


class Portals:
    def __init__(self, log: EventLog, clock: Clock) -> None:
        self._log = log
        self._clock = clock

    def create(self, actor: Actor, *, code: str, name: str) -> PortalInfo:
        """A new portal; its id derives from its code, so a code is taken once."""
        portal = Portal.create(actor=actor, at=self._clock(), code=code, name=name)
        try:
            self._log.save(portal)
        except IntegrityError:
            raise Conflict(f"portal {code!r} exists already", code="portal_exists") from None
        return _info(portal)

    def get(self, code: str) -> PortalInfo:
        if code == DEFAULT_PORTAL:
            return _DEFAULT
        try:
            check_portal_code(code)
        except InvalidRequest:
            raise portal_not_found(code) from None
        portal = self._log.load(Portal.create_id(code), Portal)
        if portal is None:
            raise portal_not_found(code)
        return _info(portal)

    def check_exist(self, codes: Iterable[str]) -> None:
        """NotFound for the first of ``codes`` that is no portal."""
        for code in codes:
            self.get(code)

    def list(self) -> list[PortalInfo]:
        """Every portal, the default first, then in the order of creation."""
        return [_DEFAULT] + [
            PortalInfo(event.code, event.name, event.timestamp, event.actor_id)
            for _, event in self._log.read(topics=[Portal.Created.TOPIC])]

    def resolve(self, actor: Actor, requested: object | None) -> str:
        """The portal a record ``actor`` creates belongs to: the actor's own portal if it
        sees one (a portal token's is never taken from the request), else ``requested``
        (within the actor's scope), else the default portal for those who see every
        portal. A portal outside the scope is reported as not existing."""
        if requested is not None and not isinstance(requested, str):
            raise InvalidRequest("portal must be a portal code", code="bad_portal_code")
        home = actor.home_portal
        if home is not None:
            if requested is not None and requested != home:
                raise portal_not_found(requested)
            return home
        if requested is None:
            if actor.portals is not None:
                raise InvalidRequest("you act for several portals: say which one (portal)",
                                     code="portal_required")
            return DEFAULT_PORTAL
        if not actor.sees(requested):
            raise portal_not_found(requested)
        return self.get(requested).code


def _info(portal: Portal) -> PortalInfo:
    return PortalInfo(portal.code, portal.name, portal.created_on, portal.created_by)
