"""From a decided request to certificate DER: extensions per profile, serials, CA certificates.

This module decides nothing about *whether* to issue (that is the RA's review,
recorded as events); it only turns a decision into a linted, signed certificate.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import keys, x509

from ca.algorithms import KeyAlgorithm
from ca.names import subject_name
from ca.profiles import Profile
from ca.signing import Signer
from ca.x509 import CertificateRequestParts, build_tbs, key_identifier, sign_tbs

__all__ = ["PublicUrls", "Issuer", "new_serial_number", "issue_certificate",
           "self_signed_certificate", "SERIAL_BITS"]

SERIAL_BITS = 120  # random bits in every serial (>= 64 required); 16 octets encoded


@dataclass(frozen=True)
class PublicUrls:
    """Where relying parties fetch CA certificates, CRLs and OCSP, from the public base URL."""

    base_url: str

    def ca_certificate(self, ca_name: str) -> str:
        return f"{self.base_url.rstrip('/')}/ca/{ca_name}.crt"

    def crl(self, ca_name: str) -> str:
        return f"{self.base_url.rstrip('/')}/crl/{ca_name}.crl"

    def delta_crl(self, ca_name: str) -> str:
        return f"{self.base_url.rstrip('/')}/crl/{ca_name}-delta.crl"

    def ocsp(self) -> str:
        return f"{self.base_url.rstrip('/')}/ocsp"


@dataclass(frozen=True)
class Issuer:
    """A CA able to sign: its name, signer and certificate."""

    name: str
    signer: Signer
    certificate: x509.Certificate

    @property
    def subject(self) -> x509.Name:
        return self.certificate.subject

    @property
    def key_identifier(self) -> bytes:
        return key_identifier(self.certificate.public_key)

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after


def new_serial_number() -> int:
    """A positive serial with SERIAL_BITS bits from the CSPRNG (RFC 5280 §4.1.2.2, ≤ 20 octets)."""
    return (1 << SERIAL_BITS) | secrets.randbits(SERIAL_BITS)


def issue_certificate(issuer: Issuer, *, profile: Profile, subject: dict[str, Any],
                      public_key_info: keys.PublicKeyInfo, key_algorithm: KeyAlgorithm,
                      serial_number: int, not_before: datetime, validity_days: int,
                      urls: PublicUrls, lint: bool = True) -> tuple[bytes, datetime]:
    """Sign a certificate of ``profile`` for ``subject``; returns (DER, notAfter).

    notAfter never passes the issuer's own notAfter.
    """
    not_before = not_before.replace(microsecond=0)
    not_after = min(not_before + timedelta(days=validity_days) - timedelta(seconds=1),
                    issuer.not_after)
    name = subject_name(subject)
    extensions = _profile_extensions(profile, key_algorithm, subject, public_key_info,
                                     name_is_empty=not name.chosen)
    extensions += [
        _ext("authority_key_identifier", {"key_identifier": issuer.key_identifier}),
        _ext("crl_distribution_points", [{"distribution_point": x509.DistributionPointName(
            name="full_name", value=[_uri(urls.crl(issuer.name))])}]),
        _ext("authority_information_access", [
            {"access_method": "ocsp", "access_location": _uri(urls.ocsp())},
            {"access_method": "ca_issuers",
             "access_location": _uri(urls.ca_certificate(issuer.name))}]),
    ]
    parts = CertificateRequestParts(serial_number=serial_number, issuer=issuer.subject,
                                    subject=name, public_key_info=public_key_info,
                                    not_before=not_before, not_after=not_after,
                                    extensions=extensions)
    return sign_tbs(build_tbs(parts, issuer.signer), issuer.signer, lint=lint), not_after


def self_signed_certificate(signer: Signer, *, subject: dict[str, Any], profile: Profile,
                            not_before: datetime, validity_days: int,
                            path_length: int | None) -> bytes:
    """A root CA certificate. Its AKI repeats its own SKI (allowed by RFC 5280 §4.2.1.1,
    and pkilint wants it)."""
    name = subject_name(subject)
    spki = signer.public_key_info()
    extensions = [
        _ext("basic_constraints", {"ca": True, "path_len_constraint": path_length}, critical=True),
        _ext("key_usage", set(profile.key_usage), critical=True),
        _ext("key_identifier", key_identifier(spki)),
        _ext("authority_key_identifier", {"key_identifier": key_identifier(spki)}),
    ]
    not_before = not_before.replace(microsecond=0)
    parts = CertificateRequestParts(
        serial_number=new_serial_number(), issuer=name, subject=name, public_key_info=spki,
        not_before=not_before, not_after=not_before + timedelta(days=validity_days),
        extensions=extensions)
    return sign_tbs(build_tbs(parts, signer), signer)


def _profile_extensions(profile: Profile, key_algorithm: KeyAlgorithm, subject: dict[str, Any],
                        public_key_info: keys.PublicKeyInfo, *,
                        name_is_empty: bool) -> list[dict[str, Any]]:
    extensions = [
        _ext("basic_constraints", {"ca": True, "path_len_constraint": profile.path_length}
             if profile.is_ca else {"ca": False}, critical=True),
        _ext("key_usage", set(profile.key_usage_for(key_algorithm)), critical=True),
        _ext("key_identifier", key_identifier(public_key_info)),
    ]
    if profile.extended_key_usage:
        extensions.append(_ext("extended_key_usage", list(profile.extended_key_usage)))
    general_names = (
        [x509.GeneralName(name="dns_name", value=n) for n in subject.get("dns_names", [])]
        + [x509.GeneralName(name="ip_address", value=ip)
           for ip in subject.get("ip_addresses", [])]
        + [x509.GeneralName(name="rfc822_name", value=e) for e in subject.get("emails", [])])
    if general_names:
        # RFC 5280 §4.2.1.6: critical when the subject field is empty
        extensions.append(_ext("subject_alt_name", general_names, critical=name_is_empty))
    return extensions


def _uri(url: str) -> x509.GeneralName:
    return x509.GeneralName(name="uniform_resource_identifier", value=url)


def _ext(name: str, value: Any, *, critical: bool = False) -> dict[str, Any]:
    return {"extn_id": name, "critical": critical, "extn_value": value}
