"""Amounts in requests are read exactly or refused, naming the field (tester): a JSON number with a
fraction has been through a binary float before evbill sees it (12.0900000000000000001 arrived as
12.09), and Python's Decimal reads other scripts' digits ("١٢" as 12). Strings of 0-9 and whole
JSON numbers are exact."""

from __future__ import annotations

import pytest

PERSON = {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"}


FLOAT = 'send it as a string, e.g. "12.09": a JSON number with a fraction or an exponent is not exact'
DIGITS = 'a decimal number written with the digits 0-9 and a point, e.g. "12.09"'


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("12.09", FLOAT),
        ("12.0900000000000000001", FLOAT),  # read by JSON as the float 12.09
        ("1e0", FLOAT),  # a JSON number with an exponent is a float too
        ('" 0.91 "', DIGITS),  # as written, or refused: no spaces (tester)
        ('"+0.91"', DIGITS),  # nor a plus sign
        ('"\u0661\u0662"', DIGITS),  # Arabic-Indic "12"
        ('"1e3"', DIGITS),
        ('"12,09"', DIGITS),
        ("true", 'a decimal number, e.g. "12.09"'),
    ],
)
def test_a_wallet_top_up_refuses_an_amount_that_is_not_exact_naming_the_field(api, amount, message):
    alpha = api.tenant("Alpha")
    customer = alpha.created("/customers", PERSON)["id"]
    wallet_id = alpha.created("/wallets", {"customer_id": customer, "currency": "EUR"})["id"]

    response = alpha.post(
        f"/wallets/{wallet_id}/top-ups",
        content=f'{{"amount": {amount}, "payment_method": "tok_visa"}}'.encode(),
        headers={"Idempotency-Key": "t", "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["path"] == "$.amount"
    assert message in error["message"]
    assert alpha.get(f"/wallets/{wallet_id}").json()["balance"] == "0.00"


def test_exact_amounts_are_read_as_written(api):
    alpha = api.tenant("Alpha")
    customer = alpha.created("/customers", PERSON)["id"]
    wallet_id = alpha.created("/wallets", {"customer_id": customer, "currency": "EUR"})["id"]

    for n, amount in enumerate(("12.09", "0.91", 7)):  # strings and a whole JSON number
        topped = alpha.post(
            f"/wallets/{wallet_id}/top-ups",
            json={"amount": amount, "payment_method": "tok_visa"},
            headers={"Idempotency-Key": f"t{n}"},
        )
        assert topped.status_code == 201, topped.text

    assert alpha.get(f"/wallets/{wallet_id}").json()["balance"] == "20.00"
