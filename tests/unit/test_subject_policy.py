"""What never reaches a certificate: subject characters, DNS names, e-mail addresses, the
subjectAltName types and IP ranges of each profile (issue 7, items 4, 5, 6 and 7)."""

from __future__ import annotations

import pytest

from ca.policy.profiles import PROFILES
from ca.policy.subject_names import normalise_subject
from domain.errors import InvalidRequest


@pytest.mark.parametrize("text", [
    "Alice\u0000.evil.com",       # NUL (Cc)
    "Alice\u202egpj.exe",         # RIGHT-TO-LEFT OVERRIDE (Cf)
    "Alice\nCN=root\u0007",       # line feed and BEL (Cc)
    "Alice\n",                    # a control at the end is refused, not stripped
    "Al\u200bice",                # ZERO WIDTH SPACE (Cf)
    "\ufeffAlice",                # BOM (Cf)
    "Alice\ud800",                # lone surrogate (Cs)
    "Alice\ue000",                # private use (Co)
    "Alice\u0378",                # unassigned (Cn)
    "Alice\u2028Bob",             # LINE SEPARATOR (Zl)
    "Alice\u2029Bob",             # PARAGRAPH SEPARATOR (Zp)
    "Alice\u0085",                # NEXT LINE (Cc)
])
@pytest.mark.parametrize("field", ["common_name", "organization", "organizational_unit",
                                   "locality", "state"])
def test_control_format_and_unassigned_characters_are_refused(field: str, text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalise_subject({field: text})
    assert caught.value.code == "invalid_subject"
    assert f"subject.{field}" in caught.value.message


@pytest.mark.parametrize("field,value", [
    ("emails", "alice\u0000@example.com"), ("emails", "alice@example.com\u202e"),
    ("dns_names", "www.example.com\u0000"), ("dns_names", "www\u200b.example.com"),
    ("ip_addresses", "192.0.2.1\u0000"),
])
def test_list_fields_are_checked_the_same_way(field: str, value: str) -> None:
    with pytest.raises(InvalidRequest, match="never put in a certificate"):
        normalise_subject({field: [value]})


def test_names_are_normalised_to_nfc_and_chinese_names_pass() -> None:
    decomposed = "Jose\u0301 Garci\u0301a"  # e + COMBINING ACUTE ACCENT
    clean = normalise_subject({"common_name": decomposed, "organization": "北京某某科技有限公司"})
    assert clean["common_name"] == "José García" and len(clean["common_name"]) == 11
    assert clean["organization"] == "北京某某科技有限公司"


@pytest.mark.parametrize("name,needle", [
    ("xn--zz.example.cn", "not a valid A-label"),     # Punycode that does not decode
    ("www.xn--a.example.cn", "not a valid A-label"),
    ("xn--ls8h.example.cn", "not a valid A-label"),   # decodes to an emoji: not IDNA 2008
    ("ab--cd.example.cn", "reserved"),                # R-LDH label that is no A-label
    ("1.2.3.4", "all digits"),
    ("example.123", "all digits"),
    ("example.c1", "end with a letter"),
    ("*.co.uk", "public suffix"),
    ("*.com.cn", "public suffix"),
    ("*.github.io", "public suffix"),                 # private-section suffixes count too
    ("*.cn", "public suffix"),
    ("a.*.example.com", "left-most label"),
    ("w*.example.com", "left-most label"),
    ("*.*.example.com", "left-most label"),
    ("bad_name.example.com", "not a valid DNS name"),
])
def test_dns_names_that_lint_or_policy_would_refuse(name: str, needle: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalise_subject({"dns_names": [name]})
    assert needle in caught.value.message and caught.value.code == "invalid_subject"


def test_good_dns_names_pass() -> None:
    names = ["www.example.cn", "xn--fiqs8s.cn", "WWW.Example.COM.", "*.example.co.uk",
             "*.shop.example.cn"]
    assert normalise_subject({"dns_names": names})["dns_names"] == [
        "www.example.cn", "xn--fiqs8s.cn", "www.example.com", "*.example.co.uk",
        "*.shop.example.cn"]


@pytest.mark.parametrize("address", [
    "a@-..", "a@xn--zz.example.cn", "a b@example.com", "a@b@example.com", "@example.com",
    "a.@example.com", ".a@example.com", "a..b@example.com", '"a b"@example.com',
    "a@1.2.3.4", "a@[192.0.2.1]", "a@example", "张三@example.cn", "a(b)@example.com",
])
def test_email_addresses_that_could_never_be_encoded_or_linted(address: str) -> None:
    with pytest.raises(InvalidRequest, match="not an e-mail address"):
        normalise_subject({"emails": [address]})


def test_good_email_addresses_pass_with_the_domain_lowercased() -> None:
    clean = normalise_subject({"emails": ["Zhang.San+ca@Example.CN", "o'brien@xn--fiqs8s.cn"]})
    assert clean["emails"] == ["Zhang.San+ca@example.cn", "o'brien@xn--fiqs8s.cn"]


# ---- subjectAltName types and IP ranges per profile --------------------------------------

@pytest.mark.parametrize("profile,subject", [
    ("tls-server", {"dns_names": ["a.example.cn"], "emails": ["a@example.cn"]}),
    ("personal-signing", {"common_name": "A", "dns_names": ["bank.example.com"]}),
    ("personal-signing", {"common_name": "A", "ip_addresses": ["192.0.2.1"]}),
    ("organisation-signing", {"common_name": "A", "organization": "O", "country": "CN",
                              "dns_names": ["bank.example.com"]}),
    ("encryption", {"common_name": "A", "ip_addresses": ["192.0.2.1"]}),
    ("sub-ca", {"common_name": "A", "organization": "O", "country": "CN",
                "emails": ["ca@example.cn"]}),
])
def test_each_profile_takes_only_its_san_types(profile: str, subject: dict) -> None:
    with pytest.raises(InvalidRequest) as caught:
        PROFILES[profile].check_subject(normalise_subject(subject))
    assert caught.value.code == "san_type_not_allowed"


def test_the_san_types_of_today_s_profiles() -> None:
    assert {name: set(p.san_types) for name, p in PROFILES.items()} == {
        "tls-server": {"dns_names", "ip_addresses"}, "personal-signing": {"emails"},
        "organisation-signing": {"emails"}, "encryption": {"emails"}, "sub-ca": set()}
    assert not any(p.allow_loopback_ip or p.any_key_family for p in PROFILES.values())


@pytest.mark.parametrize("address", [
    "0.0.0.0", "::", "0.1.2.3", "127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1",
    "224.0.0.1", "ff02::1", "169.254.10.1", "fe80::1", "240.0.0.1", "255.255.255.255",
])
def test_addresses_of_nobody_are_never_certified(address: str) -> None:
    subject = normalise_subject({"dns_names": ["a.example.cn"], "ip_addresses": [address]})
    with pytest.raises(InvalidRequest) as caught:
        PROFILES["tls-server"].check_subject(subject)
    assert caught.value.code == "ip_address_not_allowed"


def test_public_and_private_addresses_are_certified_and_loopback_only_by_a_flag() -> None:
    from dataclasses import replace

    subject = normalise_subject({"dns_names": ["a.example.cn"],
                                 "ip_addresses": ["192.0.2.1", "10.1.2.3", "2001:db8::1"]})
    PROFILES["tls-server"].check_subject(subject)
    loopback = normalise_subject({"dns_names": ["a.example.cn"], "ip_addresses": ["::1"]})
    replace(PROFILES["tls-server"], allow_loopback_ip=True).check_subject(loopback)
