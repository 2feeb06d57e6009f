"""An OCSP stack for tests: the CA, the OCSP read model under the projection runner, the
signing process, the in-memory answers, and the CA chain and certificates as PEM files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import ocsp as asn1_ocsp
from asn1crypto.pem import armor

from api.bootstrap import CertLedger
from api.ocsp_answers import OcspAnswers
from api.read_side import ReadSide
from ca.encoding import der
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.ocsp_responses import encode_cert_id, issuer_hashes
from ca.processes.ocsp_signing import OcspSettings, OcspSigning
from ca.processes.responder_rotation import ResponderRotation
from domain.certificate import Certificate
from projections.db import ReadModelDatabase
from projections.runner import ProjectionRunner
from projections.stored_ocsp_responses import OcspResponseStore
from tests.conftest import OFFICER, PORTAL
from tests.helpers import make_csr

__all__ = ["OcspStack", "ocsp_stack", "ocsp_request", "single_statuses", "NONCE_OID"]

NONCE_OID = "1.3.6.1.5.5.7.48.1.2"


@dataclass
class OcspStack:
    ledger: CertLedger
    read: ReadSide
    signing: OcspSigning
    rotation: ResponderRotation
    answers: OcspAnswers
    directory: Path
    certificates: dict[str, Certificate] = field(default_factory=dict)

    @property
    def db(self) -> ReadModelDatabase:
        return self.read.database

    @property
    def runner(self) -> ProjectionRunner:
        return self.read.runner

    def sync(self) -> None:
        """What the running processes would do: project the log, certify or rotate the
        responders, sign what is pending or due, load the changes into the answers."""
        while True:
            self.runner.catch_up()
            if not self.rotation.run():  # a new responder is one more event to project
                break
        self.signing.run()
        self.answers.refresh()

    def issue(self, label: str, algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256,
              csr: str | None = None) -> Certificate:
        csr = csr or make_csr(algorithm)[1]
        cid = self.ledger.certificates.apply(PORTAL, profile="personal-signing", csr=csr,
                                             subject={"common_name": label})
        self.ledger.certificates.approve(OFFICER, cid)
        certificate = self.ledger.certificates.issue(OFFICER, cid)
        self.certificates[label] = certificate
        self.path(label).write_bytes(armor("CERTIFICATE", certificate.certificate_der))
        return certificate

    def path(self, label: str) -> Path:
        return self.directory / f"{label}.pem"

    def cert_id(self, serial_number: int, hash_name: str = "sha1") -> bytes:
        hashes = issuer_hashes(self.ledger.hierarchy.get("issuing-ca").certificate_der)
        return encode_cert_id(hash_name, *hashes[hash_name], serial_number)


def ocsp_stack(ledger: CertLedger, directory: Path, *, clock: Any = None,
               settings: OcspSettings | None = None) -> OcspStack:
    read = ledger.new_read_side()
    clock = clock or ledger.clock
    signing = OcspSigning(OcspResponseStore(read.database), ledger.responders, clock, settings)
    rotation = ResponderRotation(ledger.responders, ledger.hierarchy, read.authorities)
    answers = OcspAnswers(read.database, ledger.responders, settings=settings, clock=clock)
    directory.mkdir(parents=True, exist_ok=True)
    issuing, root = ledger.hierarchy.chain("issuing-ca")
    (directory / "issuing.pem").write_bytes(armor("CERTIFICATE", issuing))
    (directory / "root.pem").write_bytes(armor("CERTIFICATE", root))
    return OcspStack(ledger, read, signing, rotation, answers, directory)


def ocsp_request(*cert_ids: bytes, nonce: bytes | None = None,
                 raw_nonce_value: bytes | None = None) -> bytes:
    """An OCSPRequest for ``cert_ids``; ``raw_nonce_value`` puts any bytes in the
    extension's OCTET STRING (to send a malformed nonce)."""
    extensions = b""
    if nonce is not None or raw_nonce_value is not None:
        value = raw_nonce_value if raw_nonce_value is not None else der.octet_string(nonce or b"")
        extension = der.sequence(der.object_identifier(NONCE_OID), der.octet_string(value))
        extensions = der.context(2, der.sequence(extension))
    request_list = der.sequence(*(der.sequence(cert_id) for cert_id in cert_ids))
    return der.sequence(der.sequence(request_list, extensions))


def single_statuses(response_der: bytes) -> list[tuple[int, str, Any]]:
    """(serial, status name, revoked info or None) for each SingleResponse."""
    response = asn1_ocsp.OCSPResponse.load(response_der)
    assert response["response_status"].native == "successful"
    data = response.basic_ocsp_response["tbs_response_data"]
    found = []
    for single in data["responses"]:
        status = single["cert_status"]
        found.append((single["cert_id"]["serial_number"].native, status.name,
                      status.chosen.native if status.name == "revoked" else None))
    return found
