"""A wallet pays an invoice as a card does (issue 14): only an open invoice of the wallet's customer,
at most what is open on it, paid in the spend's transaction; a wallet refund of that spend opens it
again and the customer owes it again. Refusals say amounts in currency units.

The invoice of test_invoices_api.issued_invoice is 20.01 EUR (16.54 + 3.47 VAT).
"""

from __future__ import annotations

from evbill.application.access.keys import platform_actor
from evbill.application.collection.dunning import write_off_document
from evbill.application.payments.reconciliation import check_books
from tests.e2e.api.test_invoices_api import issued_invoice
from tests.support import store_session


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def wallet_of(tenant, customer_id: str, top_up: str = "30.00") -> str:
    wallet_id = tenant.created("/wallets", {"customer_id": customer_id, "currency": "EUR"})["id"]
    topped = tenant.post(
        f"/wallets/{wallet_id}/top-ups",
        json={"amount": top_up, "payment_method": "tok_visa"},
        headers=key(f"top-up-{wallet_id}"),
    )
    assert topped.status_code == 201, topped.text
    return wallet_id


def pay(tenant, wallet_id: str, amount: str, receivable: str, name: str):
    return tenant.post(
        f"/wallets/{wallet_id}/payments", json={"amount": amount, "receivable": receivable}, headers=key(name)
    )


def balances(tenant) -> dict[str, str]:
    return {a["account"]: a["balance"] for a in tenant.get("/ledger/trial-balance").json()["accounts"]}


def sound(api, tenant) -> None:
    report = check_books(api.container.services, operator_ids=[tenant.operator_id])  # `evbill ledger check`
    assert (report.ok, list(report.findings)) == (True, [])


def test_a_wallet_pays_an_invoice_once_and_never_more_than_is_open_on_it(api):
    alpha = api.tenant("Alpha")
    invoice, _ = issued_invoice(api, alpha)
    customer = invoice.customer_id
    wallet_id = wallet_of(alpha, customer)

    first = pay(alpha, wallet_id, "12.09", f"invoice:{invoice.id}", "p1")
    again = pay(alpha, wallet_id, "12.09", f"invoice:{invoice.id}", "p1")  # the same request
    after_first = alpha.get(f"/invoices/{invoice.id}").json()
    too_much = pay(alpha, wallet_id, "12.09", f"invoice:{invoice.id}", "p2")
    rest = pay(alpha, wallet_id, "7.92", f"invoice:{invoice.number}", "p3")  # by number
    after_rest = alpha.get(f"/invoices/{invoice.id}").json()
    paid_already = pay(alpha, wallet_id, "1.00", f"invoice:{invoice.id}", "p4")

    assert (first.status_code, first.json()["balance"]) == (200, "17.91"), first.text
    assert (again.status_code, again.json()["balance"]) == (200, "17.91")
    assert (after_first["status"], after_first["paid"]) == ("partially_paid", "12.09")
    assert (too_much.status_code, too_much.json()["errors"][0]) == (
        422,
        {
            "path": "$.amount",
            "message": f"12.09 EUR is more than the 7.92 EUR open on invoice {invoice.number}",
            "severity": "error",
        },
    )
    assert (rest.status_code, rest.json()["balance"]) == (200, "9.99"), rest.text
    assert (after_rest["status"], after_rest["paid"]) == ("paid", "20.01")
    assert (paid_already.status_code, paid_already.json()["errors"][0]["path"]) == (422, "$.receivable")
    spends = [t for t in rest.json()["transactions"] if t["kind"] == "spend"]
    assert [(t["amount"], t["reference"]) for t in spends] == [
        ("-12.09", f"invoice:{invoice.id}"),
        ("-7.92", f"invoice:{invoice.id}"),
    ]
    ledger = balances(alpha)
    # 20.01 invoiced and 20.01 paid from the wallet: nothing owed; the wallet owes 30.00 - 20.01
    assert ledger.get(f"receivable:{customer}", "0.00") == "0.00"
    assert ledger[f"wallet:{wallet_id}"] == "-9.99"
    assert "refunds" not in ledger
    assert alpha.get(f"/wallets/{wallet_id}").json()["balance"] == "9.99"
    sound(api, alpha)


def another_customer(tenant) -> str:
    body = {"kind": "INDIVIDUAL", "name": "Bram", "language": "nl", "currency": "EUR", "country": "NL"}
    return str(tenant.created("/customers", body)["id"])


