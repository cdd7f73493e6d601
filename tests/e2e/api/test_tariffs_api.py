"""Tariffs through the API: OCPI documents in and out exactly, versions, assignments, preview."""

from __future__ import annotations

import copy
import json

from tests.e2e.api.conftest import SIMPLE_TARIFF, make_site


def with_price(document, price):
    changed = copy.deepcopy(document)
    changed["elements"][0]["price_components"][1]["price"] = price
    return changed


def test_a_tariff_is_stored_from_ocpi_json_and_returned_with_exact_numbers(api):
    alpha = api.tenant()
    body = '{"country_code":"NL","party_id":"EVB","id":"PRECISE","currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.123456,"vat":21.0,"step_size":1}]}],"last_updated":"2026-01-01T00:00:00Z"}'  # noqa: E501

    created = alpha.post("/tariffs", content=body, headers={"Content-Type": "application/json"})

    assert created.status_code == 201
    assert '"price":0.123456' in created.text  # a JSON number with the digits sent, not a string or a float
    assert created.json()["current_version"] == 1
    assert created.json()["document"]["id"] == "PRECISE"


def test_an_invalid_tariff_lists_every_problem_with_its_json_path(api):
    alpha = api.tenant()
    broken = copy.deepcopy(SIMPLE_TARIFF)
    broken["currency"] = "EURO"
    broken["elements"][0]["price_components"][1]["price"] = -1
    broken["elements"][0]["restrictions"] = {"start_time": "25:00"}

    response = alpha.post("/tariffs", json=broken)

    assert response.status_code == 422
    paths = [error["path"] for error in response.json()["errors"] if error["severity"] == "error"]
    assert paths == [
        "$.currency",
        "$.elements[0].price_components[1].price",
        "$.elements[0].restrictions.start_time",
    ]
    assert alpha.get("/tariffs").json()["items"] == []  # nothing stored


def test_a_new_version_never_changes_an_older_one(api):
    alpha = api.tenant()
    tariff = alpha.created("/tariffs", SIMPLE_TARIFF)
    path = f"/tariffs/{tariff['id']}"

    replaced = alpha.put(path, json=with_price(SIMPLE_TARIFF, 0.45), headers={"If-Match": '"1"'})
    versions = alpha.get(f"{path}/versions").json()["items"]

    assert replaced.status_code == 200
    assert replaced.json()["current_version"] == 2
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[0]["document"]["elements"][0]["price_components"][1]["price"] == 0.39
    assert versions[1]["document"]["elements"][0]["price_components"][1]["price"] == 0.45
    assert alpha.get(f"{path}/versions/1").json()["document"] == tariff["document"]


def test_a_stale_tariff_version_is_refused(api):
    alpha = api.tenant()
    tariff = alpha.created("/tariffs", SIMPLE_TARIFF)
    path = f"/tariffs/{tariff['id']}"
    alpha.put(path, json=with_price(SIMPLE_TARIFF, 0.45), headers={"If-Match": '"1"'})

    stale = alpha.put(path, json=with_price(SIMPLE_TARIFF, 0.99), headers={"If-Match": '"1"'})

    assert stale.status_code == 412
    assert [v["number"] for v in alpha.get(f"{path}/versions").json()["items"]] == [1, 2]


def test_a_tariffs_ocpi_id_is_unique_per_operator_but_not_across_operators(api):
    alpha, beta = api.tenant("Alpha"), api.tenant("Beta")
    alpha.created("/tariffs", SIMPLE_TARIFF)

    again = alpha.post("/tariffs", json=SIMPLE_TARIFF)
    other_operator = beta.post("/tariffs", json=SIMPLE_TARIFF)

    assert again.status_code == 409
    assert other_operator.status_code == 201


def test_the_most_specific_assignment_decides_the_tariff_at_an_evse(api):
    alpha = api.tenant()
    site = make_site(alpha)
    default = alpha.created("/tariffs", SIMPLE_TARIFF)
    special = alpha.created("/tariffs", {**with_price(SIMPLE_TARIFF, 0.29), "id": "STATION-SPECIAL"})
    evse_tariff = f"/evses/{site['evse']['id']}/tariff"

    none_yet = alpha.get(evse_tariff)
    alpha.created("/tariff-assignments", {"tariff_id": default["id"], "scope": "operator"})
    operator_wide = alpha.get(evse_tariff).json()["id"]
    alpha.created(
        "/tariff-assignments",
        {"tariff_id": special["id"], "scope": "station", "scope_id": site["station"]["id"]},
    )
    station_specific = alpha.get(evse_tariff).json()["id"]

    assert none_yet.status_code == 404
    assert operator_wide == default["id"]
    assert station_specific == special["id"]


def test_assigning_a_scope_again_replaces_its_tariff(api):
    alpha = api.tenant()
    first = alpha.created("/tariffs", SIMPLE_TARIFF)
    second = alpha.created("/tariffs", {**SIMPLE_TARIFF, "id": "SECOND"})

    alpha.created("/tariff-assignments", {"tariff_id": first["id"], "scope": "operator"})
    alpha.created("/tariff-assignments", {"tariff_id": second["id"], "scope": "operator"})

    assert [a["tariff_id"] for a in alpha.get("/tariff-assignments").json()["items"]] == [second["id"]]


def test_preview_prices_a_sample_session_across_a_price_boundary_in_local_time(api):
    """Tue 16:30 Amsterdam (CET), 1 h charging 11 kWh: 5.5 kWh before 17:00 at 0.39, 5.5 after at 0.49."""
    alpha = api.tenant()
    time_of_use = {
        **SIMPLE_TARIFF,
        "id": "TOU",
        "elements": [
            {"price_components": [{"type": "FLAT", "price": 0.35, "vat": 21.0, "step_size": 1}]},
            {
                "price_components": [{"type": "ENERGY", "price": 0.49, "vat": 21.0, "step_size": 1}],
                "restrictions": {"start_time": "17:00", "end_time": "21:00"},
            },
            {"price_components": [{"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1}]},
        ],
    }
    session = {
        "start": "2026-11-17T16:30:00+01:00",
        "time_zone": "Europe/Amsterdam",
        "charging_minutes": 60,
        "energy_kwh": "11",
    }

    response = alpha.post("/tariffs/preview", json={"tariff": time_of_use, "session": session})

    assert response.status_code == 200
    body = response.json()
    # 0.35 + 5.5 x 0.39 + 5.5 x 0.49 = 5.19 excl. VAT; x 1.21 = 6.2799 incl. VAT
    assert body["exact_total_cost"] == {"excl_vat": "5.1900000000", "incl_vat": "6.2799000000"}
    assert body["total_cost"] == {"excl_vat": "5.19", "incl_vat": "6.28"}
    energy = [line for line in body["explanation"]["lines"] if line["dimension"] == "ENERGY"]
    assert [(line["price"], line["volume"]) for line in energy] == [(0.39, 5500.0), (0.49, 5500.0)]
    assert any("17:00" in text for text in body["text"])


def test_validate_reports_problems_without_storing_anything(api):
    alpha = api.tenant()
    document = {**SIMPLE_TARIFF, "restriction": {}}

    response = alpha.post("/tariffs/validate", content=json.dumps(document))

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert [p["path"] for p in response.json()["problems"]] == ["$.restriction"]
    assert alpha.get("/tariffs").json()["items"] == []
