"""Certificate profiles: what a certificate of each kind may and must contain.

A profile decides key usages, extended key usages, whether it is a CA, how long
it may be valid, which subject fields the RA must supply, which subjectAltName
types it carries (and which IP ranges never), and which key types the subscriber
may use. The RA picks a profile by name; the CA never signs outside one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from ca.encoding.algorithms import KeyAlgorithm
from domain.errors import InvalidRequest

__all__ = ["Profile", "PROFILES", "get_profile"]

_ALL_KEYS = frozenset(KeyAlgorithm)
SAN_TYPES = ("dns_names", "ip_addresses", "emails")  # subject list fields: subjectAltName


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    key_usage: frozenset[str]               # asn1crypto KeyUsage bit names
    extended_key_usage: tuple[str, ...]     # asn1crypto KeyPurposeId names
    required_subject: tuple[str, ...]
    default_validity_days: int
    max_validity_days: int
    is_ca: bool = False
    path_length: int | None = None
    key_algorithms: frozenset[KeyAlgorithm] = field(default=_ALL_KEYS)
    # RSA keys also encipher (TLS key transport); other keys only sign
    rsa_key_usage_extra: frozenset[str] = frozenset()
    encryption: bool = False                # the encryption half of a dual pair (双证书)
    san_types: frozenset[str] = frozenset()  # which of SAN_TYPES it may carry
    # Policy switches no profile of today sets (kept for test or special profiles):
    allow_loopback_ip: bool = False         # an iPAddress SAN in 127.0.0.0/8 or ::1
    any_key_family: bool = False            # certify keys outside the CA's own hierarchy

    def key_usage_for(self, algorithm: KeyAlgorithm) -> frozenset[str]:
        if algorithm.is_rsa:
            # RFC 4055 §1.2: an RSA key enciphers or signs; it never agrees keys
            return (self.key_usage | self.rsa_key_usage_extra) - {"key_agreement"}
        if algorithm is KeyAlgorithm.ED25519:
            return self.key_usage - {"key_encipherment", "data_encipherment", "key_agreement"}
        if algorithm.is_ecdsa:
            # RFC 8813 §3: an EC key never enciphers; it may agree keys (ECDH)
            return self.key_usage - {"key_encipherment", "data_encipherment"}
        # SM2 keys sign, agree keys and encipher (SM2 encryption, GB/T 32918.4; GM/T 0015)
        return self.key_usage

    def check_subject(self, subject: dict[str, Any]) -> None:
        missing = [f for f in self.required_subject if not subject.get(f)]
        if missing:
            raise InvalidRequest(f"profile {self.name} needs subject fields: "
                                 f"{', '.join(missing)}", code="missing_subject_fields")
        refused = [f for f in SAN_TYPES if subject.get(f) and f not in self.san_types]
        if refused:
            allowed = ", ".join(t for t in SAN_TYPES if t in self.san_types) or "none"
            raise InvalidRequest(f"profile {self.name} does not take subject "
                                 f"{', '.join(refused)} (subjectAltName types it takes: "
                                 f"{allowed})", code="san_type_not_allowed")
        for address in subject.get("ip_addresses", []):
            self._check_ip_address(address)
        if self.name == "tls-server":
            cn = subject.get("common_name")
            sans = set(subject.get("dns_names", [])) | set(subject.get("ip_addresses", []))
            if cn and cn.lower() not in sans:
                raise InvalidRequest("the common name of a TLS server certificate must also be "
                                     "one of its dns_names or ip_addresses",
                                     code="invalid_subject")
        if not self.is_ca and self.name != "tls-server" and not subject.get("common_name"):
            raise InvalidRequest(f"profile {self.name} needs subject field common_name",
                                 code="missing_subject_fields")

    def _check_ip_address(self, text: str) -> None:
        """No certificate names an address that is nobody's: unspecified, loopback (unless
        the profile allows it), multicast, link-local or reserved."""
        address = ipaddress.ip_address(text)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if address.is_loopback and self.allow_loopback_ip:
            return  # (::1 is also in the reserved ::/8)
        this_network = isinstance(address, ipaddress.IPv4Address) and address.packed[0] == 0
        kinds = [("unspecified", address.is_unspecified or this_network),
                 ("loopback", address.is_loopback), ("multicast", address.is_multicast),
                 ("link-local", address.is_link_local), ("reserved", address.is_reserved)]
        for kind, applies in kinds:
            if applies:
                raise InvalidRequest(f"{text} is a {kind} address: it is never certified",
                                     code="ip_address_not_allowed")

    def check_key(self, algorithm: KeyAlgorithm) -> None:
        if algorithm not in self.key_algorithms:
            allowed = ", ".join(sorted(a.value for a in self.key_algorithms))
            raise InvalidRequest(f"profile {self.name} does not take {algorithm.value} keys "
                                 f"(allowed: {allowed})", code="key_not_allowed")

    def validity_days(self, requested: int | None) -> int:
        if requested is None:
            return self.default_validity_days
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise InvalidRequest("validity_days must be a positive whole number",
                                 code="invalid_validity")
        if requested > self.max_validity_days:
            raise InvalidRequest(f"profile {self.name} allows at most {self.max_validity_days}"
                                 " days of validity", code="invalid_validity")
        return requested


_SIGNING = frozenset({"digital_signature", "non_repudiation"})
_EMAILS = frozenset({"emails"})

PROFILES: dict[str, Profile] = {p.name: p for p in [
    Profile("personal-signing", "a person's signing and login certificate (个人证书)",
            key_usage=_SIGNING, extended_key_usage=("client_auth", "email_protection"),
            required_subject=("common_name",), default_validity_days=365,
            max_validity_days=3 * 366, san_types=_EMAILS),
    Profile("organisation-signing", "an organisation's signing certificate (企业/机构证书)",
            key_usage=_SIGNING, extended_key_usage=("client_auth",),
            required_subject=("common_name", "organization", "country"),
            default_validity_days=365, max_validity_days=3 * 366, san_types=_EMAILS),
    Profile("tls-server", "a TLS server certificate",
            key_usage=frozenset({"digital_signature"}), extended_key_usage=("server_auth",),
            required_subject=("dns_names",), default_validity_days=90, max_validity_days=398,
            rsa_key_usage_extra=frozenset({"key_encipherment"}),
            san_types=frozenset({"dns_names", "ip_addresses"})),
    Profile("encryption", "the encryption half of a dual-certificate pair (加密证书)",
            key_usage=frozenset({"key_encipherment", "data_encipherment", "key_agreement"}),
            extended_key_usage=(), required_subject=("common_name",),
            default_validity_days=365, max_validity_days=3 * 366, encryption=True,
            san_types=_EMAILS,
            key_algorithms=frozenset({KeyAlgorithm.SM2, KeyAlgorithm.ECDSA_P256,
                                      KeyAlgorithm.ECDSA_P384, KeyAlgorithm.RSA_2048,
                                      KeyAlgorithm.RSA_3072, KeyAlgorithm.RSA_4096})),
    Profile("sub-ca", "a subordinate CA that issues end-entity certificates only",
            key_usage=frozenset({"digital_signature", "key_cert_sign", "crl_sign"}),
            extended_key_usage=(), required_subject=("common_name", "organization", "country"),
            default_validity_days=5 * 365, max_validity_days=10 * 366, is_ca=True,
            path_length=0),
]}


def get_profile(name: object) -> Profile:
    if not isinstance(name, str) or name not in PROFILES:
        raise InvalidRequest(f"unknown profile {name!r}; use one of {', '.join(PROFILES)}",
                             code="unknown_profile")
    return PROFILES[name]
