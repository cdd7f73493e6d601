"""`evbill payments ...` as an operator's back office runs it: import a statement (twice), write a SEPA
direct debit file, charge and dun, write off; `evbill ledger check` green after all of it.

Invoices (21 % VAT): A 16.54 + 3.47 = 20.01, B 100.00 + 21.00 = 121.00, C 10.00 + 2.10 = 12.10.
"""

from __future__ import annotations

import json
from datetime import date

from lxml import etree

from evbill.application.access.keys import platform_actor
from evbill.application.invoicing import documents as invoicing
from evbill.application.ledger import queries
from evbill.application.offers.customers import create_customer
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.invoicing.profiles import InvoicingProfile
from tests.e2e.test_cli_customers import operator, run  # noqa: F401 (the fixture)
from tests.integration.collection_support import SELLER, issue_invoice


def given_invoices(env, operator_id):
    container = bootstrap(Settings(database_url=env["EVBILL_DATABASE_URL"]))
    services, who = container.services, platform_actor(operator_id)
    invoicing.save_profile(services, who, InvoicingProfile(operator_id, SELLER), ibans=container.ibans)
    fields = {"kind": "INDIVIDUAL", "name": "Anna de Vries", "language": "nl", "currency": "EUR",
              "country": "NL", "email": "anna@example.nl"}  # fmt: skip
    anna = create_customer(services, who, fields)
    invoices = [issue_invoice(services, who, anna.id, net) for net in ("16.54", "100.00", "10.00")]
    container.dispose()
    return anna.id, invoices


