"""`evbill invoice list --json` and `evbill invoice export` as other tools call them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from evbill.bootstrap import bootstrap
from evbill.config import Settings
from tests.e2e.test_cli_customers import operator, run  # noqa: F401 (the fixture)
from tests.einvoices import ubl_problems
from tests.integration.test_mail_smtp import smtp_server  # noqa: F401 (the fixture)
from tests.unit.test_einvoices import CREDIT_PARTIAL, MIXED


def store(env, operator_id):
    """The mixed-VAT invoice and its credit note, stored for the operator as issued documents."""
    container = bootstrap(Settings(database_url=env["EVBILL_DATABASE_URL"]))
    documents = [
        replace(MIXED, id="0190a000-0000-7000-8000-000000000001", operator_id=operator_id,
                created_at=datetime(2026, 11, 1, tzinfo=UTC)),
        replace(CREDIT_PARTIAL, id="0190a000-0000-7000-8000-000000000002", operator_id=operator_id,
                original_id="0190a000-0000-7000-8000-000000000001",
                created_at=datetime(2026, 11, 2, tzinfo=UTC)),
    ]  # fmt: skip
    with container.services.uow() as uow:
        for document in documents:
            uow.invoices.add(document)
        uow.commit()
    container.dispose()
    return documents


def test_invoice_list_json_gives_the_fields_other_tools_read_as_decimal_strings(operator):  # noqa: F811
    env, operator_id = operator
    invoice, credit = store(env, operator_id)

    listed = run("invoice", "list", "--operator", operator_id, "--period", "2026-10", "--json", env=env)

    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    fields = ("id", "number", "kind", "status", "currency", "total_excl_vat", "total_vat", "total_incl_vat",
              "contract_id")  # fmt: skip
    assert [tuple(row[key] for key in fields) for row in rows] == [
        (invoice.id, "AMS-2026-000001", "invoice", "issued", "EUR", "20.82", "4.09", "24.91", "c1"),
        (credit.id, "CN-0002", "credit_note", "issued", "EUR", "9.99", "2.10", "12.09", "c1"),
    ]
    november = run("invoice", "list", "--operator", operator_id, "--period", "2026-11", "--json", env=env)
    assert json.loads(november.stdout) == []


def test_invoice_export_writes_each_format_and_refuses_an_unknown_one(operator, tmp_path):  # noqa: F811
    env, operator_id = operator
    invoice, _ = store(env, operator_id)

    written = {}
    for document_format in ("pdf", "facturx", "cii", "ubl"):
        out = tmp_path / f"invoice.{document_format}"
        result = run("invoice", "export", invoice.id, "--operator", operator_id, "--format", document_format,
                     "--out", str(out), env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr
        written[document_format] = out.read_bytes()
    unknown = run("invoice", "export", invoice.id, "--operator", operator_id, "--format", "docx",
                  "--out", str(tmp_path / "x"), env=env)  # fmt: skip

    assert written["pdf"].startswith(b"%PDF")
    assert written["facturx"].startswith(b"%PDF")
    assert b"CrossIndustryInvoice" in written["cii"]
    assert ubl_problems(written["ubl"]) == []
    assert unknown.returncode == 1
    assert "--format must be one of pdf, facturx, cii, ubl" in unknown.stderr


def test_invoice_send_mails_the_pdf_once_and_again_only_with_resend(operator, smtp_server):  # noqa: F811
    env, operator_id = operator
    inbox, port = smtp_server
    invoice, _ = store(env, operator_id)
    env = {**env, "EVBILL_SMTP_URL": f"smtp://127.0.0.1:{port}", "EVBILL_MAIL_FROM": "billing@cli-op.example"}

    send = ("invoice", "send", invoice.id, "--operator", operator_id)
    first = run(*send, "--to", "acme@example.org", "--json", env=env)
    again = run(*send, "--json", env=env)
    resent = run(*send, "--resend", "--to", "ap@example.org", env=env)

    assert first.returncode == 0, first.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)  # recorded: nothing sent twice
    assert resent.returncode == 0, resent.stderr
    assert "sent to ap@example.org (attempt 2" in resent.stdout
    assert [recipients for _, recipients, _ in inbox.messages] == [["acme@example.org"], ["ap@example.org"]]
