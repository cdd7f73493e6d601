"""`evbill ledger check|export` as finance runs them: a sound ledger passes, a broken one is named;
the journal goes out as CSV, DATEV EXTF and Beancount (checked by bean-check, a test tool only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from evbill.application.ledger.posting import Receivable, post, post_invoice_issued
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.ledger import accounts
from evbill.domain.ledger.accounts import RevenueKind
from evbill.domain.ledger.entries import EntryCause, credit, debit
from evbill.domain.money import SettledMoney

EVBILL = Path(sys.executable).with_name("evbill")
INVOICE = "entry-1,2026-11-30T10:00:00+00:00,invoice_issued,invoice:INV-1,invoice INV-1"
BEAN_CHECK = Path(sys.executable).with_name("bean-check")


class FixedIds:
    def __init__(self) -> None:
        self.count = 0

    def new_id(self) -> str:
        self.count += 1
        return f"entry-{self.count}"


def run(*args, env):
    return subprocess.run(
        [str(EVBILL), *map(str, args)], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture
def ledger(tmp_path):
    """A SQLite database with one operator and two entries: an invoice of 12.10 EUR (10.00 energy at
    21 % VAT) and its capture of 12.10 EUR with a 0.29 EUR gateway fee: (environment, operator id)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBILL_")}
    env["EVBILL_DATABASE_URL"] = url = f"sqlite:///{tmp_path / 'evbill.db'}"
    run("db", "upgrade", env=env)
    operator_id = run(
        "operator", "create", "--name", "Ledger Op", "--country", "DE", "--currency", "EUR", env=env
    )
    operator_id = operator_id.stdout.strip()
    container = bootstrap(Settings(database_url=url))
    ids = FixedIds()
    with container.services.uow() as uow:
        post_invoice_issued(
            uow,
            ids,
            operator_id=operator_id,
            receivable_=Receivable("invoice", "INV-1", "cus-1", SettledMoney(1210, "EUR")),
            revenue_by_kind={RevenueKind.ENERGY: 1000},
            vat_by_rate={Decimal("19"): 210},
            at=datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
        )
        post(
            uow,
            ids,
            operator_id=operator_id,
            at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
            cause=EntryCause.PAYMENT_CAPTURED,
            reference="payment:pay-1",
            description='Capture "Müller" card',
            postings=(
                debit(accounts.gateway_clearing("sandbox"), 1210, "EUR"),
                credit(accounts.receivable("cus-1"), 1210, "EUR"),
                debit(accounts.GATEWAY_FEES, 29, "EUR"),
                credit(accounts.gateway_clearing("sandbox"), 29, "EUR"),
            ),
        )
        uow.commit()
    yield env, operator_id, container
    container.dispose()


def test_a_sound_ledger_passes_the_check(ledger):
    env, _, _ = ledger

    checked = run("ledger", "check", env=env)

    assert (checked.returncode, checked.stdout) == (0, "ledger: 2 entries of 1 operator(s): sound\n")


def test_a_broken_ledger_fails_the_check_naming_the_entry(ledger):
    env, operator_id, container = ledger
    with container.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ledger_postings (operator_id, entry_id, account, currency, amount) "
                "VALUES (:op, 'entry-1', 'bank', 'EUR', 1)"
            ),
            {"op": operator_id},
        )

    checked = run("ledger", "check", env=env)

    assert checked.returncode == 1
    assert checked.stdout.splitlines() == [
        f"operator {operator_id}: entry entry-1: EUR postings sum to 1, not 0",
        f"operator {operator_id}: trial balance EUR: sums to 1, not 0",
        "ledger: 2 entries of 1 operator(s): 2 finding(s)",
    ]


def test_the_csv_export_has_one_row_per_posting_with_exact_amounts(ledger, tmp_path):
    env, operator_id, _ = ledger

    exported = run(
        "ledger", "export", "--operator", operator_id, "--format", "csv", "--out", tmp_path / "j.csv", env=env
    )

    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "j.csv").read_bytes().decode().splitlines() == [
        "entry_id,posted_at,cause,reference,description,account,currency,amount,amount_minor",
        f"{INVOICE},receivable:cus-1,EUR,12.10,1210",
        f"{INVOICE},revenue:energy,EUR,-10.00,-1000",
        f"{INVOICE},vat_payable:19,EUR,-2.10,-210",
        'entry-2,2026-12-01T09:00:00+00:00,payment_captured,payment:pay-1,"Capture ""Müller"" card",'
        "gateway_clearing:sandbox,EUR,12.10,1210",
        'entry-2,2026-12-01T09:00:00+00:00,payment_captured,payment:pay-1,"Capture ""Müller"" card",'
        "receivable:cus-1,EUR,-12.10,-1210",
        'entry-2,2026-12-01T09:00:00+00:00,payment_captured,payment:pay-1,"Capture ""Müller"" card",'
        "gateway_fees,EUR,0.29,29",
        'entry-2,2026-12-01T09:00:00+00:00,payment_captured,payment:pay-1,"Capture ""Müller"" card",'
        "gateway_clearing:sandbox,EUR,-0.29,-29",
    ]