def test_the_back_office_gets_paid_and_the_ledger_stays_sound(operator, tmp_path):  # noqa: F811
    env, operator_id = operator
    anna, (a, b, c) = given_invoices(env, operator_id)
    statement = tmp_path / "statement.csv"
    statement.write_text(
        "entry_id,booked_on,amount,currency,name,iban,reference,remittance\n"
        f"T1,2026-12-02,20.01,EUR,Anna de Vries,,{a.payment_reference},\n"
        f"T2,2026-12-02,21.00,EUR,Anna de Vries,,,invoice {b.number}\n"
        "T3,2026-12-02,3.00,EUR,Unknown,,,?\n"
    )

    # When the statement is imported, twice
    first = run("payments", "import-statement", str(statement), "--operator", operator_id, "--json", env=env)
    second = run("payments", "import-statement", str(statement), "--operator", operator_id, "--json", env=env)

    # Then A is paid, 21.00 of B, 3.00 is reported unmatched, and the second import changes nothing
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert [(line["outcome"], line["applied"], line["excess"]) for line in report["lines"]] == [
        ("matched", "20.01", "0.00"), ("partial", "21.00", "0.00"), ("unmatched", "0.00", "0.00"),
    ]  # fmt: skip
    assert json.loads(second.stdout)["counts"]["duplicate"] == 3

    # When Anna signs a mandate and the direct debit file is made for what is open (100.00 + 12.10)
    mandate = run("payments", "mandate-add", "--operator", operator_id, "--customer", anna,
                  "--reference", "M-1", "--iban", "DE89370400440532013000", "--signed-on", "2026-11-01",
                  env=env)  # fmt: skip
    out = tmp_path / "debits.xml"
    made = run("payments", "sepa-file", "--operator", operator_id, "--collection-date", "2099-01-10",
               "--creditor-id", "NL98ZZZ999999999999", "--out", str(out), env=env)  # fmt: skip
    assert mandate.returncode == 0, mandate.stderr
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().endswith("2 invoice(s), 112.10 EUR")
    root = etree.fromstring(out.read_bytes())
    assert root.findtext(".//{*}GrpHdr/{*}CtrlSum") == "112.10"

    # When C is written off, the policy set, and the collection run goes (no card on file: no charge)
    policy = run("payments", "policy-set", "--operator", operator_id, "--reminder-days", "1,7", env=env)
    refused = run("payments", "policy-set", "--operator", operator_id, "--retry-days", "1,1", env=env)
    assert policy.returncode == 0, policy.stderr
    assert refused.returncode == 1
    assert "$.retry_days" in refused.stderr
    off = run("payments", "write-off", c.id, "--operator", operator_id, "--reason", "goodwill", env=env)
    unmailed = run("payments", "collect", "--operator", operator_id, "--now", "2099-02-01T06:00:00Z",
                   "--json", env=env)  # fmt: skip
    collected = run("payments", "collect", "--operator", operator_id, "--now", "2099-02-01T06:00:00Z",
                    "--json", env={**env, "EVBILL_SMTP_URL": "memory"})  # fmt: skip
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == f"{c.number}: written_off"
    # without e-mail the reminder is reported and the rest done (B is long overdue); with it, it goes out
    assert unmailed.returncode == 1
    assert "EVBILL_SMTP_URL" in unmailed.stderr
    assert json.loads(unmailed.stdout)["suspended"] == 1  # over 21 days overdue (the default policy)
    assert collected.returncode == 0, collected.stderr
    assert {k: v for k, v in json.loads(collected.stdout).items() if v} == {"reminders": 1}

    # Then the ledger checks out
    checked = run("ledger", "check", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip().endswith("sound")


def test_a_bad_statement_exits_1_naming_the_line(operator, tmp_path):  # noqa: F811
    env, operator_id = operator
    statement = tmp_path / "statement.csv"
    statement.write_text("entry_id,booked_on,amount,currency\nT1,2026-12-02,12.345,EUR\n")

    result = run("payments", "import-statement", str(statement), "--operator", operator_id, env=env)

    assert result.returncode == 1
    assert "line 2.amount" in result.stderr
    assert date  # keeps the import used above honest


def test_a_statement_line_in_another_currency_is_skipped_with_its_reason_never_booked(
    operator,  # noqa: F811
    tmp_path,
):
    # Given a CSV statement of the EUR operator's account with a EUR, a USD and a JPY credit
    env, operator_id = operator
    statement = tmp_path / "st.csv"
    statement.write_text(
        "entry_id,booked_on,amount,currency\n"
        "E1,2026-12-02,20.00,EUR\nU1,2026-12-02,100.00,USD\nJ1,2026-12-02,5,JPY\n"
    )

    # When it is imported
    imported = run(
        "payments", "import-statement", str(statement), "--operator", operator_id, "--format", "csv",
        "--json", env=env,
    )  # fmt: skip
    shown = run(
        "payments", "import-statement", str(statement), "--operator", operator_id, "--format", "csv", env=env
    )

    # Then the foreign lines are skipped with their reason, and only the 20.00 EUR is booked
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert [(line["entry_key"], line["outcome"], line["reason"]) for line in report["lines"]] == [
        ("E1", "unmatched", None),
        ("U1", "skipped", "in USD, not the account's EUR"),
        ("J1", "skipped", "in JPY, not the account's EUR"),
    ]
    assert (report["counts"]["unmatched"], report["counts"]["skipped"]) == (1, 2)
    assert report["skipped"] == {"in USD, not the account's EUR": 1, "in JPY, not the account's EUR": 1}
    # imported again: E1 is a duplicate, the foreign lines are skipped again (never stored)
    assert "1 duplicate, 2 skipped" in shown.stdout
    assert "skipped 1: in USD, not the account's EUR" in shown.stdout
    container = bootstrap(Settings(database_url=env["EVBILL_DATABASE_URL"]))
    trial = queries.trial_balance(container.services, platform_actor(operator_id))
    container.dispose()
    assert {(b.account, b.currency): b.balance for b in trial.accounts} == {
        ("bank", "EUR"): 2000,
        ("suspense", "EUR"): -2000,
    }
    checked = run("ledger", "check", "--operator", operator_id, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert run("ledger", "export", "--operator", operator_id, "--format", "datev", "--out",
               tmp_path / "d.csv", env=env).returncode == 0  # fmt: skip


def test_an_amount_in_exponent_notation_is_refused_naming_line_and_column(operator, tmp_path):  # noqa: F811
    env, operator_id = operator
    statement = tmp_path / "st.csv"
    statement.write_text("entry_id,booked_on,amount,currency\nE1,2026-12-02,1e3,EUR\n")

    result = run("payments", "import-statement", str(statement), "--operator", operator_id, env=env)

    assert result.returncode == 1
    assert "line 2.amount" in result.stderr
    assert "'1e3' is not a plain decimal: digits and a decimal point, no exponent" in result.stderr
