"""Given-blocks for getting paid: an operator with an IBAN, a customer, issued invoices, a clock the test
moves, the sandbox gateway and an in-memory outbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from evbill.adapters.mail import MemoryMailer
from evbill.adapters.payments.sandbox import SandboxGateway
from evbill.application.access.keys import create_operator, platform_actor
from evbill.application.collection.statements import ImportReport, import_statement
from evbill.application.invoicing import documents as invoicing
from evbill.application.ledger import queries
from evbill.application.offers.customers import create_customer
from evbill.application.records import Services
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor
from evbill.domain.collection.statements import StatementFormat
from evbill.domain.invoicing.compose import DraftLine, compose
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus, Party
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.ledger.entries import EntryCause
from evbill.domain.money import RoundingMode
from tests.billing_data import save_seller

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SELLER = Party("Alpha Charging B.V.", "NL", "Parnassusweg 10", "Amsterdam", "1077 DC", "NL123456782B90",
               iban="NL91ABNA0417164300", email="billing@alpha.example")  # fmt: skip


class MovingClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


def issue_invoice(
    services: Services, who: Actor, customer_id: str, net: str, *, due_days: int = 14
) -> Document:
    """An invoice of one line of ``net`` EUR excl. VAT at 21 % to the customer, issued now (the
    operator's invoicing profile saved first if it has none: no document is issued without it)."""
    with services.uow(read_only=True) as uow:
        profiled = uow.invoices.profile(who.operator_id) is not None
    if not profiled:
        save_seller(services, who.operator_id)
    composed = compose(
        [DraftLine("Charging", Decimal(net), Decimal("21"))],
        currency="EUR", mode=RoundingMode.HALF_UP, reverse_charge=False,
    )  # fmt: skip
    with services.uow() as uow:
        customer = uow.customers.get(who.operator_id, customer_id)
        assert customer is not None
        draft = Document(
            id=services.ids.new_id(), operator_id=who.operator_id, kind=DocumentKind.INVOICE,
            status=DocumentStatus.DRAFT, series="INV", number=None, contract_id=None, customer_id=customer.id,
            bill_id=None, seller=SELLER, buyer=Party(customer.name, customer.country, email=customer.email),
            language="nl", composed=composed, rounding_mode=RoundingMode.HALF_UP, period_start=None,
            period_end=None, payment_due_days=due_days, created_at=services.clock.now(),
        )  # fmt: skip
        uow.invoices.add(draft)
        uow.commit()
    return invoicing.issue_document(services, who, draft.id)


@dataclass
class Books:
    container: Container
    services: Services
    clock: MovingClock
    gateway: SandboxGateway
    mailer: MemoryMailer
    who: Actor
    customer_id: str

    def invoice(self, net: str, *, customer_id: str | None = None, due_days: int = 14) -> Document:
        """An invoice of one line of ``net`` EUR excl. VAT at 21 %, issued now."""
        return issue_invoice(self.services, self.who, customer_id or self.customer_id, net, due_days=due_days)

    def get(self, document: Document) -> Document:
        return invoicing.get_document(self.services, self.who, document.id)

    def balances(self) -> dict[str, int]:
        """The balances the money received and given up moved: every entry but the invoices' own
        (an issued invoice's Dr receivable / Cr revenue and VAT is billing's, posted at issue)."""
        sums: dict[str, int] = {}
        for entry in queries.journal(self.services, self.who, after=None, limit=100_000):
            if entry.cause in (EntryCause.INVOICE_ISSUED, EntryCause.CREDIT_NOTE_ISSUED):
                continue
            for posting in entry.postings:
                sums[posting.account] = sums.get(posting.account, 0) + posting.amount
        return {account: amount for account, amount in sorted(sums.items()) if amount}

    def import_csv(self, text: str) -> ImportReport:
        reader = self.container.statement_reader
        return import_statement(self.services, reader, self.who, text.encode(), StatementFormat.CSV)


@pytest.fixture
def books(database_url: str) -> Iterator[Books]:
    container = bootstrap(Settings(database_url=database_url))
    clock = MovingClock(START)
    services = replace(container.services, clock=clock)
    operator = create_operator(
        services, name="Alpha", legal_name="Alpha Charging B.V.", country="NL", default_currency="EUR"
    )
    who = platform_actor(operator.id)
    invoicing.save_profile(
        services, who, InvoicingProfile(operator.id, SELLER, time_zone="Europe/Amsterdam"),
        ibans=container.ibans,
    )  # fmt: skip
    customer = create_customer(
        services, who,
        {"kind": "INDIVIDUAL", "name": "Anna de Vries", "email": "anna@example.nl", "language": "nl",
         "currency": "EUR", "country": "NL"},
    )  # fmt: skip
    yield Books(container, services, clock, SandboxGateway(clock.now), MemoryMailer(), who, customer.id)
    container.dispose()
