"""Commands on accounts (seeds 000, 003, 004): register, contacts, handler, real-name
verification.

An account belongs to the portal of whoever registers it (``PortalDirectory.resolve``);
an actor sees and acts only on the accounts of its portals, and one outside them is "not
found", as one that does not exist. A username is claimed within its portal by a
``UsernameClaim`` saved with ``Registered``: a taken name fails the save (409).

Identity card numbers are checked (GB 11643), then kept only as an HMAC under a server
key (``ca.keys.hmac_keys``), so :meth:`Accounts.id_number_digest` can match them later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ca.applications.conflicts import retry_on_conflict, save_new
from ca.applications.event_log import EventLog
from ca.applications.ports import Clock, Hmac, PortalDirectory
from domain.accounts import Account, AccountKind, VerificationTarget
from domain.actors import Actor
from domain.claims import UsernameClaim
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.identity import check_credit_code, check_id_number, check_username

__all__ = ["Accounts"]


def _not_found(account_id: UUID | None) -> NotFound:
    return NotFound(f"no account {account_id}", code="account_not_found")


class Accounts:
    def __init__(self, log: EventLog, portals: PortalDirectory, id_numbers: Hmac,
                 clock: Clock) -> None:
        self._log = log
        self._portals = portals
        self._id_numbers = id_numbers
        self._clock = clock

    def register(self, actor: Actor, *, kind: str, username: str, name: str,
                 contacts: Any, licence_number: str | None = None,
                 portal: str | None = None, new_id: UUID | None = None) -> UUID:
        """A new account in the actor's portal (``portal``: for an actor that sees several),
        as ``new_id`` if given (a retried request finds the account it made)."""
        account_kind = AccountKind.parse(kind)
        in_portal = self._portals.resolve(actor, portal)
        upper = check_username(username)

        def make() -> list[Any]:
            account = Account.register(
                actor=actor, at=self._clock(), portal=in_portal, kind=account_kind,
                username=upper, name=name, licence_number=licence_number, contacts=contacts,
                account_id=new_id)
            return [account, UsernameClaim.claim(actor=actor, portal=in_portal,
                                                 username=upper, account_id=account.id)]

        try:
            return save_new(self._log, make, new_id, lambda: self.get_for(actor, new_id))
        except IntegrityError:
            raise Conflict(f"username {upper} is taken in this portal",
                           code="username_taken") from None

    def get(self, account_id: UUID) -> Account:
        """The account, whatever its portal (for the CA itself and for tests)."""
        account = self._log.load(account_id, Account)
        if account is None:
            raise _not_found(account_id)
        return account

    def get_for(self, actor: Actor, account_id: UUID | None) -> Account:
        """The account if ``actor`` may see it; NotFound (as for none) otherwise."""
        account = self._log.load(account_id, Account) if account_id else None
        if account is None or not actor.sees(account.portal):
            raise _not_found(account_id)
        return account

    def update_contacts(self, actor: Actor, account_id: UUID, contacts: Any) -> Account:
        return self._update(actor, account_id,
                            lambda a: a.update_contacts(actor, self._clock(), contacts))

    def set_handler(self, actor: Actor, account_id: UUID, *, name: str, phone: str,
                    id_number: str) -> Account:
        """The handler (经办人); the identity card number is kept as its HMAC only."""
        digest = self.id_number_digest(id_number, "handler id_number")
        return self._update(actor, account_id, lambda a: a.set_handler(
            actor, self._clock(), name=name, phone=phone, id_number_hmac=digest,
            hmac_key=self._id_numbers.key_ref))

    def verify(self, actor: Actor, account_id: UUID, *, target: str, name: str, number: str,
               method: str, evidence_sha256: str) -> Account:
        """Record a real-name verification: of a person (``number``: the identity card
        number, kept as its HMAC) or of an enterprise (the unified social credit code)."""
        try:
            what = VerificationTarget(target)
        except ValueError:
            raise InvalidRequest("target is person or enterprise",
                                 code="bad_verification_target") from None
        if what is VerificationTarget.PERSON:
            recorded, key = self.id_number_digest(number, "number"), self._id_numbers.key_ref
        else:
            recorded, key = check_credit_code(number, "number"), None
        return self._update(actor, account_id, lambda a: a.verify(
            actor, self._clock(), target=what, name=name, number=recorded, hmac_key=key,
            method=method, evidence_sha256=evidence_sha256))

    def id_number_digest(self, id_number: object, what: str = "id_number") -> str:
        """The HMAC (hex) an identity card number is recorded as: to match it later."""
        return self._id_numbers.digest(check_id_number(id_number, what).encode()).hex()

    def _update(self, actor: Actor, account_id: UUID,
                command: Callable[[Account], None]) -> Account:
        def attempt() -> Account:
            account = self.get_for(actor, account_id)
            command(account)
            self._log.save(account)
            return account

        return retry_on_conflict(attempt, what="the account")
