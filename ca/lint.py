"""pkilint, as the CA's gate: what it calls ERROR or FATAL is never signed or published.

Validators are built once per process (building them is the slow part).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from pkilint import loader, pkix
from pkilint.pkix import certificate, crl, extension, name, ocsp
from pkilint.validation import ValidationFindingSeverity

__all__ = ["lint_certificate", "lint_crl", "lint_ocsp_response", "SM2_TOLERATED_FINDINGS"]

_BLOCKING = {ValidationFindingSeverity.ERROR, ValidationFindingSeverity.FATAL}
_lock = threading.Lock()

# pkilint (0.13) has no SM2 tables; findings it raises only because it does not
# know the Chinese OIDs are listed here with the reason (see README, "SM2").
SM2_TOLERATED_FINDINGS: frozenset[str] = frozenset()


@cache
def _certificate_validator() -> Any:
    return certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(name.ATTRIBUTE_TYPE_MAPPINGS,
                                               extension.EXTENSION_MAPPINGS),
        [certificate.create_issuer_validator_container([]),
         certificate.create_validity_validator_container(),
         certificate.create_subject_validator_container([]),
         certificate.create_extensions_validator_container([]),
         certificate.create_spki_validator_container([])])


@cache
def _crl_validator() -> Any:
    return crl.create_pkix_crl_validator_container(
        _decoders(),
        [crl.create_issuer_validator_container([]),
         crl.create_validity_validator_container([]),
         crl.create_extensions_validator_container([])],
    )


@cache
def _ocsp_validator() -> Any:
    return ocsp.create_pkix_ocsp_response_validator_container(
        [ocsp.create_response_decoder(), *_decoders()], [])


def _decoders() -> list[Any]:
    return [pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS)]


def _blocking(results: Any) -> list[str]:
    found = []
    for result in results:
        for description in result.finding_descriptions:
            if description.finding.severity in _BLOCKING \
                    and description.finding.code not in SM2_TOLERATED_FINDINGS:
                detail = f": {description.message}" if description.message else ""
                found.append(f"{description.finding.severity.name} "
                             f"{description.finding.code}{detail}")
    return found


def lint_certificate(der: bytes) -> list[str]:
    """ERROR/FATAL findings of pkilint's RFC 5280 certificate linter (empty list: clean)."""
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    with _lock:
        return _blocking(_certificate_validator().validate(document.root))


def lint_crl(der: bytes) -> list[str]:
    document = loader.RFC5280CertificateListDocumentLoader().load_der_document(der, "crl")
    with _lock:
        return _blocking(_crl_validator().validate(document.root))


def lint_ocsp_response(der: bytes) -> list[str]:
    document = loader.RFC6960OCSPResponseDocumentLoader().load_der_document(der, "ocsp")
    with _lock:
        return _blocking(_ocsp_validator().validate(document.root))
