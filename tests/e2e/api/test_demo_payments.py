"""The demo's invoices, paid the ways the README tours: asserted through the API with exact amounts.

Seeded on 20 November 2026 (October billed; the late payer's September invoice issued on 1 October):
Amsterdam's driver and fleet are charged to their cards on file at issue, the wallet customer's
12.09 (9.99 + 21 % VAT) is paid from a wallet topped up with 50.00 by card, the office's 12.09 by a
camt.053 transfer quoting its RF reference, and the late payer's 12.09 is overdue since 15 October
with one reminder recorded; Bay Area's fleet paid its invoice by card at issue and got 5.00 of it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from evbill.application.collection.reconciliation import check_all_books
from evbill.application.demo import seed_demo
from evbill.application.demo_payments import DemoPayments
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.entrypoints.api.app import create_app

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(module_database_url: str) -> Iterator[tuple[TestClient, Container, list[Any]]]:
    settings = Settings(database_url=module_database_url, rate_limit_per_minute=1_000_000)
    container = bootstrap(settings)
    payments = DemoPayments(container.payment_gateway, container.demo_mailer, container.statement_reader)
    seeded = seed_demo(container.services, now=NOW, sessions_per_evse=3, payments=payments)
    with TestClient(create_app(settings, container=container), raise_server_exceptions=False) as client:
        yield client, container, seeded
    container.dispose()


def get(client: TestClient, key: str, path: str) -> Any:
    response = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, (path, response.text)
    return response.json()


def invoices_by_customer(client: TestClient, key: str) -> dict[str, dict[str, Any]]:
    items = get(client, key, "/invoices?limit=50")["items"]
    return {item["buyer"]["name"]: get(client, key, f"/invoices/{item['id']}") for item in items}


def payments_of(client: TestClient, key: str) -> dict[str, dict[str, Any]]:
    return {item["subject"]: item for item in get(client, key, "/payments?limit=50")["items"]}


def test_amsterdams_invoices_are_paid_by_card_wallet_and_transfer_and_one_is_overdue(
    demo: tuple[TestClient, Container, list[Any]],
) -> None:
    client, container, seeded = demo
    amsterdam = seeded[0]
    invoices = invoices_by_customer(client, amsterdam.api_key)
    payments = payments_of(client, amsterdam.api_key)
    # The card-on-file customers: charged their invoice's total at issue, paid (the fleet's subscription
    # is invoiced every month; the pay-per-use driver only if the demo's random sessions fell in October)
    assert "Demo Fleet" in invoices
    for name in {"Demo Driver", "Demo Fleet"} & set(invoices):
        invoice = invoices[name]
        charged = payments[f"invoice:{invoice['id']}"]
        assert (invoice["status"], charged["status"]) == ("paid", "captured")
        assert charged["captured"] == invoice["totals"]["incl_vat"] == invoice["paid"]
        assert charged["refunded"] == "0.00"
    # The wallet customer: 12.09 paid from the wallet topped up with 50.00 by card
    wallet_invoice = invoices["Demo Wallet"]
    assert (wallet_invoice["status"], wallet_invoice["totals"]["incl_vat"], wallet_invoice["paid"]) == (
        "paid", "12.09", "12.09",
    )  # fmt: skip
    top_up = next(p for p in payments.values() if p["purpose"] == "wallet_top_up")
    assert (top_up["captured"], top_up["status"]) == ("50.00", "captured")
    wallet = get(client, amsterdam.api_key, f"/wallets/{top_up['subject']}")
    amounts = sorted(t["amount"] for t in wallet["transactions"])
    assert (wallet["balance"], amounts) == ("37.91", ["-12.09", "50.00"])
    # The office: 12.09 by bank transfer, matched by its RF reference
    office = invoices["Demo Office"]
    assert (office["status"], office["paid"], office["totals"]["incl_vat"]) == ("paid", "12.09", "12.09")
    assert not any(p["subject"] == f"invoice:{office['id']}" for p in payments.values())
    # The late payer: September's 12.09, due 15 October, overdue, nothing paid, one reminder sent
    late = invoices["Demo Late Payer"]
    assert (late["status"], late["paid"], late["totals"]["incl_vat"]) == ("overdue", "0.00", "12.09")
    assert (late["issue_date"], late["due_date"], late["period_start"]) == (
        "2026-10-01", "2026-10-15", "2026-09-01",
    )  # fmt: skip
    with container.services.uow(read_only=True) as uow:
        reminders = uow.collection.reminders(amsterdam.operator_id, late["id"])
    assert [(r.number, r.sent_to) for r in reminders] == [(1, "demo.late.payer@evbill.invalid")]
    # And the printed summary names each of them
    said = {invoice.customer: invoice.how for invoice in amsterdam.invoices}
    assert said["Demo Office"].startswith("bank transfer: 12.09 EUR by a camt.053 statement, matched")
    assert said["Demo Late Payer"] == "overdue: 12.09 EUR open since 2026-10-15, 1 reminder(s) sent"
    assert said["Demo Wallet"].startswith("prepaid wallet: 12.09 EUR paid from wallet")


def test_bay_areas_fleet_invoice_was_charged_at_issue_and_partly_refunded(
    demo: tuple[TestClient, Container, list[Any]],
) -> None:
    client, _, seeded = demo
    bay_area = seeded[1]
    fleet = invoices_by_customer(client, bay_area.api_key)["Demo Fleet"]
    payment = payments_of(client, bay_area.api_key)[f"invoice:{fleet['id']}"]
    # (9.99 a month, and more only if the demo's random sessions passed the 100 kWh included)
    # the refund reopened the invoice by 5.00 (due in the future: partially paid)
    assert fleet["status"] == "partially_paid"
    assert payment["captured"] == fleet["totals"]["incl_vat"]
    assert Decimal(fleet["paid"]) == Decimal(payment["captured"]) - Decimal("5.00")
    assert (payment["refunded"], payment["currency"]) == ("5.00", "USD")
    assert [e["kind"] for e in payment["events"]] == ["authorised", "captured", "fee", "refunded"]
    said = {invoice.customer: invoice.how for invoice in bay_area.invoices}
    expected = f"refunded: 5.00 of the {payment['captured']} USD charged to the card"
    assert said["Demo Fleet"].startswith(expected)


def test_the_ledger_check_passes_on_the_demo(demo: tuple[TestClient, Container, list[Any]]) -> None:
    _, container, _ = demo
    report = check_all_books(container.services)
    assert report.ok, report
