"""Cards on file, SEPA mandates and the collection policy through the API (they were CLI only).

A card is a gateway token, never a card number: a number is refused naming the field and is found
nowhere afterwards. Another operator trying each id gets the 404 a made-up id gets (the probes in
``test_tenant_isolation`` do so for every route; here the flows as an operator meets them).
"""

from __future__ import annotations

from typing import Any

from evbill.domain.access.operators import Role
from tests.e2e.api.conftest import Api, Tenant

ANNA = {"kind": "INDIVIDUAL", "name": "Anna de Vries", "language": "nl", "currency": "EUR", "country": "NL"}
PAN = "4242424242424242"
MANDATE = {"reference": "M-2026-1", "iban": "NL91 ABNA 0417 1643 00", "signed_on": "2026-11-01"}


def fields_of(response: Any) -> list[str]:
    return [error["path"] for error in response.json()["errors"]]


def customer(tenant: Tenant) -> str:
    return str(tenant.created("/customers", ANNA)["id"])


def test_a_card_is_saved_listed_switched_to_pay_sessions_and_removed(api: Api) -> None:
    alpha = api.tenant()
    anna, ben = customer(alpha), customer(alpha)
    # When Anna's card is saved (a sandbox token), and Ben's, a card number is tried for Ben
    saved = alpha.put(f"/customers/{anna}/card-on-file", json={"payment_method": "tok_visa"})
    alpha.put(f"/customers/{ben}/card-on-file", json={"payment_method": "tok_3ds", "charge_sessions": True})
    pan = alpha.put(f"/customers/{ben}/card-on-file", json={"payment_method": PAN})
    # Then the card is kept as the token, sessions not charged until switched on
    assert saved.status_code == 200, saved.text
    assert {k: saved.json()[k] for k in ("customer_id", "payment_method", "charge_sessions", "gateway")} == {
        "customer_id": anna, "payment_method": "tok_visa", "charge_sessions": False, "gateway": "sandbox",
    }  # fmt: skip
    assert (pan.status_code, fields_of(pan)) == (422, ["$.payment_method"])
    assert PAN not in pan.text
    # When per-session charging is switched on for Anna
    read = alpha.get(f"/customers/{anna}/card-on-file")
    assert read.headers["etag"] == saved.headers["etag"]
    switched = alpha.patch(
        f"/customers/{anna}/card-on-file",
        json={"charge_sessions": True},
        headers={"If-Match": read.headers["etag"]},
    )
    assert (switched.status_code, switched.json()["charge_sessions"]) == (200, True)
    assert switched.headers["etag"] not in (read.headers["etag"], None)
    # Then both cards are listed, tokens only, Ben's unchanged by the refused number
    listed = alpha.get("/payments/cards-on-file?limit=1")
    rest = alpha.get(f"/payments/cards-on-file?limit=1&cursor={listed.json()['next_cursor']}")
    cards = {c["customer_id"]: (c["payment_method"], c["charge_sessions"]) for c in
             listed.json()["items"] + rest.json()["items"]}  # fmt: skip
    assert cards == {anna: ("tok_visa", True), ben: ("tok_3ds", True)}
    assert rest.json()["next_cursor"] is None
    assert PAN not in listed.text + rest.text
    # When Anna's card is removed, it is gone (and removing it again is 404)
    assert alpha.delete(f"/customers/{anna}/card-on-file").status_code == 204
    assert alpha.get(f"/customers/{anna}/card-on-file").status_code == 404
    assert alpha.delete(f"/customers/{anna}/card-on-file").status_code == 404
    assert alpha.patch(f"/customers/{anna}/card-on-file", json={"charge_sessions": False}).status_code == 404
    assert [c["customer_id"] for c in alpha.get("/payments/cards-on-file").json()["items"]] == [ben]


