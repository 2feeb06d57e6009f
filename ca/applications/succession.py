"""One valid certificate per account and usage (profile), and who follows whom.

At application: the account must exist in the actor's portal (else "not found"); a
``new`` application for an account and profile that has a valid certificate is a
conflict; a ``renew``, ``change`` or ``reapply`` names its predecessor: issued once, of
the same account and profile, and not followed already.

At issuance (:meth:`Succession.on_issue`, saved with ``Issued``): the predecessor,
still valid, is revoked (superseded, or affiliationChanged for a change) and the
account's usage (``AccountUsage``) names the new certificate, all in one save. A first
certificate while another valid one of the usage exists (two ``new`` applications both
approved) is refused then too.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from ca.applications.event_log import EventLog
from domain.accounts import Account
from domain.actors import Actor
from domain.certificate import ApplicationKind, Certificate
from domain.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from domain.usage import AccountUsage

__all__ = ["Succession", "parse_id"]


def parse_id(value: object, what: str, code: str) -> UUID:
    """An id from the request; one that is not a UUID is "not found" as any unknown."""
    try:
        return UUID(str(value))
    except ValueError:
        raise NotFound(f"no {what} {str(value)[:80]}", code=code) from None


class Succession:
    def __init__(self, log: EventLog) -> None:
        self._log = log

    def account(self, actor: Actor, account_id: str | None, portal: str) -> str | None:
        """The account id as recorded (canonical), if the actor may apply for it."""
        if account_id is None:
            return None
        ident = parse_id(account_id, "account", "account_not_found")
        account = self._log.load(ident, Account)
        if account is None or not actor.sees(account.portal) or account.portal != portal:
            raise NotFound(f"no account {account_id}", code="account_not_found")
        return str(ident)

    def check_application(self, actor: Actor, at: datetime, *, account_id: str | None,
                          profile: str, kind: ApplicationKind,
                          predecessor_id: UUID | None) -> None:
        if kind is ApplicationKind.NEW:
            if predecessor_id is not None:
                raise InvalidRequest("a new application names no predecessor (renew, change "
                                     "or reapply do)", code="unexpected_predecessor")
            current = self.current(account_id, profile)
            if current is not None and current.valid_at(at):
                raise Conflict(f"the account has a valid {profile} certificate "
                               f"({current.id}): renew, change or re-apply instead",
                               code="valid_certificate_exists")
            return
        if predecessor_id is None:
            raise InvalidRequest(f"a {kind.value} application names its predecessor "
                                 "(predecessor_id)", code="predecessor_required")
        predecessor = self._log.load(predecessor_id, Certificate)
        if predecessor is None or not actor.sees(predecessor.portal):
            raise NotFound(f"no certificate or application {predecessor_id}",
                           code="certificate_not_found")
        if predecessor.serial_number is None:
            raise IllegalTransition("the predecessor was never issued",
                                    code="predecessor_not_issued")
        if (predecessor.account_id, predecessor.profile) != (account_id, profile):
            raise IllegalTransition("the predecessor is of another account or profile",
                                    code="predecessor_mismatch")
        if predecessor.superseded_by is not None:
            raise IllegalTransition(f"the predecessor was superseded by "
                                    f"{predecessor.superseded_by}", code="predecessor_superseded")
        current = self.current(account_id, profile)
        if current is not None and current.id != predecessor_id and current.valid_at(at):
            raise IllegalTransition(f"the valid certificate of this usage is {current.id}, "
                                    "not the predecessor named", code="predecessor_superseded")

    def current(self, account_id: str | None, profile: str) -> Certificate | None:
        """The certificate last issued for the account's usage (valid or not)."""
        if account_id is None:
            return None
        usage = self._log.load(AccountUsage.create_id(account_id, profile), AccountUsage)
        if usage is None:
            return None
        return self._log.load(usage.certificate_id, Certificate)

    def check_issue(self, certificate: Certificate, at: datetime) -> AccountUsage | None:
        """Before signing: refuse a second valid certificate of the usage; the usage."""
        if certificate.account_id is None:
            return None
        usage = self._log.load(AccountUsage.create_id(certificate.account_id,
                                                      certificate.profile), AccountUsage)
        current = None if usage is None else self._log.load(usage.certificate_id, Certificate)
        if current is not None and current.id != certificate.predecessor_id \
                and current.id != certificate.id and current.valid_at(at):
            raise IllegalTransition(
                f"the account has a valid {certificate.profile} certificate ({current.id}) "
                "that this application does not follow", code="valid_certificate_exists")
        return usage

    def on_issue(self, actor: Actor, certificate: Certificate, at: datetime,
                 usage: AccountUsage | None) -> list[Aggregate]:
        """What to save with ``certificate``'s Issued: the predecessor revoked, the usage
        (as :meth:`check_issue` found it) moved on, or opened."""
        changed: list[Aggregate] = []
        if certificate.predecessor_id is not None:
            predecessor = self._log.load(certificate.predecessor_id, Certificate)
            if predecessor is not None and predecessor.valid_at(at):
                predecessor.supersede(actor, at, successor_id=certificate.id,
                                      kind=certificate.kind)
                changed.append(predecessor)
        if certificate.account_id is None:
            return changed
        if usage is None:
            usage = AccountUsage.open(actor=actor, at=at, account_id=certificate.account_id,
                                      profile=certificate.profile,
                                      certificate_id=certificate.id)
        else:
            usage.succeed(actor, at, certificate_id=certificate.id,
                          predecessor_id=usage.certificate_id)
        return [*changed, usage]
