"""Credit notes and void against the money (tester's findings 1-4, 14-16), on SQLite and PostgreSQL.

The invoice (test_invoices_api): lines 9.99, 23.75, 21.80, -23.40, -15.60 = 16.54 excl. VAT, VAT 21 %
of 16.54 = 3.4734 -> 3.47, 20.01 in all.
"""

from __future__ import annotations

import threading

from sqlalchemy import select, text, update

from evbill.adapters.db import migrate
from evbill.adapters.db.invoicing.tables import invoices
from evbill.application.access.keys import platform_actor
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.invoicing import documents as invoicing
from evbill.application.ledger.posting import post
from evbill.domain.errors import Conflict, InvalidInput
from evbill.domain.ledger import accounts
from evbill.domain.ledger.entries import EntryCause, credit, debit
from tests.e2e.api.test_invoices_api import issued_invoice, text_of


def _race(count, attempt):
    """``attempt`` run by ``count`` threads at once; (successes, refusals, other errors)."""
    start = threading.Barrier(count)
    done, refused, errors = [], [], []

    def run():
        start.wait()
        try:
            done.append(attempt())
        except InvalidInput as error:
            refused.append(error)
        except Exception as error:  # noqa: BLE001  (collected, asserted by the caller)
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done, refused, errors


def _balances(api, operator_id):
    with api.container.services.uow(read_only=True) as uow:
        return {
            balance.account: balance.balance
            for balance in uow.ledger.balances(operator_id)
            if balance.balance
        }


def test_ten_parallel_full_credits_issue_exactly_one_credit_note(api):
    alpha = api.tenant()
    invoice, _ = issued_invoice(api, alpha)
    services, actor = api.container.services, platform_actor(alpha.operator_id)

    done, refused, errors = _race(
        10, lambda: invoicing.credit_document(services, actor, invoice.id, reason="race full")
    )

    assert errors == []
    assert (len(done), len(refused)) == (1, 9)
    assert {str(error.problems[0].message) for error in refused} == {"nothing to credit"}
    assert done[0].composed.totals.incl_vat_minor == 2001
    again = alpha.post(f"/invoices/{invoice.id}/credit-notes", json={"reason": "once more"})
    assert again.status_code == 422
    assert [(e["path"], e["message"]) for e in again.json()["errors"]] == [("$.lines", "nothing to credit")]
    read = alpha.get(f"/invoices/{invoice.id}").json()
    assert (read["status"], read["credited"], read["open"], read["paid"]) == (
        "credited",
        "20.01",
        "0.00",
        "0.00",
    )
    assert _balances(api, alpha.operator_id) == {}  # receivable, revenue and VAT all back to 0
    assert check_all_books(services, operator_ids=[alpha.operator_id]).findings == ()


def test_ten_parallel_credits_of_a_whole_line_issue_one(api):
    alpha = api.tenant()
    invoice, _ = issued_invoice(api, alpha)
    services, actor = api.container.services, platform_actor(alpha.operator_id)

    done, refused, errors = _race(
        10,
        lambda: invoicing.credit_document(
            services,
            actor,
            invoice.id,
            reason="race",
            amounts={1: invoice.composed.lines[0].net_precise},
            positions={1: 0},
        ),
    )

    assert errors == []
    assert (len(done), len(refused)) == (1, 9)
    # the plan fee 9.99 + 21 % = 9.99 + 2.0979 -> 2.10 = 12.09
    assert done[0].composed.totals.incl_vat_minor == 1209
    assert {error.problems[0].path for error in refused} == {"$.lines[0].amount"}
    notes = alpha.get("/invoices", params={"kind": "credit_note"}).json()["items"]
    assert [note["totals"]["excl_vat"] for note in notes] == ["9.99"]


def test_credit_notes_that_round_to_nothing_are_refused_before_a_number_is_taken(api):
    alpha = api.tenant()
    invoice, _ = issued_invoice(api, alpha)

    nothing = alpha.post(f"/invoices/{invoice.id}/credit-notes",
                         json={"reason": "tiny", "lines": [{"line": 1, "amount": "0.001"}]})  # fmt: skip
    no_line = alpha.post(
        f"/invoices/{invoice.id}/credit-notes",
        json={"reason": "x", "lines": [{"line": 2, "amount": "1.00"}, {"line": 99, "amount": "1.00"}]},
    )
    half = alpha.post(f"/invoices/{invoice.id}/credit-notes",
                      json={"reason": "half a cent", "lines": [{"line": 1, "amount": "0.005"}]})  # fmt: skip

    assert nothing.status_code == 422
    assert [(e["path"], e["message"]) for e in nothing.json()["errors"]] == [
        ("$.lines[0].amount", "line 1: 0.001 rounds to 0.00 EUR; nothing would be credited")
    ]
    assert no_line.status_code == 422
    assert [(e["path"], e["message"]) for e in no_line.json()["errors"]] == [
        ("$.lines[1].line", "the invoice has no line 99")
    ]
    assert half.status_code == 201, half.text  # 0.005 rounds half up to 0.01 on the note
    assert half.json()["number"].endswith("000001")  # the refused ones took no number
    assert half.json()["totals"]["incl_vat"] == "0.01"