def test_a_mandate_is_recorded_with_its_checked_iban_listed_and_revoked(api: Api) -> None:
    alpha = api.tenant()
    anna = customer(alpha)
    bad_iban = alpha.post("/payments/mandates", json={**MANDATE, "customer_id": anna, "iban": "NL00ABNA01"})
    signed_later = alpha.post(
        "/payments/mandates", json={**MANDATE, "customer_id": anna, "signed_on": "2099-01-01"}
    )
    made = alpha.post("/payments/mandates", json={**MANDATE, "customer_id": anna})
    assert (bad_iban.status_code, fields_of(bad_iban)) == (422, ["$.iban"])
    assert (signed_later.status_code, fields_of(signed_later)) == (422, ["$.signed_on"])
    assert made.status_code == 201, made.text
    mandate = made.json()
    assert {k: mandate[k] for k in ("customer_id", "reference", "iban", "bic", "debtor_name", "sequence_type",
                                    "active", "revoked_at")} == {
        "customer_id": anna, "reference": "M-2026-1", "iban": "NL91ABNA0417164300", "bic": "ABNANL2A",
        "debtor_name": "Anna de Vries", "sequence_type": "FRST", "active": True, "revoked_at": None,
    }  # fmt: skip
    assert [m["id"] for m in alpha.get(f"/payments/mandates?customer_id={anna}").json()] == [mandate["id"]]
    # When it is revoked, twice: the first revocation stands
    revoked = alpha.post(f"/payments/mandates/{mandate['id']}/revoke")
    again = alpha.post(f"/payments/mandates/{mandate['id']}/revoke")
    assert (revoked.json()["active"], revoked.json()["revoked_at"] is not None) == (False, True)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert alpha.get(f"/payments/mandates/{mandate['id']}").json()["active"] is False


def test_the_collection_policy_reads_the_default_until_set_and_is_checked(api: Api) -> None:
    alpha = api.tenant()
    default = alpha.get("/payments/collection-policy")
    assert default.json() == {
        "retry_days": [1, 3, 7, 14],
        "reminder_days": [1, 7, 14],
        "suspend_after_days": 21,
    }
    backwards = {"retry_days": [3, 1], "reminder_days": [2], "suspend_after_days": None}
    wrong = alpha.put("/payments/collection-policy", json=backwards)
    assert (wrong.status_code, fields_of(wrong)) == (422, ["$.retry_days"])
    policy = {"retry_days": [2, 5], "reminder_days": [0, 10], "suspend_after_days": None}
    assert alpha.put("/payments/collection-policy", json=policy).json() == policy
    assert alpha.get("/payments/collection-policy").json() == policy
    # A billing clerk may read it but not set it (the operator's admin sets it)
    clerk = alpha.with_role(Role.BILLING)
    assert clerk.get("/payments/collection-policy").json() == policy
    assert clerk.put("/payments/collection-policy", json=policy).status_code == 403


def test_switching_per_session_charging_needs_the_cards_current_etag(api: Api) -> None:
    # Given Anna's card on file, read with its ETag
    alpha = api.tenant()
    anna = customer(alpha)
    alpha.put(f"/customers/{anna}/card-on-file", json={"payment_method": "tok_visa"})
    tag = alpha.get(f"/customers/{anna}/card-on-file").headers["etag"]
    path = f"/customers/{anna}/card-on-file"

    # When the switch is sent without If-Match, or with a weak ETag
    missing = alpha.patch(path, json={"charge_sessions": True})
    weak = alpha.patch(path, json={"charge_sessions": True}, headers={"If-Match": f"W/{tag}"})
    # Then it is refused (428, 412) and nothing changed
    assert (missing.status_code, missing.json()["code"]) == (428, "precondition_required")
    assert (weak.status_code, weak.json()["code"]) == (412, "stale_version")
    assert alpha.get(path).json()["charge_sessions"] is False

    # When one change is made with the ETag, and a second one with the same (now stale) ETag
    first = alpha.patch(path, json={"charge_sessions": True}, headers={"If-Match": tag})
    second = alpha.patch(path, json={"charge_sessions": False}, headers={"If-Match": tag})
    # Then the first applies and the second is 412: it would overwrite a change it never saw
    assert first.status_code == 200, first.text
    assert (second.status_code, second.json()["code"]) == (412, "stale_version")
    assert alpha.get(path).json()["charge_sessions"] is True
    assert alpha.get(path).headers["etag"] == first.headers["etag"]
    # And a new card saved since makes the ETag read before it stale too
    alpha.put(path, json={"payment_method": "tok_mastercard", "charge_sessions": True})
    stale = alpha.patch(path, json={"charge_sessions": False}, headers={"If-Match": first.headers["etag"]})
    assert stale.status_code == 412


