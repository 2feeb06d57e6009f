"""Deterministic aggregate ids for unique values (uuid5): a taken value is a conflict."""

from __future__ import annotations

from uuid import UUID, uuid5

__all__ = ["NAMESPACE", "serial_claim_id", "token_id", "username_claim_id",
           "order_number_claim_id", "order_id", "usage_id"]

NAMESPACE = UUID("6f1c1d4e-2b0a-5c8e-9f3a-7d1e0c4b8a21")


def serial_claim_id(issuer: str, serial_number: int) -> UUID:
    return uuid5(NAMESPACE, f"serial:{issuer}:{serial_number:x}")


def token_id(token_hash_hex: str) -> UUID:
    return uuid5(NAMESPACE, f"token:{token_hash_hex}")


def username_claim_id(portal: str, username: str) -> UUID:
    """The claim on an (upper-case) username within a portal."""
    return uuid5(NAMESPACE, f"username:{portal}:{username}")


def order_number_claim_id(order_number: str) -> UUID:
    """The claim on an order number (``CL-2026-000123``)."""
    return uuid5(NAMESPACE, f"order-number:{order_number}")


def order_id(certificate_id: UUID) -> UUID:
    """The order of an application: keyed by the application's (certificate's) id."""
    return uuid5(NAMESPACE, f"order:{certificate_id}")


def usage_id(account_id: str, profile: str) -> UUID:
    """The one valid certificate of an account for a usage (profile)."""
    return uuid5(NAMESPACE, f"usage:{account_id}:{profile}")