def test_a_wallet_pays_only_an_open_invoice_of_its_own_customer_and_never_free_text(api):
    alpha, beta, gamma, delta = (api.tenant(name) for name in ("Alpha", "Beta", "Gamma", "Delta"))
    invoice, _ = issued_invoice(api, alpha)
    betas_invoice, _ = issued_invoice(api, beta)
    written_off, _ = issued_invoice(api, gamma)
    voided, _ = issued_invoice(api, delta)
    write_off_document(api.container.services, platform_actor(gamma.operator_id), written_off.id, "gone")
    assert delta.post(f"/invoices/{voided.id}/void", json={"reason": "wrong"}).status_code == 200
    # another customer's wallet, and wallets of the written-off and the void invoice's customers
    strangers = wallet_of(alpha, another_customer(alpha))
    gammas, deltas = wallet_of(gamma, written_off.customer_id), wallet_of(delta, voided.customer_id)

    open_refused = {
        "another customer's": pay(alpha, strangers, "1.00", f"invoice:{invoice.id}", "r1"),
        "free text": pay(alpha, strangers, "12.09", "free text whatever", "r2"),
        "missing": pay(alpha, strangers, "1.00", "invoice:nonexistent", "r3"),
        "no invoice named": pay(alpha, strangers, "1.00", "invoice:", "r4"),
        "another operator's": pay(alpha, strangers, "1.00", f"invoice:{betas_invoice.id}", "r5"),
        "written off": pay(gamma, gammas, "1.00", f"invoice:{written_off.id}", "r6"),
        "void": pay(delta, deltas, "1.00", f"invoice:{voided.id}", "r7"),
    }
    own_wallet = wallet_of(alpha, invoice.customer_id)
    assert pay(alpha, own_wallet, "20.01", f"invoice:{invoice.id}", "paid").status_code == 200
    paid_refused = pay(alpha, strangers, "1.00", f"invoice:{invoice.id}", "r8")

    refused = {**open_refused, "another customer's, paid": paid_refused}
    found = {name: (r.status_code, [e["path"] for e in r.json()["errors"]]) for name, r in refused.items()}
    assert found == {name: (422, ["$.receivable"]) for name in refused}
    messages = {name: r.json()["errors"][0]["message"] for name, r in refused.items()}
    assert messages == {
        "another customer's": f"invoice {invoice.number} is not this wallet's customer's",
        "free text": 'a wallet pays "invoice:<id or number>" or "session:<session id>"',
        "missing": "no invoice 'nonexistent'",
        "no invoice named": 'name the invoice: "invoice:<id or number>"',
        "another operator's": f"no invoice {betas_invoice.id!r}",
        "written off": f"invoice {written_off.number} is written_off",
        "void": f"invoice {voided.number} is void",
        "another customer's, paid": f"invoice {invoice.number} is paid",
    }
    for tenant, wallet_id in ((alpha, strangers), (gamma, gammas), (delta, deltas)):
        wallet = tenant.get(f"/wallets/{wallet_id}").json()
        assert (wallet["balance"], [t["kind"] for t in wallet["transactions"]]) == ("30.00", ["top_up"])
    assert alpha.get(f"/invoices/{invoice.id}").json()["paid"] == "20.01"  # by its own customer's wallet only
    assert gamma.get(f"/invoices/{written_off.id}").json()["status"] == "written_off"
    for tenant in (alpha, gamma, delta):
        sound(api, tenant)


def test_a_wallet_refund_of_an_invoice_spend_opens_the_invoice_again(api):
    alpha = api.tenant("Alpha")
    invoice, _ = issued_invoice(api, alpha)
    customer = invoice.customer_id
    wallet_id = wallet_of(alpha, customer)
    spent = pay(alpha, wallet_id, "20.01", f"invoice:{invoice.id}", "p")
    spend_id = next(t["id"] for t in spent.json()["transactions"] if t["kind"] == "spend")
    assert alpha.get(f"/invoices/{invoice.id}").json()["status"] == "paid"

    def refund(amount: str, name: str):
        body = {"amount": amount, "spend_id": spend_id, "reason": "goodwill"}
        return alpha.post(f"/wallets/{wallet_id}/refunds", json=body, headers=key(name))

    part = refund("5.00", "r1")
    after_part = alpha.get(f"/invoices/{invoice.id}").json()
    ledger_after_part = balances(alpha)
    rest = refund("15.01", "r2")
    after_rest = alpha.get(f"/invoices/{invoice.id}").json()

    assert (part.status_code, part.json()["balance"]) == (200, "14.99"), part.text
    assert (after_part["status"], after_part["paid"]) == ("partially_paid", "15.01")
    assert ledger_after_part[f"receivable:{customer}"] == "5.00"
    assert (rest.status_code, rest.json()["balance"]) == (200, "30.00"), rest.text
    # not yet due: unpaid again (issued); the customer owes the whole invoice again
    assert (after_rest["status"], after_rest["paid"]) == ("issued", "0.00")
    ledger = balances(alpha)
    assert (ledger[f"receivable:{customer}"], ledger[f"wallet:{wallet_id}"]) == ("20.01", "-30.00")
    assert "refunds" not in ledger
    sound(api, alpha)
    # and it can be paid again
    again = pay(alpha, wallet_id, "20.01", f"invoice:{invoice.id}", "p-again")
    assert (again.status_code, again.json()["balance"]) == (200, "9.99")
    assert alpha.get(f"/invoices/{invoice.id}").json()["status"] == "paid"
    sound(api, alpha)


