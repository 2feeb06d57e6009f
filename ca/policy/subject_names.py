"""Subject data (JSON from the RA) to an X.509 Name, and back for display.

countryName and serialNumber are PrintableString (RFC 5280 App. A); every other
attribute is UTF8String, so Chinese enterprise and person names encode as given.

What never reaches a certificate: every subject string is normalised to NFC and refused
if it holds a control, format (bidi overrides, zero-width characters, BOM), surrogate,
private-use or unassigned character, or a line or paragraph separator. DNS names are
ASCII (internationalised labels as A-labels that decode to valid IDNA), their last label
ends with a letter (``1.2.3.4`` is not a DNS name), and a wildcard ``*`` is only the whole
left-most label, never directly over a public suffix (``*.co.uk``). E-mail addresses have
a dot-atom local part (printable ASCII, no spaces) and a DNS name as domain.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import cache
from typing import Any

from asn1crypto import x509
from publicsuffixlist import PublicSuffixList

from domain.errors import InvalidRequest

__all__ = ["SUBJECT_FIELDS", "normalise_subject", "subject_name", "display_name", "dns_name",
           "email_address"]

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
_TOP_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z]$")  # as pkilint's domain syntax check
# RFC 5322 dot-atom: printable ASCII without specials, spaces or controls
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"^{_ATOM}(\.{_ATOM})*$")
# Unicode general categories never put in a certificate: controls (Cc), format characters
# such as bidi overrides, zero-width characters and the BOM (Cf), surrogates (Cs), private
# use (Co), unassigned (Cn), line and paragraph separators (Zl, Zp)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# IDNA 2008 (RFC 5892) allows letters, marks and digits in a U-label, and the hyphen
_U_LABEL_CATEGORIES = ("L", "M", "Nd")


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
        value = _clean_text(key, value).strip()
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
        checked = [_check_list_value(key, _clean_text(key, v).strip()) for v in values]
        if checked:
            clean[key] = list(dict.fromkeys(checked))
    return clean


def _clean_text(key: str, value: str) -> str:
    """``value`` in NFC; InvalidRequest if it holds a character no certificate may carry."""
    for char in value:  # a lone surrogate cannot be normalised: look before
        if unicodedata.category(char) == "Cs":
            raise _refused(key, char)
    value = unicodedata.normalize("NFC", value)
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise _refused(key, char)
    return value


def _refused(key: str, char: str) -> InvalidRequest:
    return InvalidRequest(
        f"subject.{key} holds U+{ord(char):04X} ({unicodedata.category(char)}): control, "
        "format (bidi, zero-width), surrogate, private-use, unassigned and line or paragraph "
        "separator characters are never put in a certificate", code="invalid_subject")


def _check_list_value(key: str, value: str) -> str:
    if key == "dns_names":
        return dns_name(value, wildcard=True)
    if key == "ip_addresses":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise InvalidRequest(f"{value!r} is not an IP address", code="invalid_subject") \
                from None
    return email_address(value)


def dns_name(value: str, *, wildcard: bool = False) -> str:
    """A DNS name in its certificate form (lower case, no final dot), or InvalidRequest."""
    name = value.lower().rstrip(".")
    labels = name.split(".")
    if wildcard and labels[0] == "*":
        rest = ".".join(labels[1:])
        if len(labels) < 3 or _public_suffixes().is_public(rest):
            raise InvalidRequest(f"{value!r}: a wildcard may not stand directly over a public "
                                 f"suffix ({rest or 'the root'})", code="invalid_subject")
        dns_name(rest)
        return name
    if "*" in name:
        raise InvalidRequest(f"{value!r}: '*' is allowed only as the whole left-most label "
                             "(*.example.com)", code="invalid_subject")
    if len(name) > 253 or len(labels) < 2 or not all(_DNS_LABEL.match(lb) for lb in labels):
        raise InvalidRequest(f"{value!r} is not a valid DNS name (ASCII letters, digits and "
                             "hyphens; internationalised labels as A-labels)",
                             code="invalid_subject")
    if labels[-1].isdigit():
        raise InvalidRequest(f"{value!r} is not a DNS name: its last label is all digits "
                             "(an IP address goes in ip_addresses)", code="invalid_subject")
    if not _TOP_LABEL.match(labels[-1]):
        raise InvalidRequest(f"{value!r}: the last label must be at least two characters and "
                             "end with a letter", code="invalid_subject")
    for label in labels:
        if label[2:4] == "--":
            _check_reserved_label(value, label)
    return name


def _check_reserved_label(value: str, label: str) -> None:
    """A label with '--' in 3rd and 4th place is an A-label ("xn--") that decodes to valid
    IDNA, or nothing (other such labels are reserved, RFC 5891 §4.2.3.1)."""
    if not label.startswith("xn--"):
        raise InvalidRequest(f"{value!r}: the label {label!r} is reserved ('--' in the third "
                             "and fourth place is for A-labels, xn--)", code="invalid_subject")
    try:
        # IDNA's ToUnicode: Punycode decoding, then ToASCII again must give the same label
        u_label = label.encode("ascii").decode("idna")
    except UnicodeError:
        u_label = ""
    if not u_label or u_label.isascii() or not all(
            unicodedata.category(c).startswith(_U_LABEL_CATEGORIES) or c == "-"
            for c in u_label):
        raise InvalidRequest(f"{value!r}: {label!r} is not a valid A-label (its Punycode "
                             "does not decode to a valid internationalised label)",
                             code="invalid_subject")


def email_address(value: str) -> str:
    """An e-mail address (rfc822Name) in its certificate form, or InvalidRequest."""
    local, at, domain = value.rpartition("@")
    if not at or len(local) > 64 or not _LOCAL_PART.match(local):
        raise InvalidRequest(f"{value!r} is not an e-mail address (the part before @ is "
                             "printable ASCII without spaces or special characters)",
                             code="invalid_subject")
    try:
        return f"{local}@{dns_name(domain)}"
    except InvalidRequest as exc:
        raise InvalidRequest(f"{value!r} is not an e-mail address: its domain: {exc.message}",
                             code="invalid_subject") from None


@cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList(accept_unknown=False)


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