def test_voiding_an_unpaid_invoice_reverses_its_ledger_entry_and_shuts_it(api):
    alpha = api.tenant()
    invoice, _ = issued_invoice(api, alpha)
    services, actor = api.container.services, platform_actor(alpha.operator_id)
    booked = _balances(api, alpha.operator_id)

    voided = alpha.post(f"/invoices/{invoice.id}/void", json={"reason": "wrong customer"})
    credit = alpha.post(f"/invoices/{invoice.id}/credit-notes", json={"reason": "after void"})

    assert booked[f"receivable:{invoice.customer_id}"] == 2001
    assert booked["vat_payable:21"] == -347
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "void"
    assert _balances(api, alpha.operator_id) == {}
    assert credit.status_code == 409
    try:
        invoicing.record_payment(services, actor, invoice.id, 100)
        raise AssertionError("a void invoice took a payment")
    except Conflict:
        pass
    assert check_all_books(services, operator_ids=[alpha.operator_id]).findings == ()


def test_ledger_check_names_a_void_invoice_whose_reversal_is_missing(api):
    bravo = api.tenant("Bravo")
    invoice, _ = issued_invoice(api, bravo)
    with api.container.engine.begin() as connection:  # tampered: voided behind the ledger's back
        connection.execute(
            text("UPDATE invoices SET status = 'void' WHERE operator_id = :op AND id = :id"),
            {"op": bravo.operator_id, "id": invoice.id},
        )

    findings = check_all_books(api.container.services, operator_ids=[bravo.operator_id]).findings

    assert [(f.subject, f.message) for f in findings] == [
        (f"invoice {invoice.number}", "is void but its receivable still holds 2001 EUR minor units "
                                      "(the reversing entry is missing)"),
    ]  # fmt: skip


def test_a_credit_note_is_not_voided_nor_an_invoice_that_credit_notes_took_from(api):
    alpha = api.tenant()
    invoice, _ = issued_invoice(api, alpha)
    note = alpha.post(f"/invoices/{invoice.id}/credit-notes",
                      json={"reason": "fee", "lines": [{"line": 1, "amount": "9.99"}]})  # fmt: skip

    void_note = alpha.post(f"/invoices/{note.json()['id']}/void", json={"reason": "undo"})
    void_invoice = alpha.post(f"/invoices/{invoice.id}/void", json={"reason": "wrong"})
    read = alpha.get(f"/invoices/{invoice.id}").json()

    assert note.status_code == 201
    assert void_note.status_code == 409
    assert void_invoice.status_code == 409
    assert "credit what is left" in void_invoice.json()["detail"]
    # 9.99 + 2.10 = 12.09 credited; 20.01 - 12.09 = 7.92 open, still issued
    assert (read["status"], read["credited"], read["open"]) == ("issued", "12.09", "7.92")


def test_the_invoice_json_lists_the_notes_the_pdf_prints(api):
    alpha = api.tenant()
    invoice, _ = issued_invoice(api, alpha)

    notes = alpha.get(f"/invoices/{invoice.id}").json()["notes"]
    printed = text_of(alpha.get(f"/invoices/{invoice.id}/pdf").content)

    # precise incl. VAT 16.54 x 1.21 = 20.0134; the document shows 20.01
    assert notes[-1] == (
        "Amounts are rounded once for this document; the exact sum of its lines differs by -0.0034 EUR."
    )
    # the PDF prints it too, its number in the customer's (Dutch) format
    assert "the exact sum of its lines differs by -0,0034 EUR." in printed


