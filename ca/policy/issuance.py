"""From a decided request to certificate DER: extensions per profile, serials, CA certificates.

This module decides nothing about *whether* to issue (that is the RA's review,
recorded as events); it only turns a decision into a linted, signed certificate.
The same encoder builds the unsigned preview an application is linted with.

A certificate never outlives its issuer: a validity that would pass the issuing CA's
notAfter is refused (never silently shortened).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import algos, keys, x509

from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.certificate_encoding import (
    CertificateRequestParts,
    build_tbs,
    key_identifier,
    lint_tbs,
    sign_tbs,
)
from ca.encoding.signers import Signer
from ca.policy.profiles import Profile
from ca.policy.subject_names import subject_name
from domain.errors import InvalidRequest

__all__ = ["PublicUrls", "Issuer", "IssuerInfo", "new_serial_number", "issue_certificate",
           "preview_certificate", "certificate_not_after", "self_signed_certificate",
           "SERIAL_BITS", "PREVIEW_SERIAL"]

SERIAL_BITS = 120  # random bits in every serial (>= 64 required); 16 octets encoded
PREVIEW_SERIAL = 1 << SERIAL_BITS  # the placeholder serial of a preview (never signed)


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
class IssuerInfo:
    """What a certificate says about its issuer: no key, only public data."""

    name: str
    certificate: x509.Certificate
    signature_algorithm: algos.SignedDigestAlgorithm

    @property
    def subject(self) -> x509.Name:
        return self.certificate.subject

    @property
    def key_identifier(self) -> bytes:
        return key_identifier(self.certificate.public_key)

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after


@dataclass(frozen=True)
class Issuer:
    """A CA able to sign: its name, signer and certificate."""

    name: str
    signer: Signer
    certificate: x509.Certificate

    @property
    def info(self) -> IssuerInfo:
        return IssuerInfo(self.name, self.certificate, self.signer.signature_algorithm())

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


def certificate_not_after(issuer_not_after: datetime, not_before: datetime,
                          validity_days: int) -> datetime:
    """notAfter of a certificate valid ``validity_days`` from ``not_before`` (whole seconds);
    InvalidRequest (``validity_exceeds_ca``) if that passes the issuer's notAfter."""
    not_after = not_before.replace(microsecond=0) + timedelta(days=validity_days) \
        - timedelta(seconds=1)
    if not_after > issuer_not_after:
        raise InvalidRequest(
            f"a validity of {validity_days} days from {not_before:%Y-%m-%d} would pass the "
            f"issuing CA's notAfter ({issuer_not_after:%Y-%m-%d %H:%M:%SZ}); ask for fewer "
            "days", code="validity_exceeds_ca")
    return not_after


def build_certificate(issuer: IssuerInfo, *, profile: Profile, subject: dict[str, Any],
                      public_key_info: keys.PublicKeyInfo, key_algorithm: KeyAlgorithm,
                      serial_number: int, not_before: datetime, validity_days: int,
                      urls: PublicUrls) -> tuple[x509.TbsCertificate, datetime]:
    """The TBSCertificate of ``profile`` for ``subject``, and its notAfter."""
    not_before = not_before.replace(microsecond=0)
    not_after = certificate_not_after(issuer.not_after, not_before, validity_days)
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
    return build_tbs(parts, issuer.signature_algorithm), not_after


def issue_certificate(issuer: Issuer, *, profile: Profile, subject: dict[str, Any],
                      public_key_info: keys.PublicKeyInfo, key_algorithm: KeyAlgorithm,
                      serial_number: int, not_before: datetime, validity_days: int,
                      urls: PublicUrls, lint: bool = True) -> tuple[bytes, datetime]:
    """Sign a certificate of ``profile`` for ``subject``; returns (DER, notAfter).

    InvalidRequest (``validity_exceeds_ca``) if it would outlive the issuer.
    """
    tbs, not_after = build_certificate(
        issuer.info, profile=profile, subject=subject, public_key_info=public_key_info,
        key_algorithm=key_algorithm, serial_number=serial_number, not_before=not_before,
        validity_days=validity_days, urls=urls)
    return sign_tbs(tbs, issuer.signer, lint=lint), not_after


def preview_certificate(issuer: IssuerInfo, *, profile: Profile, subject: dict[str, Any],
                        public_key_info: keys.PublicKeyInfo, key_algorithm: KeyAlgorithm,
                        not_before: datetime, validity_days: int, urls: PublicUrls,
                        lint: bool = True) -> list[str]:
    """pkilint's ERROR/FATAL findings on the certificate an application would get (built by
    the same encoder, with :data:`PREVIEW_SERIAL`; never signed, no CA key used)."""
    tbs, _ = build_certificate(
        issuer, profile=profile, subject=subject, public_key_info=public_key_info,
        key_algorithm=key_algorithm, serial_number=PREVIEW_SERIAL, not_before=not_before,
        validity_days=validity_days, urls=urls)
    return lint_tbs(tbs) if lint else []


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
    return sign_tbs(build_tbs(parts, signer.signature_algorithm()), signer)


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
