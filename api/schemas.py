"""JSON Schemas (2020-12, as OpenAPI 3.1 takes them) of what the API takes and answers.

Answers are described exactly (``additionalProperties: false``), so a view that starts
answering something else fails the schemathesis run (tests/e2e/test_openapi.py).
"""

from __future__ import annotations

from typing import Any

from api.order_schemas import ORDER_SCHEMAS

__all__ = ["COMPONENTS", "ref"]

_TEXT: dict[str, Any] = {"type": "string"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_ID: dict[str, Any] = {"type": "string", "format": "uuid"}
_NULLABLE_TEXT: dict[str, Any] = {"type": ["string", "null"]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None, *,
            closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object",
                              "properties": {**required, **(optional or {})},
                              "required": list(required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


_CONTACTS = _object({"contact_name": _NULLABLE_TEXT, "phone": _NULLABLE_TEXT,
                     "email": _NULLABLE_TEXT, "address": _NULLABLE_TEXT})
_CONTACTS_IN = _object({"phone": {**_TEXT, "description": "a mobile number or a fixed line "
                                  "with its area code (+86 allowed)"}},
                       {"contact_name": _TEXT, "email": _TEXT, "address": _TEXT})
_VERIFICATION = {"oneOf": [{"type": "null"}, _object(
    {"name": _TEXT, "method": _TEXT, "evidence_sha256": _TEXT, "verified_by": _TEXT,
     "verified_at": _TIME}, {"licence_number": _TEXT})]}

COMPONENTS: dict[str, Any] = {
    **ORDER_SCHEMAS,
    "Error": _object({"error": _object({"code": _TEXT, "message": _TEXT},
                                       {"request_id": {**_TEXT, "description": "the request's "
                                                       "id, as in X-Request-Id and the logs"}})}),
    "Health": _object({"status": _TEXT}),
    "Readiness": _object({"status": {"enum": ["ready", "not_ready"]},
                          "checks": {"type": "object", "additionalProperties": _object(
                              {"ok": {"type": "boolean"}}, closed=False)}}),
    "OpenApiDocument": {"type": "object", "required": ["openapi", "paths"]},
    "Certificate": _object(
        {"id": _ID, "status": {"enum": ["applied", "approved", "rejected", "issued",
                                        "suspended", "revoked", "expired"]},
         "issuer": _TEXT, "profile": _TEXT, "subject": {"type": "object"},
         "key_algorithm": _TEXT, "validity_days": {"type": "integer"},
         "account_id": _NULLABLE_TEXT, "portal": _TEXT, "applied_at": _TIME,
         "updated_at": _TIME, "version": {"type": "integer"},
         "kind": {"enum": ["new", "renew", "change", "reapply"]},
         "predecessor_id": _NULLABLE_TEXT,
         "approvals": {"type": "array", "items": _TEXT},
         "approvals_required": {"type": "integer"}},
        {"pair": _object({"id": _ID, "role": {"enum": ["signing", "encryption"]},
                          "partner_id": _ID}),
         "key_source": _TEXT, "csr_signer_id": _TEXT, "rejection_reason": _TEXT,
         "serial_number": _TEXT, "not_before": _TIME, "not_after": _TIME,
         "certificate_pem": _TEXT, "terms_version": _TEXT,
         "order_number": _TEXT, "activation": {"enum": ["pending", "activated"]},
         "usable": {"type": "boolean"},
         "pin_lock": _object({"state": {"enum": ["locked", "unlock_requested",
                                                 "unlock_approved"]},
                              "key_serial": _NULLABLE_TEXT,
                              "code_expires_at": {"type": ["string", "null"]},
                              "failed_tries": {"type": "integer"}}),
         "revocation": _object({"reason": _TEXT, "revocation_time": _TIME,
                                "invalidity_date": {"type": ["string", "null"]},
                                "requested_by": {"enum": ["ra", "subscriber", "superseded",
                                                          None]},
                                "superseded_by": _NULLABLE_TEXT})}),
    "CertificatePair": _object({"pair_id": _ID, "signing": ref("Certificate"),
                                "encryption": ref("Certificate")}),
    "Application": _object(
        {"profile": _TEXT, "csr": {**_TEXT, "description": "PKCS#10, PEM"},
         "subject": {"type": "object"}},
        {"issuer": _TEXT, "validity_days": {"type": "integer"}, "account_id": _TEXT,
         "portal": {**_TEXT, "description": "for an officer or admin who sees several "
                    "portals; a portal token's applications are always its own portal's"},
         "kind": {"enum": ["new", "renew", "change", "reapply"],
                  "description": "new (default) names no predecessor; the others do"},
         "predecessor_id": {**_TEXT, "description": "the certificate this one follows"},
         "terms_version": _TEXT, "media": {"enum": ["usb-key"]},
         "shipping": ref("Shipping")},
        closed=False),
    "PairApplication": _object(
        {"signing_csr": _TEXT, "encryption_csr": _TEXT, "subject": {"type": "object"}},
        {"signing_profile": _TEXT, "issuer": _TEXT, "validity_days": {"type": "integer"},
         "account_id": _TEXT, "portal": _TEXT}, closed=False),
    "Rejection": _object({"reason": _TEXT}, closed=False),
    "Revocation": _object(
        {"reason": {"oneOf": [_TEXT, {"type": "integer"}],
                    "description": "RFC 5280 CRLReason: keyCompromise, ... or its code"}},
        {"invalidity_date": _TIME, "comment": _TEXT}, closed=False),
    "Comment": _object({}, {"comment": _TEXT}, closed=False),
    "Empty": {"type": "object"},
    "Registration": _object(
        {"kind": {"enum": ["enterprise", "personal", "competent-department"]},
         "username": _TEXT, "name": _TEXT, "contacts": _CONTACTS_IN},
        {"licence_number": {**_TEXT, "description": "unified social credit code (GB 32100)"
                            "; required for an enterprise"},
         "portal": _TEXT}, closed=False),
    "Contacts": _CONTACTS_IN,
    "Handler": _object({"name": _TEXT, "phone": _TEXT, "id_number": {
        **_TEXT, "description": "resident identity card number (GB 11643); kept only as "
        "an HMAC"}}, closed=False),
    "VerificationRecord": _object(
        {"target": {"enum": ["person", "enterprise"]}, "name": _TEXT,
         "number": {**_TEXT, "description": "person: identity card number (kept as an HMAC)"
                    "; enterprise: unified social credit code"},
         "method": _TEXT,
         "evidence_sha256": {**_TEXT, "description": "SHA-256 of the evidence, hex"}},
        closed=False),
    "Account": _object(
        {"id": _ID, "portal": _TEXT,
         "kind": {"enum": ["enterprise", "personal", "competent-department"]},
         "username": _TEXT, "name": _TEXT, "licence_number": _NULLABLE_TEXT,
         "contacts": _CONTACTS,
         "handler": {"oneOf": [{"type": "null"}, _object(
             {"name": _TEXT, "phone": _TEXT, "id_number_recorded": {"type": "boolean"}})]},
         "verifications": _object({"person": _VERIFICATION, "enterprise": _VERIFICATION}),
         "registered_at": _TIME, "updated_at": _TIME, "version": {"type": "integer"}}),
    "AccountSummary": _object(
        {"id": _ID, "portal": _TEXT, "kind": _TEXT, "username": _TEXT, "name": _TEXT,
         "licence_number": _NULLABLE_TEXT, "phone": _NULLABLE_TEXT,
         "email": _NULLABLE_TEXT, "handler_name": _NULLABLE_TEXT,
         "verified": _object({"person": {"type": "boolean"},
                              "enterprise": {"type": "boolean"}}),
         "registered_at": _TIME}),
    "AccountList": _object({"items": {"type": "array", "items": ref("AccountSummary")},
                            "next_cursor": _NULLABLE_TEXT}),
    "SignedTreeHead": _object(
        {"number": {"type": "integer"}, "tree_size": {"type": "integer"},
         "last_position": {"type": "integer"}, "position": {"type": "integer"},
         "timestamp": _TIME, "root_hash": {**_TEXT, "description": "SHA-256, hex"},
         "frontier": _TEXT, "signature": _TEXT, "signature_algorithm": _TEXT,
         "signer_certificate": {**_TEXT, "description": "DER, base64"}}),
    "CrlNumbers": _object({"ca": _TEXT, "crl_numbers": {"type": "array",
                                                        "items": {"type": "integer"}}}),
    "Portal": _object({"code": _TEXT, "name": _TEXT,
                       "created_at": {"type": ["string", "null"], "format": "date-time"},
                       "created_by": _NULLABLE_TEXT}),
    "PortalList": _object({"items": {"type": "array", "items": ref("Portal")}}),
    "PortalCreation": _object({"code": {**_TEXT, "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
                               "name": _TEXT}, closed=False),
    "TokenCreation": _object(
        {"name": _TEXT,
         "role": {"enum": ["applicant-portal", "officer", "admin", "auditor"]}},
        {"portal": {**_TEXT, "description": "applicant-portal: its one portal"},
         "portals": {"oneOf": [{"type": "array", "items": _TEXT}, {"const": "*"}],
                     "description": "officer: the portals it sees, or \"*\" for every one"}},
        closed=False),
    "CreatedToken": _object(
        {"id": _ID, "name": _TEXT, "role": _TEXT,
         "portals": {"oneOf": [{"type": "array", "items": _TEXT}, {"type": "null"}]},
         "token": {**_TEXT, "description": "the bearer token, shown in this answer only"}}),
}

_PAGE_OF = {"type": "integer", "minimum": 1}
COMPONENTS.update({
    "LockReport": _object({}, {"key_serial": {**_TEXT, "description": "the USB key's serial"},
                               "comment": _TEXT}, closed=False),
    "KeyUnlockRequest": _object({"key_serial": _TEXT}, {"comment": _TEXT}, closed=False),
    "UnlockApproval": _object(
        {"certificate": ref("Certificate"),
         "unlock_code": {**_TEXT, "description": "the one-time unlock authorisation code: "
                         "in this answer only (never stored); valid 24 h, 5 wrong tries"},
         "expires_at": _TIME}),
    "UnlockCode": _object({"code": _TEXT}, closed=False),
    "Message": _object(
        {"id": _ID, "account_id": _NULLABLE_TEXT, "portal": _TEXT,
         "kind": {"enum": ["system", "review", "expiry"]}, "title": _TEXT, "body": _TEXT,
         "certificate_id": _NULLABLE_TEXT, "created_at": _TIME, "read": {"type": "boolean"}}),
    "MessageList": _object({"items": {"type": "array", "items": ref("Message")},
                            "unread": {"type": "integer"}, "next_cursor": _NULLABLE_TEXT}),
    "BindingCheck": _object(
        {"username": _TEXT, "certificate": {**_TEXT, "description": "PEM, or DER in base64"}},
        closed=False),
    "BindingVerdict": _object(
        {"allowed": {"type": "boolean"},
         "reason": {"oneOf": [{"type": "null"}, {"enum": [
             "not_issued_by_us", "another_account", "revoked", "superseded", "on_hold",
             "expired", "not_activated", "pin_locked"]}]},
         "certificate_id": _NULLABLE_TEXT}),
    "Announcement": _object({"serial_number": _TEXT, "organisation": _NULLABLE_TEXT,
                             "common_name": _NULLABLE_TEXT, "revocation_date": _TIME,
                             "reason": _TEXT}),
    "AnnouncementList": _object({"ca": _TEXT, "items": {"type": "array",
                                                         "items": ref("Announcement")},
                                 "next_cursor": _NULLABLE_TEXT}),
    "SystemNoticeIn": _object({"portal": _TEXT, "title": _TEXT, "body": _TEXT},
                              {"account_id": {**_TEXT, "description": "one account of the "
                                              "portal; absent: every account of it"}},
                              closed=False),
    "SystemNoticePosted": _object({"id": _ID, "portal": _TEXT, "account_id": _NULLABLE_TEXT,
                                   "title": _TEXT, "body": _TEXT}),
    "WebhookRegistration": _object({"portal": _TEXT, "url": {**_TEXT, "maxLength": 500}},
                                   closed=False),
    "WebhookCreated": _object({"portal": _TEXT, "url": _TEXT, "secret": {
        **_TEXT, "description": "the HMAC-SHA256 signing secret: in this answer only"}}),
    "WebhookList": _object({"items": {"type": "array", "items": _object(
        {"portal": _TEXT, "url": _TEXT, "registered_at": _TIME,
         "delivered": {"type": "integer"}, "pending": {"type": "integer"}})}}),
    "DeliveryList": _object({"portal": _TEXT, "items": {"type": "array", "items": _object(
        {"message_id": _TEXT, "attempts": {"type": "integer"},
         "delivered_at": {"type": ["string", "null"]}, "next_attempt_at": _TIME,
         "last_error": _NULLABLE_TEXT})}}),
    "PublicQuery": _object({}, {name: {**_TEXT, "maxLength": 200} for name in (
        "order_number", "certificate_id", "username", "organisation", "handler_phone",
        "handler_id_number")}, closed=False),
    "PublicQueryAnswer": _object({"items": {"type": "array", "items": _object(
        {"status": _TEXT, "applied_at": _TIME, "updated_at": _TIME,
         "not_before": {"type": ["string", "null"]},
         "not_after": {"type": ["string", "null"]}})}}),
})
