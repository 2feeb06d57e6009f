"""pkilint, as the CA's gate: what it calls ERROR or FATAL is never signed or published.

Validators are built once per process (building them is the slow part).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import validators
from asn1crypto import x509 as asn1_x509
from pkilint import loader, pkix
from pkilint.pkix import certificate, crl, extension, name, ocsp
from pkilint.validation import ValidationFindingSeverity

from ca.encoding.algorithms import SM2_CURVE_OID

__all__ = ["lint_certificate", "lint_crl", "lint_ocsp_response", "SM2_TOLERATED_FINDINGS",
           "WILDCARD_TOLERATED_FINDINGS", "tolerated_findings"]

_BLOCKING = {ValidationFindingSeverity.ERROR, ValidationFindingSeverity.FATAL}
_lock = threading.Lock()

# pkilint (0.13) has no SM2 tables; findings it raises only because it does not
# know the Chinese OIDs are listed here with the reason (see docs/sm2.md). They are
# tolerated only in a certificate whose subject key is an SM2 key (id-ecPublicKey on
# curve 1.2.156.10197.1.301): every entry is about what an SM2 key may do.
SM2_TOLERATED_FINDINGS: frozenset[str] = frozenset({
    # RFC 8813 §3 forbids keyEncipherment and dataEncipherment for id-ecPublicKey keys,
    # because ECDSA and ECDH keys cannot encipher; pkilint applies it to every
    # id-ecPublicKey key, whatever the curve. An SM2 key can: SM2 public key encryption
    # (GB/T 32918.4) enciphers directly, and GM/T 0015 gives the encryption certificate of
    # an SM2 dual pair (双证书) keyEncipherment, dataEncipherment and keyAgreement.
    # pkilint allows every other key usage bit for EC keys, so this code stands for
    # exactly those two bits and tolerating it lets nothing else through.
    "pkix.key_usage_value_prohibited_for_ec",
})
_EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"

# pkilint's RFC 5280 linter checks a dNSName with the preferred name syntax, which has no
# wildcard, so "*.example.com" is an ERROR there. Its CA/Browser Forum TLS linter filters
# exactly this finding and checks the name with a leading "*." allowed. We do the same:
# the finding is tolerated in a certificate whose every dNSName passes that same syntax
# check (validators.domain) once a leading "*." is taken off. The wildcard rules of
# ca/names.py (whole left-most label, never over a public suffix) apply before.
WILDCARD_TOLERATED_FINDINGS: frozenset[str] = frozenset({"pkix.invalid_domain_name_syntax"})


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


def tolerated_findings(der: bytes) -> frozenset[str]:
    """Finding codes not held against this certificate: the SM2 ones if its key is SM2,
    the wildcard one if its only dNSNames off the preferred syntax are wildcards."""
    tolerated = SM2_TOLERATED_FINDINGS if _subject_key_is_sm2(der) else frozenset()
    if _dns_names_valid_but_wildcards(der):
        tolerated |= WILDCARD_TOLERATED_FINDINGS
    return tolerated


def _dns_names_valid_but_wildcards(der: bytes) -> bool:
    """Has a wildcard dNSName, and every dNSName is valid with a leading "*." taken off."""
    try:
        names = asn1_x509.Certificate.load(der).subject_alt_name_value or []
        dns_names = [name.chosen.contents.decode("ascii") for name in names
                     if name.name == "dns_name"]
    except (ValueError, TypeError, KeyError, UnicodeError):
        return False
    return any(n.startswith("*.") for n in dns_names) and all(
        validators.domain(n.removeprefix("*.")) is True for n in dns_names)


def _subject_key_is_sm2(der: bytes) -> bool:
    try:
        tbs = asn1_x509.Certificate.load(der)["tbs_certificate"]
        algorithm = tbs["subject_public_key_info"]["algorithm"]
        parameters = algorithm["parameters"]
        return (algorithm["algorithm"].dotted == _EC_PUBLIC_KEY_OID
                and parameters.name == "named" and parameters.chosen.dotted == SM2_CURVE_OID)
    except (ValueError, TypeError, KeyError):
        return False


def _blocking(results: Any, tolerated: frozenset[str] = frozenset()) -> list[str]:
    found = []
    for result in results:
        for description in result.finding_descriptions:
            if description.finding.severity in _BLOCKING \
                    and description.finding.code not in tolerated:
                detail = f": {description.message}" if description.message else ""
                found.append(f"{description.finding.severity.name} "
                             f"{description.finding.code}{detail}")
    return found


def lint_certificate(der: bytes) -> list[str]:
    """ERROR/FATAL findings of pkilint's RFC 5280 certificate linter (empty list: clean)."""
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    tolerated = tolerated_findings(der)
    with _lock:
        return _blocking(_certificate_validator().validate(document.root), tolerated)


def lint_crl(der: bytes) -> list[str]:
    document = loader.RFC5280CertificateListDocumentLoader().load_der_document(der, "crl")
    with _lock:
        return _blocking(_crl_validator().validate(document.root))


def lint_ocsp_response(der: bytes) -> list[str]:
    document = loader.RFC6960OCSPResponseDocumentLoader().load_der_document(der, "ocsp")
    with _lock:
        return _blocking(_ocsp_validator().validate(document.root))
