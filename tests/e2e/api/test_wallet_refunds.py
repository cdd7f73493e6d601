"""Refunds into a wallet give back an earlier spend, never more than it took; one wallet per customer
and currency (tester finding 6). Parallel refunds run on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from evbill.application.access.keys import platform_actor
from evbill.application.payments import wallets
from evbill.application.payments.reconciliation import check_books
from evbill.domain.errors import DomainError
from tests.support import store_session


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def wallet_with_a_spend(tenant) -> tuple[str, str]:
    """A wallet topped up with 21.00 that spent 15.00: balance 6.00."""
    body = {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"}
    customer = tenant.created("/customers", body)["id"]
    session = store_session(
        tenant.api.container.services, tenant.operator_id, f"s-{customer[-12:]}", customer_id=customer
    )
    wallet_id = tenant.created("/wallets", {"customer_id": customer, "currency": "EUR"})["id"]
    topped = tenant.post(
        f"/wallets/{wallet_id}/top-ups",
        json={"amount": "21.00", "payment_method": "tok_visa"},
        headers=key("t"),
    )
    assert topped.status_code == 201, topped.text
    spent = tenant.post(
        f"/wallets/{wallet_id}/payments",
        json={"amount": "15.00", "receivable": f"session:{session}"},
        headers=key("p"),
    )
    assert spent.json()["balance"] == "6.00", spent.text
    return wallet_id, next(t["id"] for t in spent.json()["transactions"] if t["kind"] == "spend")


def refund(tenant, wallet_id: str, body: dict[str, str], name: str):
    return tenant.post(f"/wallets/{wallet_id}/refunds", json=body, headers=key(name))


def test_a_refund_into_a_wallet_gives_back_a_spend_and_never_more_than_it_took(api):
    alpha = api.tenant("Alpha")
    wallet_id, spend_id = wallet_with_a_spend(alpha)

    free_money = refund(alpha, wallet_id, {"amount": "1000000.00", "reference": "free money"}, "r-0")
    too_much = refund(alpha, wallet_id, {"amount": "15.01", "spend_id": spend_id}, "r-1")
    not_a_spend = refund(alpha, wallet_id, {"amount": "1.00", "spend_id": "nothing"}, "r-2")
    first = refund(alpha, wallet_id, {"amount": "10.00", "spend_id": spend_id, "reason": "slow"}, "r-3")
    again = refund(alpha, wallet_id, {"amount": "10.00", "spend_id": spend_id, "reason": "slow"}, "r-3")
    beyond = refund(alpha, wallet_id, {"amount": "5.01", "spend_id": spend_id}, "r-4")
    rest = refund(alpha, wallet_id, {"amount": "5.00", "spend_id": spend_id}, "r-5")

    assert free_money.status_code == 422  # no spend named: refused by the request schema
    assert (too_much.status_code, too_much.json()["errors"][0]) == (
        422,
        {
            "path": "$.amount",
            "message": "15.01 EUR is more than the 15.00 EUR of that spend not refunded yet",
            "severity": "error",
        },
    )
    assert (not_a_spend.status_code, not_a_spend.json()["errors"][0]["path"]) == (422, "$.spend_id")
    assert (first.status_code, first.json()["balance"]) == (200, "16.00")
    assert again.json()["balance"] == "16.00"  # the same request again moves nothing
    assert (
        beyond.json()["errors"][0]["message"]
        == "5.01 EUR is more than the 5.00 EUR of that spend not refunded yet"
    )
    assert rest.json()["balance"] == "21.00"
    balances = {a["account"]: a["balance"] for a in alpha.get("/ledger/trial-balance").json()["accounts"]}
    assert (balances[f"wallet:{wallet_id}"], balances["refunds"]) == ("-21.00", "15.00")
    assert check_books(api.container.services, operator_ids=[alpha.operator_id]).ok


def test_parallel_refunds_of_one_spend_never_give_back_more_than_it_took(api):
    alpha = api.tenant("Alpha")
    wallet_id, spend_id = wallet_with_a_spend(alpha)
    services, who = api.container.services, platform_actor(alpha.operator_id)
    done: list[int] = []
    refused: list[DomainError] = []

    def ask(number: int) -> None:
        try:
            wallets.refund_to_wallet(
                services, who, wallet_id, amount=400, spend_id=spend_id, reason="race",
                idempotency_key=f"race-{number}",
            )  # fmt: skip
            done.append(number)
        except DomainError as error:
            refused.append(error)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (len(done), len(refused)) == (3, 5)  # 3 x 4.00 of 15.00; a fourth would be 16.00
    wallet = alpha.get(f"/wallets/{wallet_id}").json()
    assert wallet["balance"] == "18.00"
    balances = {a["account"]: a["balance"] for a in alpha.get("/ledger/trial-balance").json()["accounts"]}
    assert balances["refunds"] == "12.00"
    assert check_books(services, operator_ids=[alpha.operator_id]).ok


def test_a_customer_has_one_wallet_per_currency(api):
    alpha = api.tenant("Alpha")
    body = {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"}
    customer = alpha.created("/customers", body)["id"]

    first = alpha.post("/wallets", json={"customer_id": customer, "currency": "EUR"})
    second = alpha.post("/wallets", json={"customer_id": customer, "currency": "EUR"})
    dollars = alpha.post("/wallets", json={"customer_id": customer, "currency": "USD"})

    assert first.status_code == 201
    assert (second.status_code, second.json()["detail"]) == (
        409,
        f"customer {customer!r} has a EUR wallet already",
    )
    assert dollars.status_code == 201


def test_two_wallets_created_at_once_make_one(api):
    alpha = api.tenant("Alpha")
    body = {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"}
    customer = alpha.created("/customers", body)["id"]
    services, who = api.container.services, platform_actor(alpha.operator_id)
    made: list[str] = []
    refused: list[DomainError] = []

    def ask() -> None:
        try:
            made.append(wallets.create_wallet(services, who, customer_id=customer, currency="EUR").wallet.id)
        except DomainError as error:
            refused.append(error)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (len(made), len(refused)) == (1, 3)
