"""The Account aggregate: an applicant's account with one RA portal (seeds 000, 003, 004).

Three kinds: enterprise (企业), personal (个人) and competent department (主管部门). The
username is case-insensitive and stored upper-case; it is unique within the portal, the
event-sourced way: a :class:`~domain.claims.UsernameClaim` whose id derives from the
portal and the username is saved with ``Registered``, so a taken name cannot be saved.

Real-name verification (实名认证) of a person and of an enterprise (its business licence
number, the unified social credit code) are events naming who verified, when, how, and
the SHA-256 of the evidence. The handler (经办人) has a name, a mobile number and a
resident identity card number that is never recorded: events carry its HMAC under a
server key (``id_number_hmac``, with the key's reference), so it can be matched later
and read by nobody. Setting what is already set records nothing.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.errors import IllegalTransition, InvalidRequest
from domain.events import ActorCreated, ActorEvent, who
from domain.identity import check_credit_code, check_mobile, check_phone, check_username
from domain.portals import check_display_name, check_portal_code
from domain.topics import stable_topics

__all__ = ["Account", "AccountKind", "VerificationTarget", "Verification", "check_contacts",
           "check_evidence_digest", "CONTACT_FIELDS"]

CONTACT_FIELDS = ("contact_name", "phone", "email", "address")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")
_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")


class AccountKind(enum.StrEnum):
    ENTERPRISE = "enterprise"                       # 企业
    PERSONAL = "personal"                           # 个人
    COMPETENT_DEPARTMENT = "competent-department"   # 主管部门

    @classmethod
    def parse(cls, value: object) -> AccountKind:
        try:
            return cls(value if isinstance(value, str) else "")
        except ValueError:
            raise InvalidRequest("kind is one of " + ", ".join(k.value for k in cls),
                                 code="bad_account_kind") from None

    @property
    def organisation(self) -> bool:
        return self is not AccountKind.PERSONAL


class VerificationTarget(enum.StrEnum):
    PERSON = "person"          # a natural person: name and identity card number
    ENTERPRISE = "enterprise"  # an organisation: name and unified social credit code


@dataclass(frozen=True)
class Verification:
    """What the aggregate remembers of a real-name verification."""

    name: str
    number: str           # the credit code, or the HMAC of the identity card number
    method: str
    evidence_sha256: str
    verified_by: str
    verified_at: datetime


def check_contacts(data: Any, *, phone_required: bool = True) -> dict[str, str | None]:
    """Contacts as recorded: contact_name, phone (a mobile or fixed line), email, address."""
    if not isinstance(data, dict):
        raise InvalidRequest("contacts must be an object", code="bad_contacts")
    unknown = sorted(set(data) - set(CONTACT_FIELDS))
    if unknown:
        raise InvalidRequest(f"unknown contact fields: {', '.join(map(str, unknown))[:200]} "
                             f"(use {', '.join(CONTACT_FIELDS)})", code="bad_contacts")
    contacts: dict[str, str | None] = dict.fromkeys(CONTACT_FIELDS)
    if data.get("contact_name") is not None:
        contacts["contact_name"] = check_display_name(data["contact_name"], "contact_name", 100)
    if data.get("phone") is not None or phone_required:
        contacts["phone"] = check_phone(data.get("phone"), "contacts.phone")
    if data.get("email") is not None:
        email = data["email"]
        if not isinstance(email, str) or len(email) > 254 or not _EMAIL.match(email):
            raise InvalidRequest("contacts.email must be an e-mail address", code="bad_email")
        contacts["email"] = email
    if data.get("address") is not None:
        contacts["address"] = check_display_name(data["address"], "contacts.address", 500)
    return contacts


def check_evidence_digest(value: object) -> str:
    text = value.lower() if isinstance(value, str) else ""
    if not _SHA256.match(text):
        raise InvalidRequest("evidence_sha256 must be the SHA-256 of the evidence: 64 hex "
                             "digits", code="bad_evidence_digest")
    return text


@stable_topics("certledger:Account")
class Account(Aggregate, created_event_name="Registered"):

    class Registered(ActorCreated):
        TOPIC = "certledger:Account.Registered:v1"
        portal: str
        kind: str
        username: str                 # upper-case
        name: str                     # the person's, or the organisation's name
        licence_number: str | None    # organisations: the unified social credit code
        contacts: dict[str, str | None]

    class ContactsUpdated(ActorEvent):
        TOPIC = "certledger:Account.ContactsUpdated:v1"
        contacts: dict[str, str | None]

        def apply(self, aggregate: Account) -> None:
            aggregate.contacts = dict(self.contacts)

    class HandlerSet(ActorEvent):
        """The handler (经办人); the identity card number only as its HMAC."""

        TOPIC = "certledger:Account.HandlerSet:v1"
        name: str
        phone: str
        id_number_hmac: str   # hex HMAC-SHA256 under the server key ``hmac_key``
        hmac_key: str

        def apply(self, aggregate: Account) -> None:
            aggregate.handler = {"name": self.name, "phone": self.phone,
                                 "id_number_hmac": self.id_number_hmac,
                                 "hmac_key": self.hmac_key}

    class Verified(ActorEvent):
        """A real-name verification: of a person (``number``: the HMAC of the identity
        card number, under ``hmac_key``) or of an enterprise (the credit code)."""

        TOPIC = "certledger:Account.Verified:v1"
        target: str
        name: str
        number: str
        hmac_key: str | None
        method: str
        evidence_sha256: str

        def apply(self, aggregate: Account) -> None:
            aggregate.verifications[VerificationTarget(self.target)] = Verification(
                self.name, self.number, self.method, self.evidence_sha256, self.actor_id,
                self.timestamp)

    def __init__(self, *, actor_id: str, actor_role: str, portal: str, kind: str,
                 username: str, name: str, licence_number: str | None,
                 contacts: dict[str, str | None]) -> None:
        self.portal = portal
        self.kind = AccountKind(kind)
        self.username = username
        self.name = name
        self.licence_number = licence_number
        self.contacts = dict(contacts)
        self.handler: dict[str, str] | None = None
        self.verifications: dict[VerificationTarget, Verification] = {}

    @classmethod
    def register(cls, *, actor: Actor, at: datetime, portal: str, kind: AccountKind,
                 username: str, name: str, licence_number: str | None,
                 contacts: dict[str, str | None], account_id: UUID | None = None) -> Account:
        check_portal_code(portal)
        name = check_display_name(name, "name")
        if kind.organisation:
            if licence_number is not None or kind is AccountKind.ENTERPRISE:
                licence_number = check_credit_code(licence_number)
        elif licence_number is not None:
            raise InvalidRequest("a personal account has no licence number",
                                 code="bad_licence_number")
        return cls._create(cls.Registered, id=account_id, timestamp=at, **who(actor),
                           portal=portal, kind=kind.value, username=check_username(username),
                           name=name, licence_number=licence_number,
                           contacts=check_contacts(contacts))

    def update_contacts(self, actor: Actor, at: datetime,
                        contacts: dict[str, str | None]) -> None:
        contacts = check_contacts(contacts)
        if contacts != self.contacts:
            self.trigger_event(self.ContactsUpdated, timestamp=at, **who(actor),
                               contacts=contacts)

    def set_handler(self, actor: Actor, at: datetime, *, name: str, phone: str,
                    id_number_hmac: str, hmac_key: str) -> None:
        handler = {"name": check_display_name(name, "handler name", 100),
                   "phone": check_mobile(phone, "handler phone"),
                   "id_number_hmac": id_number_hmac, "hmac_key": hmac_key}
        if handler != self.handler:
            self.trigger_event(self.HandlerSet, timestamp=at, **who(actor), **handler)

    def verify(self, actor: Actor, at: datetime, *, target: VerificationTarget, name: str,
               number: str, hmac_key: str | None, method: str, evidence_sha256: str) -> None:
        """Record a real-name verification (the same verification again records nothing)."""
        name = check_display_name(name, "name")
        method = check_display_name(method, "method", 100)
        evidence_sha256 = check_evidence_digest(evidence_sha256)
        if target is VerificationTarget.ENTERPRISE:
            self.check_enterprise(number)
        done = self.verifications.get(target)
        if done is not None and (done.name, done.number, done.evidence_sha256) == \
                (name, number, evidence_sha256):
            return
        self.trigger_event(self.Verified, timestamp=at, **who(actor), target=target.value,
                           name=name, number=number, hmac_key=hmac_key, method=method,
                           evidence_sha256=evidence_sha256)

    def check_enterprise(self, licence_number: str) -> None:
        """An enterprise verification is of an organisation's account, for its licence."""
        if not self.kind.organisation:
            raise IllegalTransition("a personal account has no enterprise to verify",
                                    code="not_an_organisation")
        if self.licence_number is not None and licence_number != self.licence_number:
            raise IllegalTransition("the licence number verified is not the account's",
                                    code="licence_mismatch")
