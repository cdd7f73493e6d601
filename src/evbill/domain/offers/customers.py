"""Customers and their tokens: who charges, and what they identify themselves with at the charger.

A customer is a driver (``INDIVIDUAL``) or a business account (``BUSINESS``: a fleet); a fleet's
drivers are customers whose ``parent_id`` is the business, and the business is billed for them.
Tokens (RFID cards, app users, ad-hoc payment ids) belong to one customer. Whether a token may start
a session right now follows from the token and the customer's contract:

    >>> from datetime import UTC, datetime
    >>> now = datetime(2026, 11, 21, tzinfo=UTC)
    >>> authorization(TokenStatus.ACTIVE, None, contract_active=True, now=now)
    <AuthorizationStatus.ACCEPTED: 'Accepted'>
    >>> authorization(TokenStatus.ACTIVE, None, contract_active=False, now=now)
    <AuthorizationStatus.BLOCKED: 'Blocked'>
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class CustomerKind(enum.StrEnum):
    INDIVIDUAL = "INDIVIDUAL"
    BUSINESS = "BUSINESS"


class TokenType(enum.StrEnum):
    """OCPI 2.2.1 TokenType."""

    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


class TokenStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    BLOCKED = "BLOCKED"


class AuthorizationStatus(enum.StrEnum):
    """What a charger is told (OCPP AuthorizationStatus values)."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"  # the token is already in a session elsewhere


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    operator_id: str
    kind: CustomerKind
    name: str
    email: str | None
    language: str  # ISO 639-1, e.g. "nl"
    currency: str  # ISO 4217
    country: str  # ISO 3166-1 alpha-2
    address: str | None
    city: str | None
    postal_code: str | None
    vat_id: str | None  # normalised, e.g. "NL004495445B01"
    parent_id: str | None  # the business account of a fleet driver
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    operator_id: str
    customer_id: str
    uid: str  # what the reader sees (RFID UID) or the app's id
    type: TokenType
    contract_id: str  # eMA id, e.g. NL-EVB-C12345678-X
    status: TokenStatus
    valid_until: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int = 1


def authorization(
    status: TokenStatus, valid_until: datetime | None, *, contract_active: bool, now: datetime
) -> AuthorizationStatus:
    """Accepted only for an active, unexpired token whose customer has an active contract."""
    if status is TokenStatus.BLOCKED:
        return AuthorizationStatus.BLOCKED
    if valid_until is not None and now >= valid_until:
        return AuthorizationStatus.EXPIRED
    if not contract_active:
        return AuthorizationStatus.BLOCKED
    return AuthorizationStatus.ACCEPTED
