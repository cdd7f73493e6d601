"""Operators (tenants), the roles of the people and programs acting for them, and what each role may do.

Every business record belongs to exactly one operator; nothing crosses operators. An API key acts for
one operator with one role:

    >>> Role.SUPPORT.allows(Permission.READ), Role.SUPPORT.allows(Permission.MANAGE_TARIFFS)
    (True, False)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from evbill.domain.money import RoundingMode


class Permission(enum.StrEnum):
    READ = "read"
    MANAGE_OPERATOR = "manage_operator"
    MANAGE_SITES = "manage_sites"  # locations, stations, EVSEs, connectors
    MANAGE_TARIFFS = "manage_tariffs"
    MANAGE_KEYS = "manage_keys"
    READ_AUDIT = "read_audit"
    MANAGE_SESSIONS = "manage_sessions"
    MANAGE_CUSTOMERS = "manage_customers"  # customers' own details (names, addresses, VAT ids)
    MANAGE_TOKENS = "manage_tokens"  # tokens: issue, block, unblock, import
    MANAGE_CONTRACTS = "manage_contracts"  # contracts: create, activate, terms (fees, credit limits), status
    MANAGE_PLANS = "manage_plans"  # plans and promotions, and giving a promotion to a customer
    BILL = "bill"  # run billing


class Role(enum.StrEnum):
    ADMIN = "admin"
    BILLING = "billing"
    SUPPORT = "support"
    READ_ONLY = "read_only"
    STATION = "station"  # a charging station acting for its operator over OCPP; never an API key's role

    def allows(self, permission: Permission) -> bool:
        return permission in _ROLE_PERMISSIONS[self]


_ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.BILLING: frozenset(
        {
            Permission.READ,
            Permission.MANAGE_TARIFFS,
            Permission.READ_AUDIT,
            Permission.MANAGE_CUSTOMERS,
            Permission.MANAGE_TOKENS,
            Permission.MANAGE_CONTRACTS,
            Permission.MANAGE_PLANS,
            Permission.BILL,
        }
    ),
    # Support reads, looks after sessions and corrects a customer's details; nothing it does moves money
    # (no contracts, credit limits, fees, token unblocking or promotions).
    Role.SUPPORT: frozenset({Permission.READ, Permission.MANAGE_SESSIONS, Permission.MANAGE_CUSTOMERS}),
    Role.READ_ONLY: frozenset({Permission.READ}),
    Role.STATION: frozenset({Permission.READ, Permission.MANAGE_SESSIONS}),
}
API_KEY_ROLES = (Role.ADMIN, Role.BILLING, Role.SUPPORT, Role.READ_ONLY)


@dataclass(frozen=True, slots=True)
class Operator:
    """A charge point operator: the legal entity that bills, in its currency and rounding policy."""

    id: str
    name: str
    legal_name: str
    country: str  # ISO 3166-1 alpha-2
    default_currency: str  # ISO 4217
    rounding_mode: RoundingMode
    tax_country: str  # ISO 3166-1 alpha-2
    vat_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an API key (or a person, later) for one operator with one role."""

    operator_id: str
    role: Role
    key_id: str
    name: str

    def may(self, permission: Permission) -> bool:
        return self.role.allows(permission)
