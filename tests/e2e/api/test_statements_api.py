"""POST /api/v1/payments/statements: a bank statement in, the report out; the same file again changes
nothing; a wrong content type is 415, a bad line 422 naming it.

Invoice A: 16.54 + 21 % (3.4734 -> 3.47) = 20.01; a transfer of 25.00 pays it and leaves 4.99 credit.
"""

from __future__ import annotations

from evbill.application.access.keys import platform_actor
from evbill.application.invoicing import documents as invoicing
from evbill.application.offers.customers import create_customer
from tests.e2e.api.conftest import Api
from tests.integration.collection_support import issue_invoice

ANNA = {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"}


def test_a_statement_posted_as_csv_is_matched_and_reported_and_a_second_post_changes_nothing(
    api: Api,
) -> None:
    alpha = api.tenant()
    services, who = api.container.services, platform_actor(alpha.operator_id)
    anna = create_customer(services, who, ANNA)
    invoice = issue_invoice(services, who, anna.id, "16.54")
    body = (
        f"entry_id,booked_on,amount,currency,reference\nS1,2026-12-02,25.00,EUR,{invoice.payment_reference}\n"
    ).encode()
    headers = {"Content-Type": "text/csv"}

    first = alpha.request("POST", "/payments/statements", content=body, headers=headers)
    second = alpha.request("POST", "/payments/statements", content=body, headers=headers)

    assert first.status_code == 200, first.text
    [line] = first.json()["lines"]
    assert (line["outcome"], line["invoice_number"], line["applied"], line["excess"]) == (
        "overpaid", invoice.number, "20.01", "4.99",
    )  # fmt: skip
    assert second.json()["counts"]["duplicate"] == 1
    assert invoicing.get_document(services, who, invoice.id).paid_minor == 2001


def test_a_wrong_content_type_is_415_and_a_bad_line_422_naming_it(api: Api) -> None:
    alpha = api.tenant()

    json_body = alpha.request("POST", "/payments/statements", json={"a": 1})
    bad = alpha.request(
        "POST", "/payments/statements", content=b"entry_id,booked_on,amount,currency\nX,2026-12-02,1,EURO\n",
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    not_camt = alpha.request(
        "POST", "/payments/statements", content=b"<x/>", headers={"Content-Type": "application/xml"}
    )

    assert json_body.status_code == 415
    assert json_body.headers["content-type"] == "application/problem+json"
    assert bad.status_code == 422
    assert [error["path"] for error in bad.json()["errors"]] == ["line 2.amount.currency"]
    assert not_camt.status_code == 422
    assert [error["path"] for error in not_camt.json()["errors"]] == ["$.file"]