def test_a_wallet_refund_of_a_session_spend_still_goes_to_refunds(api):
    alpha = api.tenant("Alpha")
    invoice, _ = issued_invoice(api, alpha)
    wallet_id = wallet_of(alpha, invoice.customer_id)
    session = store_session(
        api.container.services, alpha.operator_id, f"s-{wallet_id[-12:]}", customer_id=invoice.customer_id
    )
    spent = pay(alpha, wallet_id, "2.50", f"session:{session}", "p")
    spend_id = next(t["id"] for t in spent.json()["transactions"] if t["kind"] == "spend")

    given = alpha.post(
        f"/wallets/{wallet_id}/refunds", json={"amount": "2.50", "spend_id": spend_id}, headers=key("r")
    )

    assert (given.status_code, given.json()["balance"]) == (200, "30.00")
    assert balances(alpha)["refunds"] == "2.50"
    assert alpha.get(f"/invoices/{invoice.id}").json()["status"] == "issued"
    sound(api, alpha)


def test_wallet_refusals_say_amounts_in_currency_units(api):
    alpha = api.tenant("Alpha")
    body = {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"}
    customer = alpha.created("/customers", body)["id"]
    wallet_id = wallet_of(alpha, customer, top_up="1.00")
    first, second = (
        store_session(
            api.container.services, alpha.operator_id, f"s{n}-{wallet_id[-12:]}", customer_id=customer
        )
        for n in (1, 2)
    )
    assert pay(alpha, wallet_id, "0.18", f"session:{first}", "p").json()["balance"] == "0.82"

    spend = pay(alpha, wallet_id, "5.00", f"session:{second}", "p2")
    authorise = alpha.post(f"/wallets/{wallet_id}/authorisations", json={"amount": "5.00"})

    expected = "the wallet holds 0.82 EUR; 5.00 EUR would leave less than its minimum balance of 0.00 EUR"
    assert (spend.status_code, spend.json()["detail"]) == (409, expected)
    assert (authorise.status_code, authorise.json()["detail"]) == (409, expected)


def test_a_wallet_pays_only_a_session_of_this_operator_that_its_customer_pays_for(api):
    # Given Alpha's customers Anna BV (with a wallet), Bram, and Anna's fleet driver Cas; sessions charged
    # by each, one in USD, and one of Beta's
    alpha, beta = api.tenant("Alpha"), api.tenant("Beta")
    services = api.container.services
    person = {"kind": "INDIVIDUAL", "name": "Cas", "language": "nl", "currency": "EUR", "country": "NL"}
    anna = alpha.created("/customers", {**person, "kind": "BUSINESS", "name": "Anna BV"})["id"]
    cas = alpha.created("/customers", {**person, "parent_id": anna})["id"]
    wallet_id = wallet_of(alpha, anna)
    annas = store_session(services, alpha.operator_id, "s-anna", customer_id=anna)
    brams = store_session(services, alpha.operator_id, "s-bram", customer_id=another_customer(alpha))
    cass = store_session(services, alpha.operator_id, "s-cas", customer_id=cas)
    in_usd = store_session(services, alpha.operator_id, "s-usd", customer_id=anna, currency="USD")
    betas = store_session(services, beta.operator_id, "s-beta")

    # When the wallet pays for each
    refused = {
        "made up": pay(alpha, wallet_id, "1.00", "session:nothing", "w1"),
        "another operator's": pay(alpha, wallet_id, "1.00", f"session:{betas}", "w2"),
        "another customer's": pay(alpha, wallet_id, "1.00", f"session:{brams}", "w3"),
        "in USD": pay(alpha, wallet_id, "1.00", f"session:{in_usd}", "w4"),
        "ad hoc": pay(alpha, wallet_id, "1.00", "adhoc:x", "w5"),
    }
    own = pay(alpha, wallet_id, "7.25", f"session:{annas}", "ok1")
    drivers = pay(alpha, wallet_id, "2.50", f"session:{cass}", "ok2")

    # Then each foreign or made-up session is refused at $.receivable, Beta's like one that does not
    # exist, and nothing moved for them; Anna's and her driver's sessions are paid from the wallet
    found = {name: (r.status_code, [e["path"] for e in r.json()["errors"]]) for name, r in refused.items()}
    assert found == {name: (422, ["$.receivable"]) for name in refused}
    messages = {name: r.json()["errors"][0]["message"] for name, r in refused.items()}
    assert messages == {
        "made up": "no session 'nothing'",
        "another operator's": "no session 's-beta'",
        "another customer's": f"session 's-bram' is not customer {anna!r}'s",
        "in USD": "session 's-usd' is in USD",
        "ad hoc": 'a wallet pays "invoice:<id or number>" or "session:<session id>"',
    }
    assert (own.status_code, drivers.status_code) == (200, 200), (own.text, drivers.text)
    wallet = alpha.get(f"/wallets/{wallet_id}").json()
    assert wallet["balance"] == "20.25"  # 30.00 - 7.25 - 2.50
    assert [t["amount"] for t in wallet["transactions"] if t["kind"] == "spend"] == ["-7.25", "-2.50"]
    assert balances(alpha)[f"wallet:{wallet_id}"] == "-20.25"
    assert balances(alpha)[f"receivable:{anna}"] == "-9.75"  # paid ahead of her sessions' invoice
    sound(api, alpha)
