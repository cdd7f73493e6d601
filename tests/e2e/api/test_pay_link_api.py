"""The payment link's API edges: no key needed, limits per client address, bad input named by field.

(The whole ad hoc flow, with a charger on a real websocket, is tests/e2e/ocpp/test_pay_at_the_charger.py.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.api.conftest import SIMPLE_TARIFF, Api, build_api, make_site

NOWHERE = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def limited(module_database_url: str) -> Iterator[Api]:
    yield from build_api(module_database_url, pay_starts_per_minute=3, pay_reads_per_minute=5)


def fields_of(response) -> list[str]:
    return [error["path"] for error in response.json().get("errors", [])]


def test_the_link_needs_no_key_and_starts_are_limited_per_address(limited: Api) -> None:
    tenant = limited.tenant("Pay")
    site = make_site(tenant)
    tariff = tenant.created("/tariffs", SIMPLE_TARIFF)
    tenant.created("/tariff-assignments", {"tariff_id": tariff["id"], "scope": "operator"})
    evse = site["evse"]["id"]

    link = limited.client.get(f"/pay/{evse}")  # no API key
    starts = [
        limited.client.post(f"/pay/{NOWHERE}/start", json={"payment_method": "tok_visa"},
                            headers={"Idempotency-Key": f"k{n}"})
        for n in range(4)
    ]  # fmt: skip
    reads = [limited.client.get(f"/pay/{NOWHERE}") for _ in range(5)]

    assert link.status_code == 200
    assert link.json()["hold"] == "50.00"
    assert [s.status_code for s in starts] == [404, 404, 404, 429]
    assert starts[3].headers["content-type"] == "application/problem+json"
    assert "retry-after" in starts[3].headers
    # reads are counted apart from starts: the link read above, then four more, then the sixth is refused
    assert [r.status_code for r in reads] == [404, 404, 404, 404, 429]


def test_bad_settings_are_refused_naming_the_field(api: Api) -> None:
    tenant = api.tenant("Settings")
    customer = tenant.created(
        "/customers",
        {"kind": "INDIVIDUAL", "name": "Jan", "language": "nl", "currency": "EUR", "country": "NL"},
    )
    wallet = tenant.created("/wallets", {"customer_id": customer["id"], "currency": "EUR"})

    hold_nowhere = tenant.put(
        "/hold-amounts", json={"location_id": NOWHERE, "amount": "30.00", "currency": "EUR"}
    )
    hold_cents = tenant.put("/hold-amounts", json={"amount": "30.001", "currency": "EUR"})
    hold = tenant.put("/hold-amounts", json={"amount": "30.00", "currency": "EUR"})
    pan = tenant.put(
        f"/customers/{customer['id']}/card-on-file", json={"payment_method": "4000 0000 0000 0002"}
    )
    card = tenant.put(
        f"/customers/{customer['id']}/card-on-file",
        json={"payment_method": "tok_visa", "charge_sessions": True},
    )
    reload_zero = tenant.put(f"/wallets/{wallet['id']}/reload", json={"threshold": "5.00", "amount": "0"})
    reload = tenant.put(f"/wallets/{wallet['id']}/reload", json={"threshold": "5.00", "amount": "20.00"})

    assert (hold_nowhere.status_code, fields_of(hold_nowhere)) == (422, ["$.location_id"])
    assert (hold_cents.status_code, fields_of(hold_cents)) == (422, ["$.amount"])
    assert hold.json() == {"location_id": None, "amount": "30.00", "currency": "EUR"}
    assert (pan.status_code, fields_of(pan)) == (422, ["$.payment_method"])
    assert "0002" not in pan.text
    assert {key: value for key, value in card.json().items() if key != "saved_at"} == {
        "customer_id": customer["id"],
        "payment_method": "tok_visa",
        "charge_sessions": True,
        "gateway": "sandbox",
    }
    assert reload_zero.status_code == 422
    assert reload.json() == {"wallet_id": wallet["id"], "threshold": "5.00", "amount": "20.00"}


@pytest.mark.parametrize("gateway", ["sandbox", "stripe"])
def test_a_card_on_file_is_recorded_with_the_configured_gateway(
    module_database_url: str, gateway: str
) -> None:
    # Given evbill configured with the gateway (Stripe is not called to save a token)
    secrets = (
        {"stripe_secret_key": "sk_test_x", "stripe_webhook_secret": "whsec_x"} if gateway == "stripe" else {}
    )
    for api in build_api(module_database_url, payment_gateway=gateway, **secrets):
        tenant = api.tenant("Cards")
        customer = tenant.created(
            "/customers",
            {"kind": "INDIVIDUAL", "name": "Jan", "language": "nl", "currency": "EUR", "country": "NL"},
        )
        # When a card is saved through the API
        saved = tenant.put(
            f"/customers/{customer['id']}/card-on-file", json={"payment_method": "pm_card_visa"}
        )
        # Then it is stored as that gateway's token
        with api.container.services.uow(read_only=True) as uow:
            card = uow.session_payments.card_on_file(tenant.operator_id, customer["id"])
        assert saved.status_code == 200
        assert card is not None
        assert (card.payment_method, card.gateway) == ("pm_card_visa", gateway)


def test_a_receipt_link_of_an_unknown_or_unfinished_start_is_not_found(api: Api) -> None:
    tenant = api.tenant("PayReceipt")
    site = make_site(tenant)
    tariff = tenant.created("/tariffs", SIMPLE_TARIFF)
    tenant.created("/tariff-assignments", {"tariff_id": tariff["id"], "scope": "operator"})
    evse = site["evse"]["id"]
    held = api.client.post(f"/pay/{evse}/start", json={"payment_method": "tok_visa"},
                           headers={"Idempotency-Key": "receipt-early"})  # fmt: skip
    assert held.status_code == 201, held.text

    unknown = api.client.get(f"/pay/{evse}/starts/{NOWHERE}/receipt")
    other_evse = api.client.get(f"/pay/{NOWHERE}/starts/{held.json()['id']}/receipt")
    early = api.client.get(f"/pay/{evse}/starts/{held.json()['id']}/receipt")

    assert [r.status_code for r in (unknown, other_evse, early)] == [404, 404, 404]
    assert early.json()["detail"] == "no receipt yet: the session has not ended and been paid"
    assert held.json()["receipt_url"] is None


def test_a_hold_below_what_a_start_already_costs_is_refused(api: Api) -> None:
    """SIMPLE_TARIFF starts at 0.35 + 21 % VAT = 0.4235 EUR: a hold needs 0.43 at least (finding 12)."""
    tenant = api.tenant("Floor")
    site = make_site(tenant)
    tariff = tenant.created("/tariffs", SIMPLE_TARIFF)
    tenant.created("/tariff-assignments", {"tariff_id": tariff["id"], "scope": "operator"})
    location = site["location"]["id"]

    everywhere = tenant.put("/hold-amounts", json={"location_id": None, "amount": "0.01", "currency": "EUR"})
    here = tenant.put("/hold-amounts", json={"location_id": location, "amount": "0.42", "currency": "EUR"})
    enough = tenant.put("/hold-amounts", json={"location_id": location, "amount": "0.43", "currency": "EUR"})
    other_currency = tenant.put("/hold-amounts", json={"amount": "0.01", "currency": "SEK"})

    assert (everywhere.status_code, fields_of(everywhere)) == (422, ["$.amount"])
    assert everywhere.json()["errors"][0]["message"] == (
        f"0.01 EUR is below the 0.43 EUR a session at EVSE {site['evse']['id']} costs as soon as it "
        "starts (start fee or minimum price incl. VAT)"
    )
    assert (here.status_code, fields_of(here)) == (422, ["$.amount"])
    assert enough.json() == {"location_id": location, "amount": "0.43", "currency": "EUR"}
    # no EVSE charges in SEK: every ad hoc start would be refused for its hold (tester: a USD hold on a
    # EUR operator was taken and took pay-at-the-charger down)
    assert (other_currency.status_code, other_currency.json()["errors"]) == (
        422,
        [{"path": "$.currency", "message": "the EVSEs it applies to charge in EUR", "severity": "error"}],
    )
    assert api.client.get(f"/pay/{site['evse']['id']}").json()["hold"] == "0.43"


def _priced_evse(tenant, *, tariff: bool = True) -> str:
    site = make_site(tenant)
    if tariff:
        created = tenant.created("/tariffs", SIMPLE_TARIFF)
        tenant.created("/tariff-assignments", {"tariff_id": created["id"], "scope": "operator"})
    return site["evse"]["id"]


def test_an_idempotency_key_reused_with_another_body_or_evse_is_a_422(api: Api) -> None:
    tenant = api.tenant("PayKeys")
    evse, other = _priced_evse(tenant), _priced_evse(tenant, tariff=False)

    def start(code: str, token: str):
        return api.client.post(f"/pay/{code}/start", json={"payment_method": token},
                               headers={"Idempotency-Key": "driver-1"})  # fmt: skip

    first = start(evse, "tok_declined")
    again = start(evse, "tok_declined")  # the same request: the first answer
    other_body = start(evse, "tok_visa")
    other_evse = start(other, "tok_declined")

    assert (first.status_code, first.json()["status"]) == (201, "failed")
    assert again.json()["id"] == first.json()["id"]
    assert [other_body.status_code, other_evse.status_code] == [422, 422]
    assert fields_of(other_body) == fields_of(other_evse) == ["header.Idempotency-Key"]


def test_a_start_waiting_for_3d_secure_does_not_block_the_evse(api: Api) -> None:
    # Given an unauthenticated start with a card that needs 3-D Secure, never confirmed
    tenant = api.tenant("PayBlock")
    evse = _priced_evse(tenant)
    pending = api.client.post(f"/pay/{evse}/start", json={"payment_method": "tok_3ds"},
                              headers={"Idempotency-Key": "pending-3ds"})  # fmt: skip
    # When another driver starts at the same EVSE
    next_driver = api.client.post(f"/pay/{evse}/start", json={"payment_method": "tok_visa"},
                                  headers={"Idempotency-Key": "next-driver"})  # fmt: skip
    # Then the EVSE was not reserved for the pending one: the next driver's start goes on (here to the
    # station, which is not connected, so it fails for that reason and not with 409 "busy")
    assert (pending.status_code, pending.json()["status"]) == (201, "requires_action")
    assert next_driver.status_code == 201, next_driver.text
    assert next_driver.json()["failure"] == "the station is offline"
