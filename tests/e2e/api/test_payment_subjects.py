"""A card payment of an invoice names an open invoice of the operator, in its currency; its capture
credits the invoice customer's receivable and records the payment on the invoice (tester finding 5).

The invoice of test_invoices_api.issued_invoice is 20.01 EUR (16.54 + 3.47 VAT).
"""

from __future__ import annotations

from evbill.application.payments.reconciliation import check_books
from tests.e2e.api.test_invoices_api import issued_invoice


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def pay(tenant, subject: str, amount: str, name: str, currency: str = "EUR"):
    body = {
        "purpose": "invoice",
        "subject": subject,
        "amount": amount,
        "currency": currency,
        "payment_method": "tok_visa",
    }
    return tenant.post("/payments", json=body, headers=key(f"{name}-a"))


def capture(tenant, payment_id: str, amount: str, name: str):
    return tenant.post(f"/payments/{payment_id}/capture", json={"amount": amount}, headers=key(f"{name}-c"))


def test_an_invoice_payment_pays_the_invoice_and_credits_its_customers_receivable(api):
    alpha = api.tenant("Alpha")
    invoice, _ = issued_invoice(api, alpha)
    customer = invoice.customer_id

    first = pay(alpha, f"invoice:{invoice.number}", "5.00", "p1")  # by number
    captured = capture(alpha, first.json()["id"], "5.00", "p1")
    after_first = alpha.get(f"/invoices/{invoice.id}").json()
    second = pay(alpha, f"invoice:{invoice.id}", "20.00", "p2")  # by id; 4.99 more than open
    capture(alpha, second.json()["id"], "20.00", "p2")
    after_second = alpha.get(f"/invoices/{invoice.id}").json()
    third = pay(alpha, f"invoice:{invoice.id}", "1.00", "p3")

    assert first.status_code == 201, first.text
    assert (first.json()["subject"], first.json()["customer_id"]) == (f"invoice:{invoice.id}", customer)
    assert captured.status_code == 200, captured.text
    assert (after_first["status"], after_first["paid"]) == ("partially_paid", "5.00")
    assert (after_second["status"], after_second["paid"]) == ("paid", "20.01")
    assert (third.status_code, third.json()["errors"][0]["path"]) == (422, "$.subject")
    trial = alpha.get("/ledger/trial-balance").json()
    balances = {a["account"]: a["balance"] for a in trial["accounts"]}
    # 20.01 invoiced, 25.00 paid by card: 4.99 kept as the customer's credit
    assert balances[f"receivable:{customer}"] == "-4.99"
    assert [a for a in balances if a.startswith("receivable:") and a != f"receivable:{customer}"] == []
    assert balances["gateway_clearing:sandbox"] == "24.15"  # 25.00 less the sandbox's fees
    assert check_books(api.container.services, operator_ids=[alpha.operator_id]).ok


def test_an_invoice_payment_is_refused_unless_it_names_an_open_invoice_in_its_currency(api):
    alpha, beta, gamma = api.tenant("Alpha"), api.tenant("Beta"), api.tenant("Gamma")
    invoice, _ = issued_invoice(api, alpha)
    betas_invoice, _ = issued_invoice(api, beta)
    voided = issued_invoice(api, gamma)[0]
    assert gamma.post(f"/invoices/{voided.id}/void", json={"reason": "wrong"}).status_code == 200

    refused = {
        "usd": pay(alpha, f"invoice:{invoice.id}", "20.01", "u", currency="USD"),
        "missing": pay(alpha, "invoice:nonexistent", "1.00", "m"),
        "other tenant": pay(alpha, f"invoice:{betas_invoice.id}", "1.00", "o"),
        "void": pay(gamma, f"invoice:{voided.id}", "1.00", "v"),
        "no invoice named": pay(alpha, "par", "1.00", "n"),
    }

    paths = {name: (r.status_code, [e["path"] for e in r.json()["errors"]]) for name, r in refused.items()}
    assert paths == {
        "usd": (422, ["$.currency"]),
        "missing": (422, ["$.subject"]),
        "other tenant": (422, ["$.subject"]),
        "void": (422, ["$.subject"]),
        "no invoice named": (422, ["$.subject"]),
    }
    assert refused["other tenant"].json()["errors"][0]["message"] == f"no invoice {betas_invoice.id!r}"
    assert alpha.get("/payments").json()["items"] == []
    assert alpha.get(f"/invoices/{invoice.id}").json()["paid"] == "0.00"


def test_a_session_payment_names_a_session_never_free_text(api):
    alpha = api.tenant("Alpha")
    body = {"amount": "1.00", "currency": "EUR", "payment_method": "tok_visa"}

    free_text = alpha.post("/payments", json={**body, "subject": "par"}, headers=key("f"))
    spaced = alpha.post("/payments", json={**body, "subject": "session:a b"}, headers=key("s"))
    session = alpha.post("/payments", json={**body, "subject": "session:s-1"}, headers=key("ok"))

    assert (free_text.status_code, free_text.json()["errors"][0]["path"]) == (422, "$.subject")
    assert (spaced.status_code, spaced.json()["errors"][0]["path"]) == (422, "$.subject")
    assert session.status_code == 201, session.text
