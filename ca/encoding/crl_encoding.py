"""CRL encoding (RFC 5280 §5), linear in the number of revoked certificates.

Each revokedCertificates element is encoded once, when the revocation is
known (:func:`encode_revoked_entry`), and kept as bytes. :func:`build_crl`
then only measures and concatenates those bytes around a small TBSCertList
head and tail, signs, and wraps: publishing a CRL of a million entries again
after one more revocation costs two copies of the CRL and one signature.

Profile (RFC 5280 §5.1-§5.3):

- version v2; ``signature`` and ``signatureAlgorithm`` both from the signer;
- thisUpdate / nextUpdate as UTCTime through 2049, GeneralizedTime from 2050;
- revokedCertificates left out entirely when there are no entries;
- crlExtensions: authorityKeyIdentifier (keyIdentifier), cRLNumber, then
  deltaCRLIndicator (critical) for a delta CRL, issuingDistributionPoint
  (critical) when a URL is given, freshestCRL for a full CRL when URLs are given;
- entry extensions: reasonCode (left out for unspecified, §5.3.1), invalidityDate.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from ca.encoding import der
from ca.encoding.signers import Signer
from domain.reasons import RevocationReason

__all__ = [
    "MAX_CRL_NUMBER",
    "encode_revoked_entry",
    "build_crl",
    "revoked_span",
    "revoked_certificates",
    "split_entries",
    "crl_ends",
    "entries_digest",
]

MAX_CRL_NUMBER = (1 << 159) - 1  # 20 octets, positive (RFC 5280 §5.2.3)

_ID_CE_AUTHORITY_KEY_IDENTIFIER = "2.5.29.35"
_ID_CE_CRL_NUMBER = "2.5.29.20"
_ID_CE_DELTA_CRL_INDICATOR = "2.5.29.27"
_ID_CE_ISSUING_DISTRIBUTION_POINT = "2.5.29.28"
_ID_CE_FRESHEST_CRL = "2.5.29.46"
_ID_CE_CRL_REASONS = "2.5.29.21"
_ID_CE_INVALIDITY_DATE = "2.5.29.24"

_VERSION_V2 = der.integer(1)
_REASON_CODES = {reason.value for reason in RevocationReason if reason.value}
_URI = 6  # GeneralName uniformResourceIdentifier [6] IA5String


def _extension(oid: str, value: bytes, *, critical: bool = False) -> bytes:
    """Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }."""
    flag = der.boolean(True) if critical else b""
    return der.sequence(der.object_identifier(oid), flag, der.octet_string(value))


# reasonCode extensions are few: encode each once, index them by code (0 and 7: none).
_REASON_CODE_EXTENSIONS = tuple(
    _extension(_ID_CE_CRL_REASONS, der.enumerated(code)) if code in _REASON_CODES else None
    for code in range(max(_REASON_CODES) + 1))

# invalidityDate always holds a 15-character GeneralizedTime: its extension head is constant.
_INVALIDITY_DATE_HEAD = _extension(_ID_CE_INVALIDITY_DATE, der.generalized_time(
    datetime(2000, 1, 1, tzinfo=UTC)))[:-17]


def encode_revoked_entry(serial: int, revocation_date: datetime,
                         reason: RevocationReason | None = None,
                         invalidity_date: datetime | None = None) -> bytes:
    """DER of one revokedCertificates element.

    ``reason`` None or unspecified leaves reasonCode out; certificateHold (6)
    marks a suspension; removeFromCRL (8) belongs in delta CRLs only.
    ``invalidity_date`` is written as GeneralizedTime (RFC 5280 §5.3.2).
    """
    if serial <= 0 or serial.bit_length() > 159:
        raise ValueError("a serial number must be positive and at most 20 octets")
    body = der.integer(serial) + der.x509_time(revocation_date)
    if reason or invalidity_date is not None:
        extensions = b""
        if reason:  # None and unspecified (0) are left out
            known = 0 < reason < len(_REASON_CODE_EXTENSIONS)
            reason_code = _REASON_CODE_EXTENSIONS[reason] if known else None
            if reason_code is None:
                raise ValueError(f"{reason!r} is not a CRLReason")
            extensions = reason_code
        if invalidity_date is not None:
            extensions += _INVALIDITY_DATE_HEAD + der.generalized_time(invalidity_date)
        body += der.tlv(der.SEQUENCE, extensions)
    return der.tlv(der.SEQUENCE, body)


def _distribution_point_name(urls: Sequence[str]) -> bytes:
    """DistributionPointName fullName [0] GeneralNames of URIs (implicit tags, RFC 5280)."""
    if not urls:
        raise ValueError("at least one URL is needed")
    names = b"".join(der.context(_URI, url.encode("ascii"), constructed=False) for url in urls)
    return der.context(0, names)


def _crl_extensions(*, authority_key_identifier: bytes, crl_number: int,
                    delta_crl_indicator: int | None, freshest_crl_urls: Sequence[str],
                    issuing_distribution_point_url: str | None) -> bytes:
    key_id = der.context(0, authority_key_identifier, constructed=False)
    extensions = [
        _extension(_ID_CE_AUTHORITY_KEY_IDENTIFIER, der.sequence(key_id)),
        _extension(_ID_CE_CRL_NUMBER, der.integer(crl_number)),
    ]
    if delta_crl_indicator is not None:
        extensions.append(_extension(_ID_CE_DELTA_CRL_INDICATOR,
                                     der.integer(delta_crl_indicator), critical=True))
    if issuing_distribution_point_url is not None:
        # IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName }
        point = der.context(0, _distribution_point_name([issuing_distribution_point_url]))
        extensions.append(_extension(_ID_CE_ISSUING_DISTRIBUTION_POINT, der.sequence(point),
                                     critical=True))
    if freshest_crl_urls:
        # FreshestCRL ::= CRLDistributionPoints: one DistributionPoint, every URL in fullName
        point = der.context(0, _distribution_point_name(list(freshest_crl_urls)))
        extensions.append(_extension(_ID_CE_FRESHEST_CRL, der.sequence(der.sequence(point))))
    return der.context(0, der.sequence(*extensions))


def _check_crl_number(name: str, value: int) -> None:
    if not 0 <= value <= MAX_CRL_NUMBER:
        raise ValueError(f"{name} must be between 0 and 2**159 - 1")


def build_crl(signer: Signer, *, issuer_name_der: bytes, authority_key_identifier: bytes,
              crl_number: int, this_update: datetime, next_update: datetime,
              entries: Iterable[bytes], delta_crl_indicator: int | None = None,
              freshest_crl_urls: Sequence[str] = (),
              issuing_distribution_point_url: str | None = None) -> bytes:
    """A signed CertificateList (DER) around pre-encoded ``entries``, in the caller's order.

    ``entries`` come from :func:`encode_revoked_entry` and are not re-checked; since
    they are only concatenated, an item may also be a pre-joined run of entries.
    ``delta_crl_indicator`` (the base CRL number) makes this a delta CRL, which
    may not carry freshestCRL (RFC 5280 §5.2.6). A delta CRL and its base must
    have the same issuingDistributionPoint (both none or the same URL).
    """
    _check_crl_number("crl_number", crl_number)
    if delta_crl_indicator is not None:
        _check_crl_number("delta_crl_indicator", delta_crl_indicator)
        if delta_crl_indicator >= crl_number:
            raise ValueError("a delta CRL's number must be above its base CRL number")
        if freshest_crl_urls:
            raise ValueError("freshestCRL must not appear in a delta CRL")
    if not authority_key_identifier:
        raise ValueError("authority_key_identifier is empty")
    tag, _, end = der.read_tlv(issuer_name_der)
    if tag != der.SEQUENCE or end != len(issuer_name_der):
        raise ValueError("issuer_name_der is not one DER Name")

    items = entries if isinstance(entries, list) else list(entries)
    algorithm = signer.signature_algorithm().dump()
    head = b"".join((_VERSION_V2, algorithm, issuer_name_der,
                     der.x509_time(this_update), der.x509_time(next_update)))
    if next_update <= this_update:
        raise ValueError("next_update must be after this_update")
    tail = _crl_extensions(authority_key_identifier=authority_key_identifier,
                           crl_number=crl_number, delta_crl_indicator=delta_crl_indicator,
                           freshest_crl_urls=freshest_crl_urls,
                           issuing_distribution_point_url=issuing_distribution_point_url)
    entries_length = sum(map(len, items))
    if entries_length:  # revokedCertificates is left out, never empty (RFC 5280 §5.1.2.6)
        revoked_header = der.header(der.SEQUENCE, entries_length)
        tbs_length = len(head) + len(revoked_header) + entries_length + len(tail)
        # BytesIO.writelines copies each entry once, in C, and getvalue() hands over its
        # buffer without a copy; b"".join would add a 80-byte Py_buffer per entry on top.
        buffer = io.BytesIO()
        buffer.write(der.header(der.SEQUENCE, tbs_length) + head + revoked_header)
        buffer.writelines(items)
        buffer.write(tail)
        tbs = buffer.getvalue()
        del buffer
    else:
        tbs = der.sequence(head, tail)
    signature = der.bit_string(signer.sign(tbs))
    outer_length = len(tbs) + len(algorithm) + len(signature)
    return b"".join((der.header(der.SEQUENCE, outer_length), tbs, algorithm, signature))


# ---- reading a CRL back (publishing stores it in pieces; auditors recompute digests) ----


def revoked_span(crl_der: bytes) -> tuple[int, int]:
    """Where a CRL's revokedCertificates contents are: (start, end); empty when none."""
    _, start, end = der.read_tlv(crl_der)
    _, tbs_start, tbs_end = der.read_tlv(crl_der, start, end)
    times = 0
    for tag, offset, content_start, content_end in der.iter_tlvs(crl_der, tbs_start, tbs_end):
        if tag in (der.UTC_TIME, der.GENERALIZED_TIME):
            times += 1
        elif times and tag == der.SEQUENCE:
            return content_start, content_end
        elif times:
            return offset, offset  # no entries: where they would be
    return tbs_end, tbs_end


