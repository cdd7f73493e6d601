"""/api/v1/payments, /refunds and /wallets: the card and wallet flows end to end, exact amounts."""

from __future__ import annotations

import logging

from sqlalchemy import text

from evbill.application.payments.reconciliation import check_books
from tests.support import store_session

PAN = "4111111111111111"


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def customer(tenant) -> str:
    body = {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"}
    return tenant.created("/customers", body)["id"]


def test_a_card_payment_is_held_captured_in_part_and_refunded(api):
    alpha = api.tenant("Alpha")
    anna = customer(alpha)
    store_session(api.container.services, alpha.operator_id, "s-1", customer_id=anna)
    body = {
        "customer_id": anna,
        "subject": "session:s-1",
        "amount": "50.00",
        "currency": "EUR",
        "payment_method": "tok_visa",
    }

    held = alpha.post("/payments", json=body, headers=key("a-1"))
    captured = alpha.post(
        f"/payments/{held.json()['id']}/capture", json={"amount": "32.10"}, headers=key("c-1")
    )
    refunded = alpha.post(
        "/refunds", json={"payment_id": held.json()["id"], "amount": "2.10"}, headers=key("r-1")
    )

    assert held.status_code == 201, held.text
    assert (held.json()["status"], held.json()["authorised"]) == ("authorised", "50.00")
    assert captured.status_code == 200, captured.text
    assert {k: captured.json()[k] for k in ("status", "captured", "released", "fees")} == {
        "status": "captured",
        "captured": "32.10",
        "released": "17.90",
        "fees": "0.70",
    }
    assert refunded.status_code == 201, refunded.text
    assert (refunded.json()["status"], refunded.json()["refunded"]) == ("partially_refunded", "2.10")
    trial = alpha.get("/ledger/trial-balance").json()
    assert {a["account"]: a["balance"] for a in trial["accounts"]} == {
        "gateway_clearing:sandbox": "29.30",
        "gateway_fees": "0.70",
        f"receivable:{anna}": "-32.10",
        "refunds": "2.10",
    }
    assert check_books(api.container.services, operator_ids=[alpha.operator_id]).ok


def test_money_moves_only_with_an_idempotency_key_and_never_above_the_hold(api):
    alpha = api.tenant("Alpha")
    store_session(api.container.services, alpha.operator_id, "s-2")
    body = {"subject": "session:s-2", "amount": "10.00", "currency": "EUR", "payment_method": "tok_visa"}
    held = alpha.post("/payments", json=body, headers=key("a-1")).json()

    without_key = alpha.post(f"/payments/{held['id']}/capture", json={"amount": "5.00"})
    too_much = alpha.post(f"/payments/{held['id']}/capture", json={"amount": "10.01"}, headers=key("c-1"))
    too_precise = alpha.post(f"/payments/{held['id']}/capture", json={"amount": "5.001"}, headers=key("c-2"))

    assert (without_key.status_code, without_key.json()["code"]) == (422, "invalid_input")
    assert (too_much.status_code, too_much.json()["code"]) == (409, "payment_refused")
    assert too_much.json()["detail"] == "capture of 10.01 EUR exceeds the authorisation of 10.00 EUR"
    assert too_precise.status_code == 422
    assert alpha.get(f"/payments/{held['id']}").json()["captured"] == "0.00"


def test_no_card_number_is_stored_or_logged_after_a_full_card_flow(api, caplog):
    caplog.set_level(logging.DEBUG)
    alpha = api.tenant("Alpha")
    store_session(api.container.services, alpha.operator_id, "s-3")
    body = {"subject": "session:s-3", "amount": "20.00", "currency": "EUR"}
    refused = alpha.post("/payments", json={**body, "payment_method": PAN}, headers=key("a-0"))
    held = alpha.post("/payments", json={**body, "payment_method": "tok_visa"}, headers=key("a-1")).json()
    alpha.post(f"/payments/{held['id']}/capture", json={"amount": "20.00"}, headers=key("c-1"))
    alpha.post("/refunds", json={"payment_id": held["id"], "amount": "20.00"}, headers=key("r-1"))

    assert refused.status_code == 422
    assert PAN not in refused.text
    assert PAN not in caplog.text
    with api.container.engine.connect() as connection:
        for table in ("payments", "payment_events", "ledger_entries", "ledger_postings", "audit_log"):
            assert PAN not in repr(connection.execute(text(f"SELECT * FROM {table}")).all())  # noqa: S608


def test_a_wallet_is_topped_up_spent_down_to_its_minimum_and_refunded_into(api):
    alpha = api.tenant("Alpha")
    anna = customer(alpha)
    wallet = alpha.created("/wallets", {"customer_id": anna, "currency": "EUR", "minimum_balance": "5.00"})
    wallet_id = wallet["id"]
    for session_id in ("s-4", "s-5"):
        store_session(api.container.services, alpha.operator_id, session_id, customer_id=anna)

    topped = alpha.post(
        f"/wallets/{wallet_id}/top-ups",
        json={"amount": "20.00", "payment_method": "tok_visa"},
        headers=key("t-1"),
    )
    allowed = alpha.post(f"/wallets/{wallet_id}/authorisations", json={"amount": "15.00"})
    spent = alpha.post(
        f"/wallets/{wallet_id}/payments",
        json={"amount": "12.50", "receivable": "session:s-4"},
        headers=key("p-1"),
    )
    refused = alpha.post(f"/wallets/{wallet_id}/authorisations", json={"amount": "2.51"})
    overdraw = alpha.post(
        f"/wallets/{wallet_id}/payments",
        json={"amount": "2.51", "receivable": "session:s-5"},
        headers=key("p-2"),
    )
    spend_id = next(t["id"] for t in spent.json()["transactions"] if t["kind"] == "spend")
    refunded = alpha.post(
        f"/wallets/{wallet_id}/refunds",
        json={"amount": "1.00", "spend_id": spend_id, "reason": "goodwill"},
        headers=key("r-1"),
    )

    assert topped.status_code == 201, topped.text
    assert (topped.json()["wallet"]["balance"], topped.json()["payment"]["status"]) == ("20.00", "captured")
    assert allowed.json() == {"authorised": True, "available": "15.00"}
    assert (spent.json()["balance"], spent.json()["available"]) == ("7.50", "2.50")
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_balance")
    assert overdraw.status_code == 409
    assert refunded.json()["balance"] == "8.50"
    trial = alpha.get("/ledger/trial-balance").json()
    balances = {a["account"]: a["balance"] for a in trial["accounts"]}
    assert balances[f"wallet:{wallet_id}"] == "-8.50"
    assert check_books(api.container.services, operator_ids=[alpha.operator_id]).ok
