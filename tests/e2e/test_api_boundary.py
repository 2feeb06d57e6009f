"""Bad input at the RA API boundary is a 4xx JSON error that records nothing, never a 500:
deep nesting, lone surrogates, dates that overflow, numbers JSON does not have."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Api
from tests.helpers import make_csr

TLS = {"profile": "tls-server", "subject": {"dns_names": ["portal.example.cn"]}}


def _head(api: Api) -> int:
    return api.ledger.log.recorder.max_notification_id() or 0


def _issued(api: Api, csr_pem: str) -> str:
    cid = api.call("POST", "/api/v1/certificates", json={**TLS, "csr": csr_pem}).json["id"]
    api.call("POST", f"/api/v1/certificates/{cid}/approve")
    assert api.call("POST", f"/api/v1/certificates/{cid}/issue").status_code == 200
    return str(cid)


def _write_routes(api: Api, csr_pem: str) -> list[str]:
    cid = _issued(api, csr_pem)
    pair = api.call("POST", "/api/v1/certificate-pairs", json={
        "signing_csr": make_csr_pem(), "encryption_csr": make_csr_pem(),
        "subject": {"common_name": "Li Si"}})
    assert pair.status_code == 201, pair.json
    pid = pair.json["pair_id"]
    return ["/api/v1/certificates", "/api/v1/certificate-pairs"] + [
        f"/api/v1/certificates/{cid}/{verb}"
        for verb in ("approve", "reject", "issue", "revoke", "suspend", "resume")] + [
        f"/api/v1/certificate-pairs/{pid}/{verb}" for verb in ("approve", "reject", "issue")]


def make_csr_pem() -> str:
    from ca.encoding.algorithms import KeyAlgorithm

    return make_csr(KeyAlgorithm.ECDSA_P256)[1]


def _refused(api: Api, path: str, status: int, code: str, *, body: Any = None,
             data: str | bytes | None = None, role: str = "admin") -> None:
    before = _head(api)
    if data is None:
        data = json.dumps(body)
    response = api.call("POST", path, role=role, data=data, content_type="application/json")
    assert response.status_code == status, (path, response.status_code, response.data[:300])
    assert response.json["error"]["code"] == code
    assert _head(api) == before


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deep_nesting_is_a_400_on_every_write_route(api: Api, csr_pem: str,
                                                    opening: str) -> None:
    for path in _write_routes(api, csr_pem):
        _refused(api, path, 400, "bad_json", data=opening * 5000)


SURROGATE = "\ud800"


def test_a_lone_surrogate_anywhere_in_the_body_is_a_400(api: Api, csr_pem: str) -> None:
    cid = _issued(api, csr_pem)
    certificates = "/api/v1/certificates"
    cases: list[tuple[str, dict[str, Any]]] = [
        (certificates, {**TLS, "csr": csr_pem, "account_id": f"acct{SURROGATE}"}),
        (certificates, {**TLS, "csr": csr_pem,
                        "subject": {"dns_names": ["portal.example.cn"],
                                    "organization": f"Org{SURROGATE}"}}),
        (certificates, {**TLS, "csr": csr_pem, "subject": {f"dns{SURROGATE}": ["x.cn"]}}),
        (certificates, {**TLS, "csr": csr_pem, "extra": [[{"deep": SURROGATE}]]}),
        (f"{certificates}/{cid}/suspend", {"comment": f"lost {SURROGATE}"}),
        (f"{certificates}/{cid}/revoke", {"reason": "keyCompromise",
                                          "comment": f"x{SURROGATE}"}),
        (f"{certificates}/{cid}/revoke", {"reason": f"keyCompromise{SURROGATE}"}),
    ]
    for path, body in cases:
        _refused(api, path, 400, "bad_text", body=body)
    applied = api.call("POST", certificates, json={**TLS, "csr": csr_pem}).json["id"]
    _refused(api, f"{certificates}/{applied}/reject", 400, "bad_text",
             body={"reason": f"no{SURROGATE}"})
    # the same text with a valid pair of surrogates (one character, U+1F600) is fine
    ok = api.call("POST", f"{certificates}/{applied}/reject", json={"reason": "no \U0001f600"})
    assert ok.status_code == 200, ok.json


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                    "0001-01-01T00:00:00+23:59"])
def test_an_invalidity_date_out_of_range_is_a_400(api: Api, csr_pem: str, moment: str) -> None:
    cid = _issued(api, csr_pem)
    _refused(api, f"/api/v1/certificates/{cid}/revoke", 400, "bad_time",
             body={"reason": "keyCompromise", "invalidity_date": moment})


@pytest.mark.parametrize("value", [20260101, ["2026-01-01T00:00:00Z"], {"at": 1}, True])
def test_an_invalidity_date_that_is_not_text_is_a_400(api: Api, csr_pem: str,
                                                      value: Any) -> None:
    cid = _issued(api, csr_pem)
    _refused(api, f"/api/v1/certificates/{cid}/revoke", 400, "bad_time",
             body={"reason": "keyCompromise", "invalidity_date": value})


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "1" * 5000])
def test_numbers_json_does_not_have_are_a_400(api: Api, csr_pem: str, number: str) -> None:
    body = json.dumps({**TLS, "csr": csr_pem})[:-1] + f', "validity_days": {number}}}'
    _refused(api, "/api/v1/certificates", 400, "bad_json", data=body)


def test_bodies_that_are_not_utf8_json_are_a_400(api: Api, csr_pem: str) -> None:
    path = "/api/v1/certificates"
    _refused(api, path, 400, "bad_json", data=json.dumps({**TLS, "csr": csr_pem})
             .encode("utf-16"))
    _refused(api, path, 400, "bad_json", data=b'{"profile": "\xed\xa0\x80"}')  # CESU surrogate
    _refused(api, path, 400, "bad_json", data=b'["' + b'\\"' * 20000)


def test_nesting_within_the_limit_reaches_the_view(api: Api, csr_pem: str) -> None:
    nested: Any = "x"
    for _ in range(30):
        nested = [nested]
    response = api.call("POST", "/api/v1/certificates",
                        json={**TLS, "csr": csr_pem, "validity_days": nested})
    assert response.status_code == 400 and response.json["error"]["code"] != "bad_json"


def test_an_unexpected_error_is_still_a_500(api: Api, csr_pem: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad input never reaches the generic handler; a real bug still shows as a 500."""
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.ledger.certificates, "approve", broken)
    cid = api.call("POST", "/api/v1/certificates", json={**TLS, "csr": csr_pem}).json["id"]
    response = api.call("POST", f"/api/v1/certificates/{cid}/approve")
    assert response.status_code == 500 and response.json["error"]["code"] == "internal_error"
