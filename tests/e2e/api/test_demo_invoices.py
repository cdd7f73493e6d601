"""The demo's last month: its invoices are issued by the same billing run an operator runs.

Seeded on 20 November 2026, the demo's sessions fall in the 30 days before; October's run bills
each demo contract's October cycle (Amsterdam: 1 to 31 October; Bay Area, whose contracts start on
31 December in Los Angeles and so are anchored on the 28th: 28 September to 28 October). Each
operator's fleet subscription (9.99 a month) has a document in any case; the pay-per-use driver's
only if it charged in the cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from evbill.application.access.keys import platform_actor
from evbill.application.demo import last_month, seed_demo
from evbill.application.invoicing import documents, runs
from evbill.application.payments.reconciliation import check_books
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.invoicing.runs import ItemStatus, RunStatus
from tests.einvoices import cii_problems, ubl_problems

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(module_database_url: str) -> Iterator[tuple[Container, list[Any]]]:
    container = bootstrap(Settings(database_url=module_database_url))
    yield container, seed_demo(container.services, now=NOW, sessions_per_evse=6)
    container.dispose()


def test_last_month_is_the_month_before(demo: tuple[Container, list[Any]]) -> None:
    assert (last_month(NOW), last_month(datetime(2027, 1, 5, tzinfo=UTC))) == ("2026-10", "2026-12")


def test_the_demo_has_last_months_invoices_issued_by_the_billing_run(
    demo: tuple[Container, list[Any]],
) -> None:
    container, seeded = demo
    services = container.services
    for operator in seeded:
        who = platform_actor(operator.operator_id)
        # Given the demo operator's billing run of October
        run = runs.get_run(services, who, operator.billing_run_id)
        items = runs.run_items(services, who, run.id)
        issued = [
            documents.get_document(services, who, i.invoice_id)
            for i in items
            if i.status is ItemStatus.ISSUED
        ]
        # Then it is done, failed nowhere, and issued at least the fleet's subscription invoice
        assert (run.period, run.status, run.counts.of(ItemStatus.FAILED)) == ("2026-10", RunStatus.DONE, 0)
        assert {item.status for item in items} <= {ItemStatus.ISSUED, ItemStatus.SKIPPED}
        assert len(issued) >= 1
        for document in issued:
            # And each is numbered, and exports as a valid EN 16931 e-invoice and a PDF
            assert document.number is not None
            assert document.period_start is not None
            assert cii_problems(container.documents.render(document, "cii")) == []
            assert ubl_problems(container.documents.render(document, "ubl")) == []
            assert container.documents.render(document, "pdf").startswith(b"%PDF")
    # And the ledger holds their entries and is sound
    assert check_books(services).ok