def test_another_operator_trying_each_id_is_told_what_a_made_up_id_gets(api: Api) -> None:
    alpha, bravo = api.tenant("Alpha"), api.tenant("Bravo")
    anna = customer(alpha)
    alpha.put(f"/customers/{anna}/card-on-file", json={"payment_method": "tok_visa"})
    mandate = alpha.created("/payments/mandates", {**MANDATE, "customer_id": anna})["id"]
    made_up = api.container.services.ids.new_id()
    for real, fake in ((anna, made_up), (mandate, made_up)):
        for method, path, body in (
            ("GET", f"/customers/{real}/card-on-file", None),
            ("PUT", f"/customers/{real}/card-on-file", {"payment_method": "tok_visa"}),
            ("PATCH", f"/customers/{real}/card-on-file", {"charge_sessions": True}),
            ("DELETE", f"/customers/{real}/card-on-file", None),
            ("GET", f"/payments/mandates/{real}", None),
            ("POST", f"/payments/mandates/{real}/revoke", None),
        ):
            theirs = bravo.request(method, path, json=body)
            nowhere = bravo.request(method, path.replace(real, fake), json=body)
            assert theirs.status_code == nowhere.status_code == 404, (method, path, theirs.text)
            assert theirs.json()["code"] == nowhere.json()["code"] == "not_found"
    named = bravo.post("/payments/mandates", json={**MANDATE, "customer_id": anna})
    assert (named.status_code, fields_of(named)) == (422, ["$.customer_id"])
    # And Alpha's card and mandate are as they were; Bravo lists none
    assert alpha.get(f"/customers/{anna}/card-on-file").json()["charge_sessions"] is False
    assert alpha.get(f"/payments/mandates/{mandate}").json()["active"] is True
    assert bravo.get("/payments/cards-on-file").json()["items"] == []
    assert bravo.get("/payments/mandates").json() == []


def test_a_card_set_up_by_the_customer_is_saved_on_file_once_the_setup_succeeded(api: Api) -> None:
    alpha = api.tenant()
    anna = customer(alpha)
    sandbox = api.container.payment_gateway
    # When a card setup is started for Anna (her page gets the client secret), and again with its key
    started = alpha.post(f"/customers/{anna}/card-setup", json={"charge_sessions": True},
                         headers={"Idempotency-Key": "setup-1"})  # fmt: skip
    again = alpha.post(f"/customers/{anna}/card-setup", json={"charge_sessions": True},
                       headers={"Idempotency-Key": "setup-1"})  # fmt: skip
    assert started.status_code == 201, started.text
    setup = started.json()
    assert (setup["customer_id"], setup["gateway"], setup["status"]) == (
        anna,
        "sandbox",
        "requires_payment_method",
    )
    assert setup["id"].startswith("seti_")
    assert setup["client_secret"].startswith(setup["id"] + "_secret_")
    assert again.json()["id"] == setup["id"]
    confirm = f"/customers/{anna}/card-setup/{setup['id']}/confirm"
    # Then until Anna gave a card, confirming is refused and nothing is on file
    early = alpha.post(confirm)
    assert (early.status_code, early.json()["detail"]) == (
        409, "the card setup is requires_payment_method: the customer has not finished it",
    )  # fmt: skip
    assert alpha.get(f"/customers/{anna}/card-on-file").status_code == 404

    # When her browser gives the setup her card (the gateway's token), and evbill confirms, twice
    sandbox.confirm_card_setup(setup["id"], "tok_visa")
    saved, repeated = alpha.post(confirm), alpha.post(confirm)

    # Then the token is her card on file, charging her sessions as asked at the start
    assert saved.status_code == 200, saved.text
    assert {k: saved.json()[k] for k in ("customer_id", "payment_method", "charge_sessions", "gateway")} == {
        "customer_id": anna, "payment_method": "tok_visa", "charge_sessions": True, "gateway": "sandbox",
    }  # fmt: skip
    assert repeated.json() == saved.json()
    assert alpha.get(f"/customers/{anna}/card-on-file").json() == saved.json()
    # a setup of hers is not another customer's, and a made-up one is not found
    ben = customer(alpha)
    assert alpha.post(f"/customers/{ben}/card-setup/{setup['id']}/confirm").status_code == 404
    assert alpha.post(f"/customers/{anna}/card-setup/seti_made_up/confirm").status_code == 404
    # the same key for another customer's setup is refused (the API's idempotency check)
    reused = alpha.post(f"/customers/{ben}/card-setup", headers={"Idempotency-Key": "setup-1"})
    assert (reused.status_code, fields_of(reused)) == (422, ["Idempotency-Key"])


def test_a_card_setup_needs_the_bill_permission(api: Api) -> None:
    alpha = api.tenant()
    anna = customer(alpha)

    refused = alpha.with_role(Role.SUPPORT).post(f"/customers/{anna}/card-setup")

    assert refused.status_code == 403
    assert alpha.post("/customers/nobody/card-setup").status_code == 404
