"""Who may move money: the role x action matrix, checked for every route of the API and every role.

* Every route of the app names the action it performs (``entrypoints.api.permissions``); a route
  missing from that table would be refused for everyone, so the table and the app must list the
  same routes.
* For every route and every API-key role: a role the matrix does not allow the action gets 403
  ``forbidden`` before anything runs; a role it allows gets past the check (404, 422 or success on
  made-up ids, never 403).
* The README's matrix is the code's matrix.
* What support was found doing (issue 12) is refused and changes nothing: creating an ACTIVE contract
  with a credit limit and fees, unblocking a token, reactivating a contract, giving a coupon.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from evbill.domain.access.operators import API_KEY_ROLES, Permission, Role
from evbill.entrypoints.api.permissions import PUBLIC_ROUTES, ROUTE_ACTIONS
from tests.e2e.api.conftest import PREFIX, Api, Tenant
from tests.support import REPO

JAN = {"kind": "INDIVIDUAL", "name": "Jan Jansen", "language": "nl", "currency": "EUR", "country": "NL"}
PLAN = {"name": "Basic", "kind": "PAY_PER_USE", "currency": "EUR",
        "version": {"effective_from": "2026-01-01T00:00:00Z"}}  # fmt: skip


def _app_routes(api: Api) -> set[tuple[str, str]]:
    paths = api.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if path != f"{PREFIX}/health" and (method.upper(), path) not in PUBLIC_ROUTES
    }


def test_every_route_of_the_app_names_its_action_and_the_table_names_no_other(api: Api) -> None:
    assert _app_routes(api) == set(ROUTE_ACTIONS)


def test_a_public_route_is_served_and_refuses_a_caller_without_its_own_authentication(api: Api) -> None:
    # no API key is asked: the webhook without a signature is refused (404 while stripe is not the
    # gateway); a pay-at-the-charger route with a made-up EVSE or no payment method does nothing
    for method, path in PUBLIC_ROUTES:
        assert path in {route for _, route in _served(api)}
        answer = api.client.request(method, path, json={})
        assert answer.status_code in (400, 404, 422), answer.text
        assert answer.status_code != 403


def _served(api: Api) -> set[tuple[str, str]]:
    paths = api.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


ROUTES = sorted(ROUTE_ACTIONS)


@pytest.fixture(scope="module")
def keys(api: Api) -> dict[Role, Tenant]:
    admin = api.tenant("Matrix")
    return {role: admin if role is Role.ADMIN else admin.with_role(role) for role in API_KEY_ROLES}


@pytest.mark.parametrize("role", API_KEY_ROLES, ids=lambda role: role.value)
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p.removeprefix(PREFIX)}" for m, p in ROUTES])
def test_a_role_gets_past_a_route_exactly_when_the_matrix_allows_its_action(
    keys: dict[Role, Tenant], role: Role, method: str, path: str
) -> None:
    # given a route with made-up ids, and an empty body where it takes one
    concrete = re.sub(r"\{[a-z_]+\}", "00000000-0000-0000-0000-000000000000", path).removeprefix(PREFIX)
    kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    if method in ("PATCH", "PUT", "DELETE"):
        kwargs["headers"] = {"If-Match": '"1"'}
    # when the role calls it
    response = keys[role].request(method, concrete, **kwargs)
    # then it is refused (403) exactly when the role does not allow the route's action
    if role.allows(ROUTE_ACTIONS[(method, path)]):
        assert response.status_code != 403, response.text
        assert response.status_code < 500, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"


def _readme_matrix() -> dict[Role, set[Permission]]:
    """The README's table: one row per action, one column per role, "yes" where allowed."""
    text = (REPO / "README.md").read_text()
    section = text.split("### Who may do what", 1)[1].split("\n|", 1)[1].split("\n\n", 1)[0]
    header, _, *rows = ("|" + section).splitlines()
    roles = [Role(cell.strip().strip("`")) for cell in header.strip("|").split("|")[1:]]
    allowed: dict[Role, set[Permission]] = {role: set() for role in roles}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        action = Permission(cells[0].split("`")[1])
        for role, cell in zip(roles, cells[1:], strict=True):
            if cell == "yes":
                allowed[role].add(action)
    return allowed


