"""Billing contracts: the agreement under which a customer is billed, with versioned terms.

A contract runs from ``start`` to ``end`` (open-ended when None). Its terms (plan, billing cycle,
payment method and terms, credit limit, price overrides, additional services) change only by adding
a version with an ``effective_from``; the history is kept, and each moment is billed under the terms
in force then. The lifecycle is DRAFT -> ACTIVE <-> SUSPENDED -> ENDED (DRAFT may also end):

    >>> can_move(ContractStatus.ACTIVE, ContractStatus.SUSPENDED)
    True
    >>> can_move(ContractStatus.ENDED, ContractStatus.ACTIVE)
    False
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from evbill.domain.offers.plans import BillingCycle, ConnectorClass


class ContractStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"  # e.g. for non-payment: tokens stop authorising
    ENDED = "ENDED"


_MOVES = {
    ContractStatus.DRAFT: {ContractStatus.ACTIVE, ContractStatus.ENDED},
    ContractStatus.ACTIVE: {ContractStatus.SUSPENDED, ContractStatus.ENDED},
    ContractStatus.SUSPENDED: {ContractStatus.ACTIVE, ContractStatus.ENDED},
    ContractStatus.ENDED: set(),
}


def can_move(current: ContractStatus, target: ContractStatus) -> bool:
    return target in _MOVES[current]


class PaymentMethodKind(enum.StrEnum):
    CARD_ON_FILE = "CARD_ON_FILE"
    PREPAID_WALLET = "PREPAID_WALLET"
    INVOICE_BANK_TRANSFER = "INVOICE_BANK_TRANSFER"
    DIRECT_DEBIT = "DIRECT_DEBIT"


class FeeRecurrence(enum.StrEnum):
    ONCE = "ONCE"  # charged in the cycle the terms take effect
    PER_CYCLE = "PER_CYCLE"  # charged every cycle, prorated like the plan fee


class ServiceKind(enum.StrEnum):
    RFID_CARD = "RFID_CARD"
    RESERVED_BAY = "RESERVED_BAY"
    ROAMING_ACCESS = "ROAMING_ACCESS"
    HOME_CHARGER_REIMBURSEMENT = "HOME_CHARGER_REIMBURSEMENT"  # a credit: negative amount
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class ServiceFee:
    kind: ServiceKind
    description: str
    amount: Decimal  # excl. VAT; negative for a reimbursement
    vat: Decimal | None
    recurrence: FeeRecurrence


@dataclass(frozen=True, slots=True)
class ContractTerms:
    id: str
    operator_id: str
    contract_id: str
    number: int
    effective_from: datetime
    plan_id: str
    billing_cycle: BillingCycle
    payment_method: PaymentMethodKind
    payment_due_days: int
    grace_days: int
    credit_limit_minor: int | None
    overrides: Mapping[ConnectorClass, str] = field(default_factory=dict)  # class -> tariff id
    services: tuple[ServiceFee, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Contract:
    id: str
    operator_id: str
    customer_id: str
    status: ContractStatus
    start: datetime
    end: datetime | None
    current_terms: int
    created_at: datetime
    updated_at: datetime
    version: int = 1

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)
