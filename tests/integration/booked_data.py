"""A small ledger for booked revenue, posted by the real flows (billing run, issue, credit, void).

One operator (``tests.billing_data``: invoicing profile in Europe/Amsterdam, a 9.99 monthly plan + 21 %
VAT) with one contract and one October session of 10 kWh (0.35 start fee + 0.39/kWh). All at 21 %
VAT, half up; moments in UTC, months local (Amsterdam: UTC+1 in November and December):

    P   2026-11-02 10:00  October's billing run: plan fee 9.99 (subscriptions), the session 0.35 (fees)
                          + 3.90 (energy); net 14.24, VAT 2.9904 -> 2.99, total 17.23        November
    S1  2026-11-20 10:00  a session invoice 10.00 = energy 6.00 + time 2.50 + idle 1.50; VAT 2.10  November
    S2  2026-11-30 23:30  a session invoice 5.00 energy; VAT 1.05 (1 December 00:30 local)   December
    CN  2026-12-05 10:00  credit note of 4.00 on P's plan fee line: subscriptions -4.00, VAT -0.84
    V   2026-12-10 09:00  S1 voided: energy -6.00, time -2.50, idle -1.50, VAT -2.10

By hand, per local month (net by kind; VAT; gross):

             energy  time   idle   fees  subscriptions    net    VAT   gross
    2026-11    9.90  2.50   1.50   0.35           9.99  24.24   5.09   29.33
    2026-12   -1.00 -2.50  -1.50   0.00          -4.00  -9.00  -1.89  -10.89
    total      8.90  0.00   0.00   0.35           5.99  15.24   3.20   18.44
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from evbill.application.access.keys import platform_actor
from evbill.application.invoicing import documents as invoicing
from evbill.application.invoicing import runs
from evbill.application.records import Services
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor
from evbill.domain.invoicing.compose import DraftLine, compose
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus, Party
from evbill.domain.money import RoundingMode
from tests.billing_data import SELLER, build_contracts
from tests.integration.collection_support import MovingClock

VAT = Decimal(21)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Booked:
    container: Container
    services: Services
    who: Actor
    plan_invoice: Document
    voided: Document


def _invoice(services: Services, who: Actor, customer_id: str | None, line: DraftLine) -> Document:
    composed = compose([line], currency="EUR", mode=RoundingMode.HALF_UP, reverse_charge=False)
    draft = Document(
        id=services.ids.new_id(), operator_id=who.operator_id, kind=DocumentKind.INVOICE,
        status=DocumentStatus.DRAFT, series="INV", number=None, contract_id=None, customer_id=customer_id,
        bill_id=None, seller=SELLER, buyer=Party("Driver 0", "NL"), language="en", composed=composed,
        rounding_mode=RoundingMode.HALF_UP, period_start=None, period_end=None, payment_due_days=14,
        created_at=services.clock.now(),
    )  # fmt: skip
    with services.uow() as uow:
        uow.invoices.add(draft)
        uow.commit()
    return invoicing.issue_document(services, who, draft.id)


def given_booked_ledger(database_url: str) -> Booked:
    """The documents of the module docstring, posted at their moments (the caller disposes of the
    container)."""
    built = build_contracts(database_url, contracts=1, sessions_per_contract=1, period="2026-10")
    container = bootstrap(Settings(database_url=database_url))
    clock = MovingClock(at(11, 2, 10))
    services = replace(container.services, clock=clock)
    who = platform_actor(built.operator_id)
    run = runs.run_billing(services, who, "2026-10")
    (item,) = runs.run_items(services, who, run.id)
    plan_invoice = invoicing.get_document(services, who, item.invoice_id)
    customer_id = plan_invoice.customer_id
    clock.moment = at(11, 20, 10)
    parts = (("ENERGY", Decimal("6.00")), ("TIME", Decimal("2.50")), ("PARKING_TIME", Decimal("1.50")))
    s1 = _invoice(services, who, customer_id, DraftLine("Charging", Decimal("10.00"), VAT, components=parts))
    clock.moment = at(11, 30, 23, 30)
    _invoice(services, who, customer_id, DraftLine("Charging", Decimal("5.00"), VAT))
    clock.moment = at(12, 5, 10)
    (fee_line,) = [line.number for line in plan_invoice.composed.lines if line.kind == "PLAN_FEE"]
    invoicing.credit_document(
        services, who, plan_invoice.id, reason="a week out of service", amounts={fee_line: Decimal("4.00")}
    )
    clock.moment = at(12, 10, 9)
    invoicing.void_document(services, who, s1.id, "issued twice")
    return Booked(container, services, who, plan_invoice, s1)
