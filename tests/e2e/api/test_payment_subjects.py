"""A card payment of an invoice names an open invoice of the operator, in its currency; its capture
credits the invoice customer's receivable and records the payment on the invoice (tester finding 5).

The invoice of test_invoices_api.issued_invoice is 20.01 EUR (16.54 + 3.47 VAT).
"""

from __future__ import annotations

from evbill.application.payments.reconciliation import check_books
from tests.e2e.api.test_invoices_api import issued_invoice
from tests.support import store_session

PERSON = {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"}


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
    store_session(api.container.services, alpha.operator_id, "s-1")
    session = alpha.post("/payments", json={**body, "subject": "session:s-1"}, headers=key("ok"))

    assert (free_text.status_code, free_text.json()["errors"][0]["path"]) == (422, "$.subject")
    assert (spaced.status_code, spaced.json()["errors"][0]["path"]) == (422, "$.subject")
    assert session.status_code == 201, session.text


def session_payment(tenant, subject: str, name: str, customer_id: str | None = None, currency: str = "EUR"):
    body = {"subject": subject, "amount": "10.00", "currency": currency, "payment_method": "tok_visa"}
    return tenant.post("/payments", json={**body, "customer_id": customer_id}, headers=key(name))


def test_a_session_payment_names_a_session_of_the_operator_and_of_its_customer(api):
    # Given Alpha's session charged by Anna, one of Beta's, and Anna and Bob as Alpha's customers
    alpha, beta = api.tenant("Alpha"), api.tenant("Beta")
    services = api.container.services
    anna = alpha.created("/customers", {**PERSON, "name": "Anna"})["id"]
    bob = alpha.created("/customers", {**PERSON, "name": "Bob"})["id"]
    annas = store_session(services, alpha.operator_id, "s-anna", customer_id=anna)
    betas = store_session(services, beta.operator_id, "s-beta")

    # When Alpha pays for sessions that are not its, not the customer's, in another currency, or ad hoc
    refused = {
        "made up": session_payment(alpha, "session:x", "r1", anna),
        "another operator's": session_payment(alpha, f"session:{betas}", "r2", anna),
        "another customer's": session_payment(alpha, f"session:{annas}", "r3", bob),
        "in USD": session_payment(alpha, f"session:{annas}", "r4", anna, currency="USD"),
        "ad hoc": session_payment(alpha, "adhoc:x", "r5"),
    }
    by_anna = session_payment(alpha, f"session:{annas}", "ok1", anna)
    by_nobody = session_payment(alpha, f"session:{annas}", "ok2")  # its customer pays
    captured = capture(alpha, by_nobody.json()["id"], "10.00", "ok2")

    # Then each is refused at its field, Beta's session exactly like one that does not exist
    paths = {name: (r.status_code, [e["path"] for e in r.json()["errors"]]) for name, r in refused.items()}
    assert paths == {
        "made up": (422, ["$.subject"]),
        "another operator's": (422, ["$.subject"]),
        "another customer's": (422, ["$.subject"]),
        "in USD": (422, ["$.currency"]),
        "ad hoc": (422, ["$.subject"]),
    }
    assert refused["made up"].json()["errors"][0]["message"] == "no session 'x'"
    assert refused["another operator's"].json()["errors"][0]["message"] == f"no session {betas!r}"
    assert refused["another operator's"].json()["detail"] == refused["made up"].json()["detail"]
    # and Anna's payments, named or not, are hers: the capture credits her receivable
    assert (by_anna.status_code, by_anna.json()["customer_id"]) == (201, anna)
    assert (by_nobody.status_code, by_nobody.json()["customer_id"]) == (201, anna)
    assert captured.status_code == 200, captured.text
    assert len(alpha.get("/payments").json()["items"]) == 2
    balances = {a["account"]: a["balance"] for a in alpha.get("/ledger/trial-balance").json()["accounts"]}
    assert balances[f"receivable:{anna}"] == "-10.00"
    assert check_books(services, operator_ids=[alpha.operator_id]).ok


def test_a_fleet_drivers_session_is_paid_by_the_driver_or_the_business(api):
    alpha = api.tenant("Alpha")
    services = api.container.services
    fleet = alpha.created("/customers", {**PERSON, "kind": "BUSINESS", "name": "Fleet B.V."})["id"]
    driver = alpha.created("/customers", {**PERSON, "name": "Dirk", "parent_id": fleet})["id"]
    session = store_session(services, alpha.operator_id, "s-dirk", customer_id=driver)

    by_business = session_payment(alpha, f"session:{session}", "b", fleet)
    by_driver = session_payment(alpha, f"session:{session}", "d", driver)
    by_nobody = session_payment(alpha, f"session:{session}", "n")

    assert (by_business.status_code, by_business.json()["customer_id"]) == (201, fleet)
    assert (by_driver.status_code, by_driver.json()["customer_id"]) == (201, driver)
    assert (by_nobody.status_code, by_nobody.json()["customer_id"]) == (201, fleet)  # the payer


def test_a_session_payment_takes_at_most_its_price_once_it_ended_and_never_a_billed_one(api):
    # Given a session of 19.24 EUR, one still charging, and a contract's session on an issued invoice
    # (tester: 500.00 captured for a 19.24 session; a contract's session paid by card stayed on the
    # invoice, paid twice)
    alpha = api.tenant("Alpha")
    services = api.container.services
    priced = store_session(services, alpha.operator_id, "s-1924", total_incl_vat_minor=1924)
    charging = store_session(services, alpha.operator_id, "s-active", status="ACTIVE")
    invoice, _ = issued_invoice(api, alpha)
    billed = next(line.session_id for line in invoice.composed.lines if line.session_id)

    def pay_session(subject: str, amount: str, name: str):
        body = {"subject": subject, "amount": amount, "currency": "EUR", "payment_method": "tok_visa"}
        return alpha.post("/payments", json=body, headers=key(name))

    # When each is paid
    refused = {
        "above its price": pay_session(f"session:{priced}", "500.00", "p1"),
        "a cent above": pay_session(f"session:{priced}", "19.25", "p2"),
        "still charging": pay_session(f"session:{charging}", "1.00", "p3"),
        "on its contract's invoice": pay_session(f"session:{billed}", "1.00", "p4"),
        "on it under the session's own key": pay_session(
            f"session:{billed}", "1.00", f"session:{billed}:authorise"
        ),
    }
    exact = pay_session(f"session:{priced}", "19.24", "p6")

    # Then only the payment of its price is taken; each refusal names its field and why
    assert {name: (r.status_code, r.json()["errors"][0]["path"]) for name, r in refused.items()} == {
        "above its price": (422, "$.amount"),
        "a cent above": (422, "$.amount"),
        "still charging": (422, "$.subject"),
        "on its contract's invoice": (422, "$.subject"),
        "on it under the session's own key": (422, "$.subject"),
    }
    messages = {name: r.json()["errors"][0]["message"] for name, r in refused.items()}
    assert messages == {
        "above its price": "500.00 EUR is more than the price of session 's-1924', 19.24 EUR",
        "a cent above": "19.25 EUR is more than the price of session 's-1924', 19.24 EUR",
        "still charging": "session 's-active' is still charging",
        "on its contract's invoice": f"session {billed!r} is billed on its contract's invoice: "
        "pay the invoice",
        "on it under the session's own key": f"session {billed!r} is billed on invoice {invoice.number}: "
        "pay that instead",
    }
    assert exact.status_code == 201, exact.text
    assert [p["subject"] for p in alpha.get("/payments").json()["items"]] == [f"session:{priced}"]


def test_a_sessions_payments_together_take_at_most_its_price(api):
    # Given a session of 19.24 EUR (tester: two payments of 10.00 and 900.00, each checked alone)
    alpha = api.tenant("Alpha")
    session = store_session(api.container.services, alpha.operator_id, "s-sum", total_incl_vat_minor=1924)

    def pay_session(amount: str, name: str, method: str = "tok_visa"):
        body = {
            "subject": f"session:{session}",
            "amount": amount,
            "currency": "EUR",
            "payment_method": method,
        }
        return alpha.post("/payments", json=body, headers=key(name))

    # When 10.00 is held, then 10.00 more asked, then 9.24, then the first captured and 3.00 refunded
    first = pay_session("10.00", "first")
    second = pay_session("10.00", "second")
    declined = pay_session("9.24", "declined", "tok_declined")  # a declined card takes nothing
    rest = pay_session("9.24", "rest")
    full = pay_session("0.01", "full")
    captured = capture(alpha, first.json()["id"], "10.00", "first")
    refund = {"payment_id": first.json()["id"], "amount": "3.00"}
    refunded = alpha.post("/refunds", json=refund, headers=key("refund"))
    after_refund = pay_session("3.01", "after-refund")
    freed = pay_session("3.00", "freed")

    # Then each payment is checked with what the session's other payments still take
    assert first.status_code == 201, first.text
    assert (
        second.status_code,
        second.json()["errors"][0]["path"],
        second.json()["errors"][0]["message"],
    ) == (
        422,
        "$.amount",
        "10.00 EUR is more than is left to pay of session 's-sum': 10.00 EUR of its price of 19.24 EUR "
        "is paid or held already, 9.24 EUR is left",
    )
    assert (declined.status_code, declined.json()["status"]) == (201, "declined")
    assert (rest.status_code, rest.json()["status"]) == (201, "authorised")
    assert (full.status_code, full.json()["errors"][0]["message"]) == (
        422,
        "0.01 EUR is more than is left to pay of session 's-sum': 19.24 EUR of its price of 19.24 EUR "
        "is paid or held already, 0.00 EUR is left",
    )
    assert (captured.status_code, refunded.status_code) == (200, 201), (captured.text, refunded.text)
    assert (after_refund.status_code, after_refund.json()["errors"][0]["message"]) == (
        422,
        "3.01 EUR is more than is left to pay of session 's-sum': 16.24 EUR of its price of 19.24 EUR "
        "is paid or held already, 3.00 EUR is left",
    )
    assert freed.status_code == 201, freed.text
    amounts = sorted((p["amount"], p["status"]) for p in alpha.get("/payments").json()["items"])
    assert amounts == [
        ("10.00", "partially_refunded"),
        ("3.00", "authorised"),
        ("9.24", "authorised"),
        ("9.24", "declined"),
    ]
