"""A document's books, on SQLite and PostgreSQL: its DATEV bookings carry its number (Belegfeld 1), and
its revenue by kind is what the usage report shows by component, to the cent.

The world is ``test_session_receipts``': an ad hoc session of 10 kWh (3.90 energy + 0.35 start fee,
21 % VAT, 5.14) settled by its hold, so a receipt is issued and posted, and the hold's capture posted.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from evbill.application.analytics.reports import shown_report
from evbill.application.ledger import exports, queries
from evbill.application.payments.adhoc import settle_due
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.ledger.entries import EntryCause
from tests.integration.test_session_funding import World, make_world
from tests.integration.test_session_receipts import ended_adhoc_session, receipts


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    yield from make_world(database_url)


def test_a_receipts_entry_is_booked_under_its_number_as_receipt_issued(world: World) -> None:
    # Given a settled ad hoc session and its receipt
    ended_adhoc_session(world, "datev-1")
    settle_due(world.pay)
    [receipt] = receipts(world)
    services, operator_id = world.pay.services, world.admin.operator_id
    with services.uow(read_only=True) as uow:
        entries = list(uow.ledger.entries(operator_id, after=None, limit=100))
    [issued] = [e for e in entries if e.reference == f"receipt:{receipt.id}"]

    # When the journal is exported for DATEV with the documents' numbers
    documents = queries.document_numbers(services, world.admin, {e.reference for e in entries})
    lines = list(
        exports.datev_lines(entries, created_at=services.clock.now(), currency="EUR", documents=documents)
    )

    # Then the receipt's entry is receipt_issued, and its bookings carry its number as Belegfeld 1 and
    # its due date (DDMMYY) as Belegfeld 2
    assert issued.cause is EntryCause.RECEIPT_ISSUED
    assert receipt.number is not None
    assert documents[f"receipt:{receipt.id}"] == (receipt.number, receipt.due_date)
    due = receipt.due_date.strftime("%d%m%y") if receipt.due_date else ""
    booked = [line.split(";") for line in lines[2:] if line.endswith(f'"receipt {receipt.id}"')]
    # revenue by kind: 3.90 energy (4400), 0.35 start fee (4403), VAT 0.89 (21 % has no SKR04 key: 3800)
    assert sorted((fields[0], fields[6], fields[7], fields[10], fields[11]) for fields in booked) == [
        ("0,35", "1200", "4403", f'"{receipt.number}"', f'"{due}"'),
        ("0,89", "1200", "3800", f'"{receipt.number}"', f'"{due}"'),
        ("3,90", "1200", "4400", f'"{receipt.number}"', f'"{due}"'),
    ]
    # And every Belegfeld 1 is at most 36 of DATEV's characters (the capture's: its payment's id)
    for line in lines[2:]:
        belegfeld = line.split(";")[10].strip('"')
        assert len(belegfeld) <= 36
        assert not set(belegfeld) - set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789$&%*+-/"
        )


def test_the_reports_revenue_by_component_equals_the_ledgers_revenue_accounts_to_the_cent(
    world: World,
) -> None:
    # Given two ad hoc sessions of 10 kWh, each receipted: 3.90 energy + 0.35 start fee, 21 % VAT
    for key in ("report-1", "report-2"):
        ended_adhoc_session(world, key)
        settle_due(world.pay)
    services, operator_id = world.pay.services, world.admin.operator_id
    assert len(receipts(world)) == 2

    # When the usage report is read (all sessions), and the ledger's revenue accounts
    report = shown_report(services, world.admin, query=SessionFilter(), group_by=GroupBy.TOTAL)
    with services.uow(read_only=True) as uow:
        revenue = {
            b.account: -b.balance
            for b in uow.ledger.balances(operator_id)
            if b.account.startswith("revenue:")
        }

    # Then each component column of the report is its revenue account (idle = the idle fee, fees = start fees)
    [total] = report["totals"]  # type: ignore[misc]
    shown = {kind: total[f"{kind}_net"] for kind in ("energy", "time", "idle", "fees")}
    assert shown == {"energy": "7.80", "time": "0.00", "idle": "0.00", "fees": "0.70"}
    assert revenue == {"revenue:energy": 780, "revenue:fees": 70}
    for kind, text in shown.items():
        assert Decimal(text) == Decimal(revenue.get(f"revenue:{kind}", 0)).scaleb(-2)
    assert total["net"] == "8.50"
