"""Revenue reports net of credit notes and voids, with refunds as their own column, computed by hand;
the report's corrected net revenue equals the ledger's revenue accounts for the same period (SQLite
and PostgreSQL).

The network of ``tests.unit.analytics_data`` (Europe/Amsterdam), billed per session (cents, net / gross):
A 530 / 631 (C1, 2 March), B 1240 / 1500 (C2, 5 March), C 210 / 254 (C1, 31 March 22:30 UTC = 1 April
local), D 188 / 227 (anonymous, 2 April). Documents, one session line each at 21 % VAT, half up:

    INV-A  A  5.30 + 1.11   issued 2026-03-31 08:00 UTC
    INV-B  B 12.40 + 2.60   issued 2026-03-06 10:00 UTC
    INV-C  C  2.10 + 0.44   issued 2026-03-31 23:00 UTC (1 April local; March in UTC)
    INV-D  D  1.88 + 0.39   issued 2026-04-02 12:00 UTC, voided 2026-04-03 09:00 UTC
    CN     B  4.00 + 0.84   credit note for INV-B issued 2026-04-10 10:00 UTC (the supply was in March)
    refund of 1.00 on D's payment at the charger

A correction counts in its own period, as the ledger posts it: the credit note takes 4.00 from April,
not from March. Windows in UTC (the ledger's moments):
    March [03-01, 04-01): sessions A B C, billed net 19.80; ledger revenue 5.30 + 12.40 + 2.10 = 19.80
    April [04-01, 05-01): session D 1.88, void -1.88, credit note -4.00 = -4.00; ledger 1.88 - 1.88 - 4.00
    Both: 21.68 - 1.88 - 4.00 = 15.80 (gross 26.12 - 4.84 - 2.27 = 19.01); VAT taken: 0.84 and 0.39.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from evbill.application.analytics.reports import shown_report, usage_report
from evbill.application.invoicing import documents as invoicing
from evbill.application.ledger import queries
from evbill.application.ports import UnitOfWorkFactory
from evbill.application.records import Services
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.invoicing.compose import DraftLine, compose
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus, Party
from evbill.domain.money import RoundingMode
from evbill.domain.payments.events import EventKind, PaymentEvent
from evbill.domain.payments.model import Payment, PaymentPurpose
from tests.billing_data import save_seller
from tests.integration.analytics_network import Network, given_network
from tests.integration.collection_support import SELLER, MovingClock


def _at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


MARCH = SessionFilter(start=_at(3, 1, 0), end=_at(4, 1, 0))
APRIL = SessionFilter(start=_at(4, 1, 0), end=_at(5, 1, 0))
BOTH = SessionFilter(start=_at(3, 1, 0), end=_at(5, 1, 0))


def _invoice(
    services: Services, who: Actor, network: Network, session: str, customer: str | None
) -> Document:
    stored = network.sessions[session]
    composed = compose(
        [DraftLine(f"Charging {session}", Decimal(stored.total_excl_vat_minor or 0).scaleb(-2), Decimal(21),
                   stored.started_at.date(), stored.id)],
        currency="EUR", mode=RoundingMode.HALF_UP, reverse_charge=False,
    )  # fmt: skip
    draft = Document(
        id=services.ids.new_id(), operator_id=who.operator_id, kind=DocumentKind.INVOICE,
        status=DocumentStatus.DRAFT, series="INV", number=None, contract_id=None,
        customer_id=network.ids[customer] if customer else None, bill_id=None, seller=SELLER,
        buyer=Party(customer or "Driver", "NL"), language="nl", composed=composed,
        rounding_mode=RoundingMode.HALF_UP, period_start=None, period_end=None, payment_due_days=14,
        created_at=services.clock.now(),
    )  # fmt: skip
    with services.uow() as uow:
        uow.invoices.add(draft)
        uow.commit()
    return invoicing.issue_document(services, who, draft.id)


@pytest.fixture
def corrected(database_url: str, uow_factory: UnitOfWorkFactory) -> tuple[Services, Network]:
    network = given_network(uow_factory)
    clock = MovingClock(_at(3, 6, 10))
    services = replace(bootstrap(Settings(database_url=database_url)).services, clock=clock)
    who = network.actor
    save_seller(services, who.operator_id)
    _invoice(services, who, network, "B", "C2")
    clock.moment = _at(3, 31, 8)
    _invoice(services, who, network, "A", "C1")
    clock.moment = _at(3, 31, 23)
    _invoice(services, who, network, "C", "C1")
    clock.moment = _at(4, 2, 12)
    d = _invoice(services, who, network, "D", None)
    clock.moment = _at(4, 3, 9)
    invoicing.void_document(services, who, d.id, "issued twice")
    clock.moment = _at(4, 10, 10)
    b = next(doc for doc in invoicing.list_documents(services, who, filters={}, cursor=None, limit=10).items
             if doc.composed.lines[0].session_id == network.ids["B"])  # fmt: skip
    invoicing.credit_document(services, who, b.id, reason="charger fault", amounts={1: Decimal("4.00")})
    with uow_factory() as uow:
        paid = Payment(
            "pay-d", network.operator_id, None, PaymentPurpose.SESSION, f"session:{network.ids['D']}",
            "sandbox", "ref-d", "EUR", 227, _at(4, 2, 11),
        )  # fmt: skip
        uow.payments.add(paid)
        for number, (kind, amount) in enumerate(((EventKind.CAPTURED, 227), (EventKind.REFUNDED, 100))):
            event = PaymentEvent(f"evt-d-{number}", kind, amount, _at(4, 2, 11 + number))
            uow.payments.record_event(paid, event, idempotency_key=None, recorded_at=_at(4, 2, 11))
        uow.commit()
    return services, network


def ledger_revenue(services: Services, who: Actor, window: SessionFilter) -> int:
    """What the ledger's revenue accounts earned in the window (credit balance, positive)."""
    earned, start, end = 0, window.start, window.end
    assert start is not None
    assert end is not None
    for entry in queries.journal(services, who, after=None, limit=1000):
        if start <= entry.posted_at < end:
            earned -= sum(p.amount for p in entry.postings if p.account.startswith("revenue:"))
    return earned


