"""No private key, passphrase or token plaintext ever reaches the event log.

Every stored event is decoded and every value in it searched, in raw, hex and
base64 forms, for the CA private scalars, the key passphrase and the API token.
"""

from __future__ import annotations

import base64
from typing import Any

from api.bootstrap import CertLedger
from domain.actors import Role
from tests.conftest import ADMIN, OFFICER, PASSPHRASE, PORTAL


def _values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [v for item in value.items() for part in item for v in _values(part)]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _values(item)]
    return [value]


def _haystacks(ledger: CertLedger) -> tuple[list[bytes], str]:
    blobs: list[bytes] = []
    text: list[str] = []
    for notification in ledger.log.recorder.select_notifications(start=1, limit=100_000):
        blobs.append(notification.state)
        event = ledger.log.mapper.to_domain_event(notification)
        for value in _values(vars(event)):
            if isinstance(value, bytes):
                blobs.append(value)
                text.append(value.hex())
            else:
                text.append(str(value))
    return blobs, "\n".join(text)


def test_event_log_holds_no_secret(ledger: CertLedger, csr_pem: str) -> None:
    token = ledger.tokens.create(ADMIN, name="portal-1", role=Role.APPLICANT_PORTAL)
    cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr_pem,
                                    subject={"dns_names": ["a.example.cn"]})
    ledger.certificates.approve(OFFICER, cid)
    ledger.certificates.issue(OFFICER, cid)

    blobs, text = _haystacks(ledger)
    scalars = []
    for name in ("root-ca", "issuing-ca"):
        signer: Any = ledger.keys.load(ledger.hierarchy.get(name).key_ref)
        scalars.append(signer._key.private_numbers().private_value.to_bytes(32, "big"))
    assert scalars and all(len(s) == 32 for s in scalars)
    for secret in [*scalars, PASSPHRASE, token.encode()]:
        assert not any(secret in blob for blob in blobs)
        assert secret.hex() not in text
        assert secret.decode("latin-1") not in text
        for shift in range(3):  # any base64 alignment of the secret
            chunk = base64.b64encode(secret[shift:])[4:-4].decode()
            assert chunk not in text and not any(chunk.encode() in b for b in blobs)
    signer = ledger.hierarchy.issuer("issuing-ca").signer
    public = signer.public_key_info()["public_key"].contents[1:]
    assert public.hex() in text, "the search finds what is there (a public key is)"
