"""What makes the log tamper-evident: the audit signer and the signed tree heads.

A Merkle tree (RFC 9162) is kept over every stored event in log order; a **tree head**
says "the first ``tree_size`` events of the log, up to ``last_position``, have the tree
hash ``root_hash``" and is signed by the **audit signer**, a key the CA certifies for
nothing else. Both are events in the log, so an export carries them: the tree head that
covers an event is recorded after it, and is itself covered by the next head.

:class:`AuditSigner` is one history (its id is fixed): the key reference and the
certificate, rotated with a new key like an OCSP responder, never the key itself.
:class:`TreeHead` is one aggregate per head, its id derived from its number, so two
processes that sign the same head at once cannot both record it (the second save fails
and its process looks again). Each head lists the hashes of the leaves it adds to the
previous head and the frontier (the roots of the perfect subtrees) of its tree, so the
chain of heads can be checked on its own and a changed event is found by its position.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.errors import IllegalTransition
from domain.events import ActorCreated, ActorEvent, who
from domain.ids import NAMESPACE
from domain.responder import rotation_due
from domain.topics import stable_topics

__all__ = ["AuditSigner", "TreeHead", "HASH_SIZE"]

HASH_SIZE = 32  # SHA-256


@stable_topics("certledger:AuditSigner")
class AuditSigner(Aggregate, created_event_name="Certified"):

    class Certified(ActorCreated):
        TOPIC = "certledger:AuditSigner.Certified:v1"
        issuer: str              # the CA that certified the key
        key_algorithm: str
        key_ref: str             # where the key store keeps the (sealed) key
        serial_number: int
        not_before: datetime
        not_after: datetime
        certificate_der: bytes

    class Rotated(ActorEvent):
        """A new key and certificate (the old certificate stays valid for the heads it
        signed); also when the audit signer is to be certified by another CA."""

        TOPIC = "certledger:AuditSigner.Rotated:v1"
        issuer: str
        key_algorithm: str
        key_ref: str
        serial_number: int
        not_before: datetime
        not_after: datetime
        certificate_der: bytes

        def apply(self, aggregate: AuditSigner) -> None:
            aggregate.issuer = self.issuer
            aggregate.key_algorithm = self.key_algorithm
            aggregate.key_ref = self.key_ref
            aggregate.serial_number = self.serial_number
            aggregate.not_before = self.not_before
            aggregate.not_after = self.not_after
            aggregate.certificate_der = self.certificate_der

    def __init__(self, *, actor_id: str, actor_role: str, issuer: str, key_algorithm: str,
                 key_ref: str, serial_number: int, not_before: datetime, not_after: datetime,
                 certificate_der: bytes) -> None:
        self.issuer = issuer
        self.key_algorithm = key_algorithm
        self.key_ref = key_ref
        self.serial_number = serial_number
        self.not_before = not_before
        self.not_after = not_after
        self.certificate_der = certificate_der

    @staticmethod
    def create_id() -> UUID:
        return uuid5(NAMESPACE, "audit-signer")

    @classmethod
    def certify(cls, *, actor: Actor, issuer: str, key_algorithm: str, key_ref: str,
                serial_number: int, not_before: datetime, not_after: datetime,
                certificate_der: bytes) -> AuditSigner:
        if not_after <= not_before:
            raise ValueError("an audit signer certificate must end after it begins")
        return cls._create(cls.Certified, id=cls.create_id(), **who(actor), issuer=issuer,
                           key_algorithm=key_algorithm, key_ref=key_ref,
                           serial_number=serial_number, not_before=not_before,
                           not_after=not_after, certificate_der=certificate_der)

    def rotate(self, *, actor: Actor, issuer: str, key_algorithm: str, key_ref: str,
               serial_number: int, not_before: datetime, not_after: datetime,
               certificate_der: bytes) -> None:
        if not_after <= not_before:
            raise ValueError("an audit signer certificate must end after it begins")
        self.trigger_event(self.Rotated, **who(actor), issuer=issuer,
                           key_algorithm=key_algorithm, key_ref=key_ref,
                           serial_number=serial_number, not_before=not_before,
                           not_after=not_after, certificate_der=certificate_der)

    def renewal_due(self, now: datetime, issuer: str) -> bool:
        """A new key is due when less than a third of the certificate's life is left, or
        when another CA is to certify the audit signer."""
        return issuer != self.issuer or rotation_due(self.not_before, self.not_after, now)


@stable_topics("certledger:TreeHead")
class TreeHead(Aggregate, created_event_name="Signed"):

    class Signed(ActorCreated):
        TOPIC = "certledger:TreeHead.Signed:v1"
        number: int                 # 1, 2, 3 ... in the order they are signed
        tree_size: int              # the first tree_size events of the log
        last_position: int          # the position of the last of them
        root_hash: bytes            # RFC 9162 tree hash of those events' leaves
        leaf_hashes: bytes          # the leaf hashes added since the previous head
        frontier: bytes             # the roots of this tree's perfect subtrees
        signature: bytes            # over ca.audit.tree_heads.signed_data(...)
        signature_algorithm: bytes  # DER AlgorithmIdentifier
        signer_certificate: bytes   # DER: the audit signer's certificate that verifies it

    def __init__(self, *, actor_id: str, actor_role: str, number: int, tree_size: int,
                 last_position: int, root_hash: bytes, leaf_hashes: bytes, frontier: bytes,
                 signature: bytes, signature_algorithm: bytes,
                 signer_certificate: bytes) -> None:
        self.number = number
        self.tree_size = tree_size
        self.last_position = last_position
        self.root_hash = root_hash
        self.frontier = frontier
        self.signature = signature
        self.signature_algorithm = signature_algorithm
        self.signer_certificate = signer_certificate

    @staticmethod
    def create_id(number: int) -> UUID:
        return uuid5(NAMESPACE, f"tree-head:{number}")

    @classmethod
    def sign(cls, *, actor: Actor, at: datetime, previous: TreeHead | None, tree_size: int,
             last_position: int, root_hash: bytes, leaf_hashes: bytes, frontier: bytes,
             signature: bytes, signature_algorithm: bytes,
             signer_certificate: bytes) -> TreeHead:
        """The head after ``previous`` (None: the first). A head covers more of the log
        than the one before and lists exactly the leaves it adds."""
        cls.check_follows(previous, tree_size, last_position, leaf_hashes)
        if len(root_hash) != HASH_SIZE or len(frontier) % HASH_SIZE:
            raise IllegalTransition("a tree head needs a SHA-256 root and frontier",
                                    code="tree_head_hash")
        number = 1 if previous is None else previous.number + 1
        return cls._create(cls.Signed, id=cls.create_id(number), timestamp=at, **who(actor),
                           number=number, tree_size=tree_size, last_position=last_position,
                           root_hash=root_hash, leaf_hashes=leaf_hashes, frontier=frontier,
                           signature=signature, signature_algorithm=signature_algorithm,
                           signer_certificate=signer_certificate)

    @staticmethod
    def check_follows(previous: TreeHead | None, tree_size: int, last_position: int,
                      leaf_hashes: bytes) -> None:
        size, position = (0, 0) if previous is None else (previous.tree_size,
                                                          previous.last_position)
        if tree_size <= size or last_position <= position:
            raise IllegalTransition(f"a tree head of {tree_size} events up to position "
                                    f"{last_position} does not extend the previous one "
                                    f"({size} events, up to {position})",
                                    code="tree_head_behind")
        if len(leaf_hashes) != (tree_size - size) * HASH_SIZE:
            raise IllegalTransition("a tree head lists each leaf it adds, no more",
                                    code="tree_head_leaves")