FIGURES = ("sessions", "billed_net", "credited_net", "credited_tax", "voided_net", "voided_tax",
           "corrected_net", "corrected_gross", "refunded")  # fmt: skip


def test_revenue_is_net_of_the_credit_note_and_the_void_in_their_own_period(
    corrected: tuple[Services, Network],
) -> None:
    services, network = corrected
    who = network.actor

    def total(window: SessionFilter) -> tuple[str, ...]:
        (row,) = shown_report(services, who, query=window, group_by=GroupBy.TOTAL)["totals"]  # type: ignore[misc]
        return tuple(row[name] for name in FIGURES)

    # March: A B C billed and invoiced; nothing corrected (the credit note for B is April's)
    assert total(MARCH) == ("3", "19.80", "0.00", "0.00", "0.00", "0.00", "19.80", "23.85", "0.00")
    # April: D billed 1.88 and voided; the credit note of 4.00 + 0.84 VAT; D's refund of 1.00
    assert total(APRIL) == ("1", "1.88", "4.00", "0.84", "1.88", "0.39", "-4.00", "-4.84", "1.00")
    assert total(BOTH) == ("4", "21.68", "4.00", "0.84", "1.88", "0.39", "15.80", "19.01", "1.00")
    # and the corrected net revenue is what the ledger's revenue accounts earned in each period
    assert ledger_revenue(services, who, MARCH) == 1980
    assert ledger_revenue(services, who, APRIL) == -400
    assert ledger_revenue(services, who, BOTH) == 1580


def test_corrections_land_in_the_corrected_sessions_rows_and_their_own_month(
    corrected: tuple[Services, Network],
) -> None:
    services, network = corrected
    who = network.actor
    # by month (local): March has A B; April has C D, the void of D and the credit note for B
    by_month = usage_report(services, who, query=BOTH, group_by=GroupBy.MONTH)
    assert [(r.key, r.sessions, r.billed_net_minor, r.credited_net_minor, r.voided_net_minor,
             r.corrected_net_minor) for r in by_month.rows] == [
        ("2026-03", 2, 1770, 0, 0, 1770), ("2026-04", 2, 398, 400, 188, -190),
    ]  # fmt: skip
    # by customer: the credit note is C2's (session B), the void the anonymous driver's (D)
    by_customer = usage_report(services, who, query=BOTH, group_by=GroupBy.CUSTOMER)
    rows = {
        network.name_of(r.key) if r.key != "(none)" else r.key: (
            r.billed_net_minor, r.credited_net_minor, r.credited_tax_minor, r.voided_net_minor,
            r.corrected_net_minor, r.refunded_minor,
        )
        for r in by_customer.rows
    }  # fmt: skip
    assert rows == {
        "C1": (740, 0, 0, 0, 740, 0), "C2": (1240, 400, 84, 0, 840, 0), "(none)": (188, 0, 0, 188, 0, 100),
    }  # fmt: skip
    # a report filtered to a place has only that place's sessions' corrections: L2 holds C and D
    at_l2 = replace(BOTH, location_id=network.ids["L2"])
    (l2,) = usage_report(services, who, query=at_l2, group_by=GroupBy.TOTAL).totals
    assert (l2.billed_net_minor, l2.credited_net_minor, l2.voided_net_minor, l2.corrected_net_minor) == (
        398, 0, 188, 210,
    )  # fmt: skip