def test_migration_0023_gives_invoices_credited_before_it_their_credited_amount_and_status(api):
    """Last in the module: it downgrades the module's database to 0022 and upgrades it again."""
    alpha, bravo = api.tenant(), api.tenant("Bravo")
    invoice, _ = issued_invoice(api, alpha)
    other, _ = issued_invoice(api, bravo)
    assert alpha.post(f"/invoices/{invoice.id}/credit-notes", json={"reason": "all"}).status_code == 201
    part = bravo.post(f"/invoices/{other.id}/credit-notes",
                      json={"reason": "fee", "lines": [{"line": 1, "amount": "9.99"}]})  # fmt: skip
    assert part.status_code == 201
    key = (invoices.c.id.in_([invoice.id, other.id]),)
    with api.container.engine.begin() as connection:  # as the code before 0023 left them
        for document_id, data in connection.execute(select(invoices.c.id, invoices.c.document).where(*key)):
            old = {name: value for name, value in data.items() if name != "credited_minor"}
            connection.execute(
                update(invoices).where(invoices.c.id == document_id).values(
                    status="partially_paid", document={**old, "status": "partially_paid"}
                )
            )  # fmt: skip

    migrate.downgrade(api.container.settings.database_url, "0022")
    migrate.upgrade(api.container.settings.database_url)

    full, partial = alpha.get(f"/invoices/{invoice.id}").json(), bravo.get(f"/invoices/{other.id}").json()
    assert (full["status"], full["credited"], full["open"]) == ("credited", "20.01", "0.00")
    # 12.09 of 20.01 credited; nothing paid, so the status stays what it was
    assert (partial["status"], partial["credited"], partial["open"]) == ("partially_paid", "12.09", "7.92")


def test_ledger_check_names_an_invoice_or_credit_note_whose_receivable_is_not_its_total(api):
    # Given an issued invoice (20.01) and a credit note of 1.00 + 21 % VAT against it: the books are sound
    charlie = api.tenant("Charlie")
    services = api.container.services
    invoice, _ = issued_invoice(api, charlie)
    body = {"reason": "goodwill", "lines": [{"line": 1, "amount": "1.00"}]}
    credited = charlie.post(f"/invoices/{invoice.id}/credit-notes", json=body)
    assert credited.status_code == 201, credited.text
    note = credited.json()
    assert note["totals"]["incl_vat"] == "1.21"
    assert check_all_books(services, operator_ids=[charlie.operator_id]).findings == ()

    # When balanced entries are added under their references (the ledger is append-only: a tamper
    # or a double posting is an entry added): 1.00 of the invoice's receivable moved to revenue, and
    # the credit note's credit to the receivable posted again
    receivable = accounts.receivable(invoice.customer_id)
    with services.uow() as uow:
        post(uow, services.ids, operator_id=charlie.operator_id, at=services.clock.now(),
             cause=EntryCause.INVOICE_ISSUED, reference=f"invoice:{invoice.id}", description="moved",
             postings=(debit(accounts.revenue(accounts.RevenueKind.ENERGY), 100, "EUR"),
                       credit(receivable, 100, "EUR")))  # fmt: skip
        post(uow, services.ids, operator_id=charlie.operator_id, at=services.clock.now(),
             cause=EntryCause.CREDIT_NOTE_ISSUED, reference=f"credit_note:{note['id']}", description="twice",
             postings=(debit(accounts.revenue(accounts.RevenueKind.ENERGY), 121, "EUR"),
                       credit(receivable, 121, "EUR")))  # fmt: skip
        uow.commit()

    # Then `evbill ledger check` names both documents with what they total and what their entries hold
    findings = check_all_books(services, operator_ids=[charlie.operator_id]).findings
    assert sorted((f.subject, f.message) for f in findings) == [
        (f"credit_note {note['number']}", "totals 121 EUR, its entry credits 242"),
        (f"invoice {invoice.number}", "totals 2001 EUR, its entry debits 1901"),
    ]


def test_a_session_on_an_issued_invoice_is_not_re_priced_corrected_or_voided(api):
    # Given an issued invoice of 20.01 (tester: a paid session re-priced to 0.90 left its invoice as it
    # was, and the reports and the invoice disagreed)
    delta = api.tenant("Delta")
    invoice, _ = issued_invoice(api, delta)
    session_id = next(line.session_id for line in invoice.composed.lines if line.session_id)
    before = delta.get(f"/sessions/{session_id}").json()

    # When an operator corrects its energy, re-rates it or voids it
    attempts = {
        "energy": delta.post(
            f"/sessions/{session_id}/energy-correction", json={"energy_wh": "1000", "reason": "x"}
        ),
        "rerate": delta.post(f"/sessions/{session_id}/rerate", json={"reason": "x"}),
        "void": delta.post(f"/sessions/{session_id}/void", json={"reason": "x"}),
    }

    # Then each is refused, naming the invoice, and neither the session nor the invoice changed
    expected = (
        f"session {session_id!r} is billed on invoice {invoice.number}: its price stands as billed; "
        "correct it with a credit note on it"
    )
    assert {name: (r.status_code, r.json()["detail"]) for name, r in attempts.items()} == {
        name: (409, expected) for name in attempts
    }
    assert delta.get(f"/sessions/{session_id}").json() == before
    assert delta.get(f"/invoices/{invoice.id}").json()["totals"]["incl_vat"] == "20.01"
    assert check_all_books(api.container.services, operator_ids=[delta.operator_id]).findings == ()
