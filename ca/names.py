"""Subject data (JSON from the RA) to an X.509 Name, and back for display.

countryName and serialNumber are PrintableString (RFC 5280 App. A); every other
attribute is UTF8String, so Chinese enterprise and person names encode as given.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from asn1crypto import x509

from domain.errors import InvalidRequest

__all__ = ["SUBJECT_FIELDS", "normalise_subject", "subject_name", "display_name"]

# JSON key -> (asn1crypto attribute name, upper bound from RFC 5280 App. A)
SUBJECT_FIELDS: dict[str, tuple[str, int]] = {
    "country": ("country_name", 2),
    "state": ("state_or_province_name", 128),
    "locality": ("locality_name", 128),
    "organization": ("organization_name", 64),
    "organizational_unit": ("organizational_unit_name", 64),
    "common_name": ("common_name", 64),
    "serial_number": ("serial_number", 64),
}
_LIST_FIELDS = ("dns_names", "ip_addresses", "emails")
_PRINTABLE_FIELDS = ("country", "serial_number")
_PRINTABLE = re.compile(r"^[A-Za-z0-9 '()+,\-./:=?]*$")
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def normalise_subject(data: Any) -> dict[str, Any]:
    """Check the shape of subject data and return a clean copy (or raise InvalidRequest)."""
    if not isinstance(data, dict):
        raise InvalidRequest("subject must be a JSON object", code="invalid_subject")
    unknown = set(data) - set(SUBJECT_FIELDS) - set(_LIST_FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown subject fields: {', '.join(sorted(unknown))}",
                             code="invalid_subject")
    clean: dict[str, Any] = {}
    for key, (_, upper) in SUBJECT_FIELDS.items():
        value = data.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or not value.strip():
            raise InvalidRequest(f"subject.{key} must be a non-empty string",
                                 code="invalid_subject")
        value = value.strip()
        if len(value) > upper:
            raise InvalidRequest(f"subject.{key} is longer than {upper} characters",
                                 code="invalid_subject")
        if key in _PRINTABLE_FIELDS and not _PRINTABLE.match(value):
            raise InvalidRequest(f"subject.{key} may hold only PrintableString characters",
                                 code="invalid_subject")
        if key == "country" and (len(value) != 2 or not value.isalpha()):
            raise InvalidRequest("subject.country is a two-letter ISO 3166 code",
                                 code="invalid_subject")
        clean[key] = value.upper() if key == "country" else value
    for key in _LIST_FIELDS:
        values = data.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidRequest(f"subject.{key} must be a list of strings",
                                 code="invalid_subject")
        if len(values) > 100:
            raise InvalidRequest(f"subject.{key} has more than 100 entries",
                                 code="invalid_subject")
        checked = [_check_list_value(key, v.strip()) for v in values]
        if checked:
            clean[key] = list(dict.fromkeys(checked))
    return clean


def _check_list_value(key: str, value: str) -> str:
    if key == "dns_names":
        name = value.lower().rstrip(".")
        labels = name.split(".")
        wildcard_ok = labels[0] == "*" and len(labels) > 2
        if (len(name) > 253 or len(labels) < 2
                or not all(_DNS_LABEL.match(lb) for lb in labels[1 if wildcard_ok else 0:])):
            raise InvalidRequest(f"{value!r} is not a valid DNS name", code="invalid_subject")
        return name
    if key == "ip_addresses":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise InvalidRequest(f"{value!r} is not an IP address", code="invalid_subject") \
                from None
    if not _EMAIL.match(value) or not value.isascii():
        raise InvalidRequest(f"{value!r} is not an e-mail address", code="invalid_subject")
    return value


def subject_name(subject: dict[str, Any]) -> x509.Name:
    """The X.509 Name for normalised subject data, in C, ST, L, O, OU, CN, serialNumber order."""
    rdns = []
    for key, (attribute, _) in SUBJECT_FIELDS.items():
        if key in subject:
            string_type = "printable_string" if key in _PRINTABLE_FIELDS else "utf8_string"
            value = x509.DirectoryString(name=string_type, value=subject[key])
            rdns.append(x509.RelativeDistinguishedName([{"type": attribute, "value": value}]))
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def display_name(name: x509.Name) -> str:
    return name.human_friendly