def test_the_readme_matrix_is_the_one_the_code_enforces() -> None:
    matrix = _readme_matrix()
    assert set(matrix) == set(API_KEY_ROLES)
    for role, allowed in matrix.items():
        assert allowed == {permission for permission in Permission if role.allows(permission)}, role


# What support did in issue 12, each refused with nothing changed


@pytest.fixture(scope="module")
def shop(api: Api) -> dict[str, Any]:
    admin = api.tenant("Shop")
    customer = admin.created("/customers", JAN)
    plan = admin.created("/plans", PLAN)
    contract = admin.created(
        "/contracts",
        {"customer_id": customer["id"], "start": "2026-01-01T00:00:00Z", "activate": True,
         "terms": {"plan_id": plan["id"], "payment_method": "CARD_ON_FILE"}},
    )  # fmt: skip
    token = admin.created(
        "/tokens",
        {"customer_id": customer["id"], "uid": "04A1B2C3D4", "type": "RFID", "contract_id": "NL-EVB-C1"},
    )
    coupon = admin.created(
        "/promotions",
        {"name": "All free", "kind": "COUPON", "code": "FREE100", "discount_kind": "PERCENT", "value": "100",
         "duration": "FOREVER"},
    )  # fmt: skip
    return {"admin": admin, "support": admin.with_role(Role.SUPPORT), "customer": customer, "plan": plan,
            "contract": contract, "token": token, "coupon": coupon}  # fmt: skip


def test_support_cannot_create_an_active_contract_with_a_credit_limit_and_a_negative_fee(
    shop: dict[str, Any],
) -> None:
    support, admin = shop["support"], shop["admin"]
    before = admin.get("/contracts").json()["items"]
    fee = {"kind": "OTHER", "description": "x", "amount": "-99999", "recurrence": "PER_CYCLE"}
    response = support.post(
        "/contracts",
        json={"customer_id": shop["customer"]["id"], "start": "2026-02-01T00:00:00Z", "activate": True,
              "terms": {"plan_id": shop["plan"]["id"], "payment_method": "CARD_ON_FILE",
                        "credit_limit_minor": 10**15, "services": [fee]}},
    )  # fmt: skip
    assert response.status_code == 403
    assert admin.get("/contracts").json()["items"] == before


def test_support_cannot_unblock_a_token(shop: dict[str, Any]) -> None:
    support, admin, token = shop["support"], shop["admin"], shop["token"]
    path = f"/tokens/{token['id']}"
    blocked = admin.patch(
        path, json={"status": "BLOCKED"}, headers={"If-Match": admin.get(path).headers["etag"]}
    )
    assert blocked.status_code == 200, blocked.text
    response = support.patch(
        f"/tokens/{token['id']}", json={"status": "ACTIVE"}, headers={"If-Match": blocked.headers["etag"]}
    )
    assert response.status_code == 403
    assert admin.get(f"/tokens/{token['id']}").json()["status"] == "BLOCKED"


def test_support_cannot_reactivate_a_suspended_contract(shop: dict[str, Any]) -> None:
    support, admin, contract = shop["support"], shop["admin"], shop["contract"]
    path = f"/contracts/{contract['id']}"
    suspended = admin.post(f"{path}/status", json={"status": "SUSPENDED"},
                           headers={"If-Match": admin.get(path).headers["etag"]})  # fmt: skip
    assert suspended.status_code == 200, suspended.text
    response = support.post(
        f"{path}/status", json={"status": "ACTIVE"}, headers={"If-Match": admin.get(path).headers["etag"]}
    )
    assert response.status_code == 403
    assert admin.get(path).json()["status"] == "SUSPENDED"


def test_support_cannot_give_a_coupon(shop: dict[str, Any]) -> None:
    support = shop["support"]
    response = support.post(f"/customers/{shop['customer']['id']}/promotions", json={"code": "FREE100"})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_support_cannot_put_a_card_on_file_that_is_charged_for_sessions(shop: dict[str, Any]) -> None:
    # README: support keys can do nothing that moves money; a card charged per session does
    support, admin, customer = shop["support"], shop["admin"], shop["customer"]
    path = f"/customers/{customer['id']}/card-on-file"
    response = support.put(path, json={"payment_method": "tok_visa", "charge_sessions": True})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    allowed = admin.with_role(Role.BILLING).put(
        path, json={"payment_method": "tok_visa", "charge_sessions": True}
    )
    assert allowed.status_code == 200, allowed.text
