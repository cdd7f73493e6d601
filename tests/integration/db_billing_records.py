"""Billing records for database tests: customers, tokens, plans, contracts, promotions, redemptions.

Complete and valid, every field overridable, with the values that are easy to get wrong in storage:
a fee of 9.99, an allowance of 100.000 kWh (trailing zeros kept), a negative service fee, a tariff per
connector class, aware times with microseconds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from evbill.domain.offers.contracts import (
    Contract,
    ContractStatus,
    ContractTerms,
    FeeRecurrence,
    PaymentMethodKind,
    ServiceFee,
    ServiceKind,
)
from evbill.domain.offers.customers import Customer, CustomerKind, Token, TokenStatus, TokenType
from evbill.domain.offers.plans import BillingCycle, ConnectorClass, Plan, PlanKind, PlanVersion
from evbill.domain.offers.promotions import DiscountKind, Duration, Promotion, PromotionKind, Redemption
from tests.integration.db_records import CREATED, new_id

NOVEMBER = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def a_customer(operator_id: str, **changes: Any) -> Customer:
    customer = Customer(
        id=new_id(),
        operator_id=operator_id,
        kind=CustomerKind.INDIVIDUAL,
        name="Anna de Vries",
        email="anna@example.nl",
        language="nl",
        currency="EUR",
        country="NL",
        address="Oudegracht 12",
        city="Utrecht",
        postal_code="3511 AR",
        vat_id=None,
        parent_id=None,
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(customer, **changes)


def a_token(operator_id: str, customer_id: str, **changes: Any) -> Token:
    token = Token(
        id=new_id(),
        operator_id=operator_id,
        customer_id=customer_id,
        uid=f"04{new_id()[-12:].upper()}",
        type=TokenType.RFID,
        contract_id="NL-EVB-C12345678-X",
        status=TokenStatus.ACTIVE,
        valid_until=datetime(2028, 1, 31, 23, 59, 59, 999999, tzinfo=UTC),
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(token, **changes)


def a_plan(operator_id: str, **changes: Any) -> Plan:
    plan = Plan(
        id=new_id(),
        operator_id=operator_id,
        name=f"Subscription {new_id()[-6:]}",
        kind=PlanKind.SUBSCRIPTION,
        currency="EUR",
        current_version=1,
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(plan, **changes)


def a_plan_version(operator_id: str, plan_id: str, **changes: Any) -> PlanVersion:
    version = PlanVersion(
        id=new_id(),
        operator_id=operator_id,
        plan_id=plan_id,
        number=1,
        effective_from=NOVEMBER,
        fee=Decimal("9.99"),
        fee_vat=Decimal("21"),
        fee_cycle=BillingCycle.MONTHLY,
        included_kwh=Decimal("100.000"),
        included_minutes=600,
        fair_use_kwh=None,
        tariffs={ConnectorClass.AC: "tariff-ac", ConnectorClass.HPC: "tariff-hpc"},
        created_at=CREATED,
    )
    return replace(version, **changes)


def a_contract(operator_id: str, customer_id: str, **changes: Any) -> Contract:
    contract = Contract(
        id=new_id(),
        operator_id=operator_id,
        customer_id=customer_id,
        status=ContractStatus.ACTIVE,
        start=NOVEMBER,
        end=None,
        current_terms=1,
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(contract, **changes)


SERVICES = (
    ServiceFee(ServiceKind.RFID_CARD, "Charge card", Decimal("5.00"), Decimal("21"), FeeRecurrence.ONCE),
    ServiceFee(
        ServiceKind.HOME_CHARGER_REIMBURSEMENT,
        "Home charging, 212.5 kWh at 0.30",
        Decimal("-63.75"),
        None,
        FeeRecurrence.PER_CYCLE,
    ),
)


def contract_terms(operator_id: str, contract_id: str, plan_id: str, **changes: Any) -> ContractTerms:
    terms = ContractTerms(
        id=new_id(),
        operator_id=operator_id,
        contract_id=contract_id,
        number=1,
        effective_from=NOVEMBER,
        plan_id=plan_id,
        billing_cycle=BillingCycle.MONTHLY,
        payment_method=PaymentMethodKind.INVOICE_BANK_TRANSFER,
        payment_due_days=30,
        grace_days=14,
        credit_limit_minor=250_000,
        overrides={ConnectorClass.DC: "tariff-fleet-dc"},
        services=SERVICES,
        created_at=CREATED,
    )
    return replace(terms, **changes)


def a_promotion(operator_id: str, **changes: Any) -> Promotion:
    promotion = Promotion(
        id=new_id(),
        operator_id=operator_id,
        name="Winter coupon",
        kind=PromotionKind.COUPON,
        code=f"WINTER{new_id()[-6:].upper()}",
        discount_kind=DiscountKind.PERCENT,
        value=Decimal("12.5"),
        duration=Duration.CYCLES,
        cycles=3,
        cap=Decimal("25.00"),
        starts_at=NOVEMBER,
        expires_at=datetime(2027, 3, 1, tzinfo=UTC),
        max_redemptions=1000,
        per_customer_limit=3,
        priority=10,
        exclusive=True,
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(promotion, **changes)


def a_redemption(promotion: Promotion, contract: Contract, **changes: Any) -> Redemption:
    redemption = Redemption(
        id=new_id(),
        operator_id=contract.operator_id,
        promotion_id=promotion.id,
        customer_id=contract.customer_id,
        contract_id=contract.id,
        cycle_start=NOVEMBER,
        discount_excl_vat=Decimal("1.3650000000"),
        free_kwh_used=Decimal("0"),
        created_at=CREATED,
    )
    return replace(redemption, **changes)
