"""What an application costs and how many officers review it, by profile and kind.

Prices are in fen (0.01 CNY), as the seed portals price them (seed 004: a new
organisation certificate with its USB key, a renewal, a change, a re-application); a
profile not in the table is free. Organisation certificates need two distinct
approvers (separation of duties, n-of-m with m the officers of the portal); the others
one.
"""

from __future__ import annotations

from domain.certificate_rules import ApplicationKind

__all__ = ["CURRENCY", "PRICES", "APPROVERS", "price", "approvers_required", "MEDIA_PRICE"]

CURRENCY = "CNY"
NEW, RENEW, CHANGE, REAPPLY = (ApplicationKind.NEW, ApplicationKind.RENEW,
                               ApplicationKind.CHANGE, ApplicationKind.REAPPLY)
PRICES: dict[str, dict[ApplicationKind, int]] = {
    "organisation-signing": {NEW: 60000, RENEW: 40000, CHANGE: 20000, REAPPLY: 40000},
    "personal-signing": {NEW: 10000, RENEW: 8000, CHANGE: 5000, REAPPLY: 8000},
    "tls-server": {NEW: 30000, RENEW: 30000, CHANGE: 30000, REAPPLY: 30000},
}
MEDIA_PRICE = {"usb-key": 8000}   # a USB key (UKey), shipped
APPROVERS = {"organisation-signing": 2}


def price(profile: str, kind: ApplicationKind, media: object = None) -> int:
    """The price of an application of ``kind`` for ``profile`` with ``media``, in fen."""
    extra = MEDIA_PRICE.get(media, 0) if isinstance(media, str) else 0
    return PRICES.get(profile, {}).get(kind, 0) + extra


def approvers_required(profile: str) -> int:
    return APPROVERS.get(profile, 1)
