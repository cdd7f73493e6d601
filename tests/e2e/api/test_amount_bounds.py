"""Amounts a person enters have bounds, and money given back is a discount or a credit, never a
negative fee or price (issue 12: a support key billed -99,999.00 every cycle with a 1e15 credit limit).

* A credit limit is 0 to 100,000,000 minor units; a number too large for the column
  (9223372036854775808) is a 422 like any other out-of-range value, never a 500.
* A fee, price, discount or cap is 0 to 1,000,000; a contract's service fee is negative only for a
  HOME_CHARGER_REIMBURSEMENT, which is a credit and so must be negative.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.api.conftest import Api, Tenant

JAN = {"kind": "INDIVIDUAL", "name": "Jan Jansen", "language": "nl", "currency": "EUR", "country": "NL"}
PLAN = {"name": "Basic", "kind": "PAY_PER_USE", "currency": "EUR",
        "version": {"effective_from": "2026-01-01T00:00:00Z"}}  # fmt: skip


@pytest.fixture(scope="module")
def shop(api: Api) -> tuple[Tenant, str, str]:
    admin = api.tenant("Bounds")
    return admin, admin.created("/customers", JAN)["id"], admin.created("/plans", PLAN)["id"]


def _contract(shop: tuple[Tenant, str, str], **terms: Any) -> Any:
    admin, customer_id, plan_id = shop
    body = {"customer_id": customer_id, "start": "2026-01-01T00:00:00Z",
            "terms": {"plan_id": plan_id, "payment_method": "CARD_ON_FILE", **terms}}  # fmt: skip
    return admin.post("/contracts", json=body)


def _fee(kind: str, amount: str) -> dict[str, str]:
    return {"kind": kind, "description": "fee", "amount": amount, "recurrence": "PER_CYCLE"}


@pytest.mark.parametrize(
    "limit", [9223372036854775808, 10**15, 100_000_001, -1], ids=["2^63", "1e15", "bound+1", "negative"]
)
def test_a_credit_limit_out_of_bounds_is_refused_with_422(shop: tuple[Tenant, str, str], limit: int) -> None:
    response = _contract(shop, credit_limit_minor=limit)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"].endswith("credit_limit_minor")


def test_a_credit_limit_at_the_bound_is_accepted(shop: tuple[Tenant, str, str]) -> None:
    response = _contract(shop, credit_limit_minor=100_000_000)
    assert response.status_code == 201, response.text
    assert response.json()["terms"][0]["credit_limit_minor"] == 100_000_000


@pytest.mark.parametrize(
    ("kind", "amount", "status"),
    [
        ("OTHER", "-99999", 422),
        ("RFID_CARD", "-0.01", 422),
        ("HOME_CHARGER_REIMBURSEMENT", "25.00", 422),
        ("OTHER", "1000000.01", 422),
        ("HOME_CHARGER_REIMBURSEMENT", "-1000000.01", 422),
        ("RFID_CARD", "5.00", 201),
        ("HOME_CHARGER_REIMBURSEMENT", "-25.00", 201),
    ],
)
def test_a_service_fee_is_negative_only_as_a_reimbursement_and_within_bounds(
    shop: tuple[Tenant, str, str], kind: str, amount: str, status: int
) -> None:
    response = _contract(shop, services=[_fee(kind, amount)])
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["errors"][0]["path"] == "$.terms.services[0].amount"


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"discount_kind": "FIXED", "value": "-5"}, "$.value"),
        ({"discount_kind": "FIXED", "value": "1000001"}, "$.value"),
        ({"discount_kind": "FIXED", "value": "5", "cap": "-1"}, "$.cap"),
        (
            {"discount_kind": "FIXED", "value": "5", "max_redemptions": 9223372036854775808},
            "$.max_redemptions",
        ),
    ],
)
def test_a_promotion_amount_out_of_bounds_is_refused(
    shop: tuple[Tenant, str, str], fields: dict[str, Any], path: str
) -> None:
    admin = shop[0]
    response = admin.post("/promotions", json={"name": "Deal", "kind": "COUPON", "code": "DEAL", **fields})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"] == path


def test_a_plan_fee_above_the_bound_is_refused(shop: tuple[Tenant, str, str]) -> None:
    admin = shop[0]
    version = {"effective_from": "2026-01-01T00:00:00Z", "fee": "1000000.01", "fee_vat": "21"}
    response = admin.post("/plans", json={**PLAN, "kind": "SUBSCRIPTION", "version": version})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"] == "$.version.fee"