def test_the_datev_export_is_an_extf_buchungsstapel_in_cp1252_with_decimal_commas(ledger, tmp_path):
    env, operator_id, _ = ledger

    exported = run(
        "ledger",
        "export",
        "--operator",
        operator_id,
        "--format",
        "datev",
        "--out",
        tmp_path / "d.csv",
        env=env,
    )

    assert exported.returncode == 0, exported.stderr
    raw = (tmp_path / "d.csv").read_bytes()
    assert "Müller".encode("cp1252") in raw
    assert raw.endswith(b"\r\n")
    header, columns, *bookings = raw.decode("cp1252").split("\r\n")[:-1]
    fields = header.split(";")
    assert fields[:5] == ['"EXTF"', "700", "21", '"Buchungsstapel"', "13"]
    assert fields[12:16] == ["20260101", "4", "20261130", "20261201"]
    assert fields[21] == '"EUR"'
    assert len(fields) == 31
    assert columns.startswith('"Umsatz (ohne Soll/Haben-Kz)";"Soll/Haben-Kennzeichen";"WKZ Umsatz"')
    assert bookings == [
        # Belegfeld 1: the id the reference names (no issued document INV-1 here, so no number and no
        # due date for Belegfeld 2), never a ':'; the real documents' numbers: test_datev_documents
        '10,00;"S";"EUR";;;"";1200;4400;"";3011;"INV-1";"";;"invoice INV-1"',
        '2,10;"S";"EUR";;;"";1200;3806;"";3011;"INV-1";"";;"invoice INV-1"',
        '12,10;"S";"EUR";;;"";1460;1200;"";0112;"pay-1";"";;"Capture ""Müller"" card"',
        '0,29;"S";"EUR";;;"";6855;1460;"";0112;"pay-1";"";;"Capture ""Müller"" card"',
    ]


@pytest.mark.skipif(shutil.which(str(BEAN_CHECK)) is None, reason="bean-check (beancount, dev extra) missing")
def test_the_beancount_export_passes_bean_check_and_a_tampered_copy_does_not(ledger, tmp_path):
    env, operator_id, _ = ledger
    out = tmp_path / "ledger.beancount"

    exported = run(
        "ledger", "export", "--operator", operator_id, "--format", "beancount", "--out", out, env=env
    )

    assert exported.returncode == 0, exported.stderr
    checked = subprocess.run([str(BEAN_CHECK), str(out)], capture_output=True, text=True, timeout=60)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")
    assert "  Assets:Receivables:C-cus-1  12.10 EUR" in out.read_text().splitlines()
    # a one-cent error is caught: the export is really being checked
    tampered = tmp_path / "tampered.beancount"
    tampered.write_text(out.read_text().replace("Income:Energy  -10.00 EUR", "Income:Energy  -10.01 EUR"))
    refused = subprocess.run([str(BEAN_CHECK), str(tampered)], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "does not balance" in (refused.stdout + refused.stderr).lower()


def test_a_datev_export_with_an_entry_in_another_currency_is_refused_naming_it(ledger, tmp_path):
    # Given the EUR operator's ledger, and one entry booked in USD
    env, operator_id, container = ledger
    ids = FixedIds()
    ids.count = 10  # after the fixture's entries: entry-11
    with container.services.uow() as uow:
        post(
            uow, ids, operator_id=operator_id, at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
            cause=EntryCause.BANK_RECEIPT, reference="bank:usd-1", description="bank U1 unmatched",
            postings=(debit(accounts.BANK, 10000, "USD"), credit(accounts.SUSPENSE, 10000, "USD")),
        )  # fmt: skip
        uow.commit()

    # When it is exported for DATEV
    out = tmp_path / "d.csv"
    exported = run("ledger", "export", "--operator", operator_id, "--format", "datev", "--out", out, env=env)

    # Then it is refused, naming the entry, and no file is written (the CSV export still carries it)
    assert exported.returncode == 1
    assert "books in EUR only: 1 entry" in exported.stderr
    assert "entry entry-11" in exported.stderr
    assert "bank_receipt bank:usd-1 in USD" in exported.stderr
    assert not out.exists()
    as_csv = run("ledger", "export", "--operator", operator_id, "--format", "csv", "--out", out, env=env)
    assert as_csv.returncode == 0, as_csv.stderr
    assert "bank,USD,100.00,10000" in out.read_text()
