"""The CertificateAuthority aggregate: one CA (root or issuing), its key and certificate.

Its id derives from its name, so a second ``init`` of the same name is a conflict.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.topics import stable_topics
from domain.ids import NAMESPACE

__all__ = ["CertificateAuthority"]


@stable_topics("certledger:CertificateAuthority")
class CertificateAuthority(Aggregate, created_event_name="Established"):

    class Established(Aggregate.Created):
        TOPIC = "certledger:CertificateAuthority.Established:v1"
        actor_id: str
        actor_role: str
        name: str
        key_algorithm: str
        key_ref: str  # where the key store keeps the (encrypted) private key
        certificate_der: bytes
        parent: str | None  # None for a root

    def __init__(self, *, actor_id: str, actor_role: str, name: str, key_algorithm: str,
                 key_ref: str, certificate_der: bytes, parent: str | None) -> None:
        self.name = name
        self.key_algorithm = key_algorithm
        self.key_ref = key_ref
        self.certificate_der = certificate_der
        self.parent = parent

    @staticmethod
    def create_id(name: str) -> UUID:
        return uuid5(NAMESPACE, f"ca:{name}")

    @classmethod
    def establish(cls, *, actor: Actor, name: str, key_algorithm: str, key_ref: str,
                  certificate_der: bytes, parent: str | None) -> CertificateAuthority:
        return cls._create(cls.Established, actor_id=actor.id, actor_role=actor.role.value,
                           name=name, key_algorithm=key_algorithm, key_ref=key_ref,
                           certificate_der=certificate_der, parent=parent)
