"""The CertificateAuthority aggregate: one CA (root or issuing), its key and certificate,
and the CRLs it has issued.

Its id derives from its name, so a second ``init`` of the same name is a conflict.

Which certificates a CA may issue is policy recorded on the CA, in its Established event:
the profiles it may issue and the subject key algorithms it may certify. A root CA signs
CA certificates (and its own CRLs) only: never an end-entity certificate, never a
delegated OCSP responder (a root is served by CRL only). A CA established by release 0.1
has no such fields; its policy is derived from what it has (see :meth:`check_may_issue`,
:func:`key_family`).

CRL numbers are allocated by recording :class:`CertificateAuthority.CrlIssued`: the event
is saved at the aggregate's next version, so two publishers racing for one number cannot
both succeed (the loser gets the library's IntegrityError, reloads and takes the next
number). Each event also says what the CRL covered (the event-log position its entries
reflect, their count and SHA-256), so an auditor can replay the log to that position and
prove a CRL was complete.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.errors import IllegalTransition, InvalidRequest
from domain.events import ActorCreated, ActorEvent, who
from domain.ids import NAMESPACE
from domain.topics import stable_topics

__all__ = ["CertificateAuthority", "CrlKind", "CrlRecord", "FULL_CRL", "DELTA_CRL",
           "MAX_CRL_NUMBER", "SM2_KEYS", "INTERNATIONAL_KEYS", "key_family"]

class CrlKind(enum.StrEnum):
    """A full CRL lists every entry; a delta CRL what changed since its base (RFC 5280
    §5.2.4). Stored in events as its text."""

    FULL = "full"
    DELTA = "delta"


FULL_CRL, DELTA_CRL = CrlKind.FULL, CrlKind.DELTA
MAX_CRL_NUMBER = (1 << 159) - 1  # 20 octets, positive (RFC 5280 §5.2.3)

# The two hierarchies a CA belongs to, by its key: a 国密 (SM2) CA certifies SM2 keys, an
# international CA (RSA, ECDSA, Ed25519) certifies international keys.
SM2_KEYS: frozenset[str] = frozenset({"sm2"})
INTERNATIONAL_KEYS: frozenset[str] = frozenset({"rsa-2048", "rsa-3072", "rsa-4096",
                                                "ecdsa-p256", "ecdsa-p384", "ed25519"})


def key_family(key_algorithm: str) -> frozenset[str]:
    """The subject key algorithms a CA with a ``key_algorithm`` key certifies by default."""
    if key_algorithm in SM2_KEYS:
        return SM2_KEYS
    if key_algorithm in INTERNATIONAL_KEYS:
        return INTERNATIONAL_KEYS
    raise ValueError(f"unknown key algorithm {key_algorithm!r}")


@dataclass(frozen=True)
class CrlRecord:
    """What the aggregate remembers of one issued CRL (the events hold the rest)."""

    crl_number: int
    kind: CrlKind
    this_update: datetime
    next_update: datetime
    log_position: int


@stable_topics("certledger:CertificateAuthority")
class CertificateAuthority(Aggregate, created_event_name="Established"):

    class Established(ActorCreated):
        TOPIC = "certledger:CertificateAuthority.Established:v1"
        name: str
        key_algorithm: str
        key_ref: str  # where the key store keeps the (encrypted) private key
        certificate_der: bytes
        parent: str | None  # None for a root
        # Added with defaults, so events stored before them still decode. None: derived
        # (a root issues CA profiles only, any other CA every end-entity profile; keys of
        # the CA's own family, see key_family).
        profiles: list[str] | None = None                # the profiles it may issue
        subject_key_algorithms: list[str] | None = None  # the subject keys it may certify

    class CrlIssued(ActorEvent):
        """A CRL was signed with ``crl_number`` (and is being published).

        ``entries_sha256`` is the SHA-256 (hex) of the CRL's revokedCertificates
        contents: the DER of every entry, concatenated in ascending serial-number order
        (empty input when there are none), exactly as they appear in the signed CRL.
        ``log_position`` is the event-log position whose state the entries reflect.
        A full CRL with ``delta_base`` is the base that later delta CRLs amend
        (their ``base_crl_number``), until the next base.
        """

        TOPIC = "certledger:CertificateAuthority.CrlIssued:v1"
        crl_number: int
        kind: str                     # "full" or "delta"
        base_crl_number: int | None   # delta: the full CRL it amends; full: None
        this_update: datetime
        next_update: datetime
        entry_count: int
        entries_sha256: str
        log_position: int
        delta_base: bool

        def apply(self, aggregate: CertificateAuthority) -> None:
            record = CrlRecord(self.crl_number, CrlKind(self.kind), self.this_update,
                               self.next_update, self.log_position)
            aggregate.last_crl_number = self.crl_number
            aggregate.last_crl_position = self.log_position
            aggregate.crls_issued += 1
            if self.kind == FULL_CRL:
                aggregate.last_full_crl = record
                if self.delta_base:
                    aggregate.crl_base = record
            else:
                aggregate.last_delta_crl = record

    # class-level defaults: a snapshot taken before these attributes existed lacks them
    profiles: list[str] | None = None
    subject_key_algorithms: list[str] | None = None

    def __init__(self, *, actor_id: str, actor_role: str, name: str, key_algorithm: str,
                 key_ref: str, certificate_der: bytes, parent: str | None,
                 profiles: list[str] | None = None,
                 subject_key_algorithms: list[str] | None = None) -> None:
        self.name = name
        self.key_algorithm = key_algorithm
        self.key_ref = key_ref
        self.certificate_der = certificate_der
        self.parent = parent
        self.profiles = None if profiles is None else list(profiles)
        self.subject_key_algorithms = None if subject_key_algorithms is None \
            else list(subject_key_algorithms)
        self.last_crl_number = 0
        self.last_crl_position = 0
        self.crls_issued = 0
        self.crl_base: CrlRecord | None = None
        self.last_full_crl: CrlRecord | None = None
        self.last_delta_crl: CrlRecord | None = None

    @staticmethod
    def create_id(name: str) -> UUID:
        return uuid5(NAMESPACE, f"ca:{name}")

    @classmethod
    def establish(cls, *, actor: Actor, name: str, key_algorithm: str, key_ref: str,
                  certificate_der: bytes, parent: str | None, profiles: list[str] | None = None,
                  subject_key_algorithms: list[str] | None = None) -> CertificateAuthority:
        """A new CA that may issue ``profiles`` (None: by its rank, see
        :meth:`check_may_issue`) for keys of ``subject_key_algorithms`` (None: its own
        family, see :func:`key_family`)."""
        keys = sorted(key_family(key_algorithm) if subject_key_algorithms is None
                      else subject_key_algorithms)
        unknown = set(keys) - SM2_KEYS - INTERNATIONAL_KEYS
        if unknown or not keys:
            raise InvalidRequest(f"a CA certifies known key algorithms; not {sorted(unknown)}",
                                 code="invalid_ca_policy")
        return cls._create(cls.Established, **who(actor),
                           name=name, key_algorithm=key_algorithm, key_ref=key_ref,
                           certificate_der=certificate_der, parent=parent,
                           profiles=None if profiles is None else sorted(profiles),
                           subject_key_algorithms=keys)

    @property
    def is_root(self) -> bool:
        return self.parent is None

    def certifiable_key_algorithms(self) -> frozenset[str]:
        """The subject key algorithms this CA certifies (derived for release-0.1 CAs)."""
        if self.subject_key_algorithms is None:
            return key_family(self.key_algorithm)
        return frozenset(self.subject_key_algorithms)

    # ---- guards ---------------------------------------------------------------------------

    def check_may_issue(self, profile: str, *, ca_profile: bool) -> None:
        """Raise InvalidRequest unless this CA may issue certificates of ``profile``
        (``ca_profile``: whether that profile makes CA certificates). A root never issues
        an end-entity certificate, whatever its recorded profiles say."""
        if self.is_root and not ca_profile:
            raise InvalidRequest(
                f"{self.name} is a root CA: it certifies CAs only, never end-entity "
                f"certificates such as {profile}", code="profile_not_allowed_for_ca")
        if self.profiles is None:  # established by release 0.1: derived from its rank
            allowed = ca_profile == self.is_root
        else:
            allowed = profile in self.profiles
        if not allowed:
            raise InvalidRequest(f"CA {self.name} does not issue {profile} certificates",
                                 code="profile_not_allowed_for_ca")

    def check_may_certify(self, key_algorithm: str, *, any_family: bool = False) -> None:
        """Raise InvalidRequest unless this CA certifies ``key_algorithm`` subject keys:
        a 国密 (SM2) CA SM2 keys, an international one RSA/ECDSA/Ed25519 keys, unless the
        profile allows ``any_family``."""
        if any_family or key_algorithm in self.certifiable_key_algorithms():
            return
        allowed = ", ".join(sorted(self.certifiable_key_algorithms()))
        raise InvalidRequest(
            f"CA {self.name} ({self.key_algorithm}) does not certify {key_algorithm} keys "
            f"(it certifies: {allowed}); apply to a CA of the key's own hierarchy",
            code="key_not_allowed_for_ca")

    def check_may_delegate_ocsp(self) -> None:
        """A root CA never gets a delegated OCSP responder: it is served by CRL only."""
        if self.is_root:
            raise IllegalTransition(
                f"{self.name} is a root CA: it has no OCSP responder (served by CRL only)",
                code="root_ca_no_responder")

    def record_crl(self, actor: Actor, at: datetime, *, crl_number: int, kind: CrlKind,
                   this_update: datetime, next_update: datetime, entry_count: int,
                   entries_sha256: str, log_position: int, base_crl_number: int | None = None,
                   delta_base: bool = False) -> None:
        """Record a signed CRL. Numbers only go up; coverage never goes back in the log;
        a delta amends the current base, which must be an earlier full CRL."""
        if not self.last_crl_number < crl_number <= MAX_CRL_NUMBER:
            raise IllegalTransition(f"CRL number {crl_number} is not above "
                                    f"{self.last_crl_number}", code="crl_number_not_increasing")
        if log_position < self.last_crl_position:
            raise IllegalTransition("a CRL cannot cover less of the log than an earlier one",
                                    code="crl_position_behind")
        if next_update <= this_update:
            raise IllegalTransition("nextUpdate must be after thisUpdate", code="crl_times")
        if len(entries_sha256) != 64 or entry_count < 0:
            raise IllegalTransition("a CRL record needs a SHA-256 and a count", code="crl_digest")
        if kind == FULL_CRL:
            if base_crl_number is not None:
                raise IllegalTransition("a full CRL has no base", code="crl_base")
        elif kind == DELTA_CRL:
            if delta_base or self.crl_base is None or base_crl_number != self.crl_base.crl_number:
                raise IllegalTransition("a delta CRL amends the current base CRL",
                                        code="crl_base")
        else:
            raise IllegalTransition(f"unknown CRL kind {kind!r}", code="crl_kind")
        self.trigger_event(self.CrlIssued, timestamp=at, **who(actor), crl_number=crl_number,
                           kind=str(kind), base_crl_number=base_crl_number,
                           this_update=this_update,
                           next_update=next_update, entry_count=entry_count,
                           entries_sha256=entries_sha256, log_position=log_position,
                           delta_base=delta_base)