def revoked_certificates(crl_der: bytes) -> memoryview:
    """The contents of a CRL's revokedCertificates (empty when it has none)."""
    start, end = revoked_span(crl_der)
    return memoryview(crl_der)[start:end]


def split_entries(run: bytes | memoryview) -> list[bytes]:
    """The DER entries a run of concatenated entries is made of."""
    entries, offset, data = [], 0, bytes(run)
    while offset < len(data):
        _, _, end = der.read_tlv(data, offset)
        entries.append(data[offset:end])
        offset = end
    return entries


def crl_ends(runs: Sequence[bytes], half: int) -> list[bytes]:
    """The first and the last ``half`` entries of ``runs`` (fewer if there are fewer)."""
    head: list[bytes] = []
    for run in runs:
        head.extend(split_entries(run)[:half - len(head)])
        if len(head) >= half:
            break
    tail: list[bytes] = []
    for run in reversed(runs):
        tail[:0] = split_entries(run)[-(half - len(tail)):]
        if len(tail) >= half:
            break
    return head + tail


def entries_digest(crl_der: bytes) -> tuple[int, str]:
    """(number of entries, entries_sha256) of a CRL: what its CrlIssued event must say."""
    content = revoked_certificates(crl_der)
    return len(split_entries(content)), hashlib.sha256(content).hexdigest()
