"""An OCSP stack for tests: the CA service, the OCSP read model under the projection
runner, the in-memory answers, and the CA chain and certificates as PEM files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import ocsp as asn1_ocsp
from asn1crypto.pem import armor

from ca.applications.certificates import CAService
from ca.applications.responders import Responders
from ca.encoding import der
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.ocsp_encoding import encode_cert_id, issuer_hashes
from domain.certificate import Certificate
from projections.db import ReadModelDatabase, open_read_model_database
from projections.migrate import migrate
from projections.ocsp import OcspReadModel, OcspSettings
from projections.ocsp_query import OcspAnswers
from projections.runner import ProjectionRunner
from tests.conftest import OFFICER, PORTAL
from tests.helpers import make_csr

__all__ = ["OcspStack", "ocsp_stack", "ocsp_request", "single_statuses", "NONCE_OID"]

NONCE_OID = "1.3.6.1.5.5.7.48.1.2"


@dataclass
class OcspStack:
    service: CAService
    db: ReadModelDatabase
    model: OcspReadModel
    runner: ProjectionRunner
    answers: OcspAnswers
    directory: Path
    certificates: dict[str, Certificate] = field(default_factory=dict)

    def sync(self) -> None:
        """Run the projection up to the head of the log and load the changes."""
        while self.runner.catch_up():  # signing may certify a responder: more events
            pass
        self.answers.refresh()

    def issue(self, label: str, algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256,
              csr: str | None = None) -> Certificate:
        csr = csr or make_csr(algorithm)[1]
        cid = self.service.apply(PORTAL, profile="personal-signing", csr=csr,
                                 subject={"common_name": label})
        self.service.approve(OFFICER, cid)
        certificate = self.service.issue(OFFICER, cid)
        self.certificates[label] = certificate
        self.path(label).write_bytes(armor("CERTIFICATE", certificate.certificate_der))
        return certificate

    def path(self, label: str) -> Path:
        return self.directory / f"{label}.pem"

    def cert_id(self, serial_number: int, hash_name: str = "sha1") -> bytes:
        hashes = issuer_hashes(self.service.get_authority("issuing-ca").certificate_der)
        return encode_cert_id(hash_name, *hashes[hash_name], serial_number)


def ocsp_stack(service: CAService, directory: Path, *, clock: Any = None,
               settings: OcspSettings | None = None) -> OcspStack:
    db = open_read_model_database(service.settings.database_url, service.settings.data_dir)
    migrate(db)
    clock = clock or service.clock
    model = OcspReadModel(db, Responders(service, rotate=True), settings=settings, clock=clock)
    runner = ProjectionRunner(service, db, [model])
    answers_db = open_read_model_database(service.settings.database_url,
                                          service.settings.data_dir)
    answers = OcspAnswers(answers_db, Responders(service, rotate=False), settings=settings,
                          clock=clock)
    directory.mkdir(parents=True, exist_ok=True)
    issuing, root = service.chain("issuing-ca")
    (directory / "issuing.pem").write_bytes(armor("CERTIFICATE", issuing))
    (directory / "root.pem").write_bytes(armor("CERTIFICATE", root))
    return OcspStack(service, db, model, runner, answers, directory)


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
