"""Locations, stations, EVSEs and connectors through the API: create, read, list, change, delete."""

from __future__ import annotations

from tests.e2e.api.conftest import AMSTERDAM, make_site


def test_creating_a_location_returns_it_with_an_etag_and_a_location_header(api):
    alpha = api.tenant()

    response = alpha.post("/locations", json=AMSTERDAM)

    assert response.status_code == 201
    body = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/api/v1/locations/{body['id']}"
    assert {k: body[k] for k in AMSTERDAM} == AMSTERDAM  # coordinates come back as the exact strings sent
    assert body["version"] == 1
    assert alpha.get(f"/locations/{body['id']}").json() == body


def test_invalid_location_reports_every_field_problem(api):
    alpha = api.tenant()
    bad = {**AMSTERDAM, "country": "XX", "time_zone": "Europe/Atlantis", "latitude": "91", "extra": 1}

    response = alpha.post("/locations", json=bad)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    paths = sorted(error["path"] for error in response.json()["errors"])
    assert paths == ["$.extra", "$.latitude"]  # schema errors first; then the domain checks below
    fixed_schema = {**AMSTERDAM, "country": "XX", "time_zone": "Europe/Atlantis"}
    domain = alpha.post("/locations", json=fixed_schema).json()
    assert [(e["path"], e["message"]) for e in domain["errors"]] == [
        ("$.country", "'XX' is not an ISO 3166-1 alpha-2 country code"),
        ("$.time_zone", "'Europe/Atlantis' is not an IANA time zone (e.g. Europe/Amsterdam)"),
    ]


def test_patch_changes_only_the_fields_sent_and_needs_the_current_etag(api):
    alpha = api.tenant()
    location = alpha.created("/locations", AMSTERDAM)
    path = f"/locations/{location['id']}"

    without_etag = alpha.patch(path, json={"name": "Zuid P2"})
    changed = alpha.patch(path, json={"name": "Zuid P2"}, headers={"If-Match": '"1"'})
    stale = alpha.patch(path, json={"name": "Zuid P3"}, headers={"If-Match": '"1"'})

    assert without_etag.status_code == 428
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'
    assert changed.json()["name"] == "Zuid P2"
    assert changed.json()["city"] == "Amsterdam"
    assert stale.status_code == 412
    assert stale.json()["code"] == "stale_version"
    assert alpha.get(path).json()["name"] == "Zuid P2"  # the stale change was not applied


def test_patch_cannot_null_a_required_field_but_can_clear_an_optional_one(api):
    alpha = api.tenant()
    location = alpha.created("/locations", AMSTERDAM)
    path = f"/locations/{location['id']}"

    refused = alpha.patch(path, json={"name": None}, headers={"If-Match": '"1"'})
    cleared = alpha.patch(path, json={"postal_code": None}, headers={"If-Match": '"1"'})

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "$.name"
    assert cleared.status_code == 200
    assert cleared.json()["postal_code"] is None


def test_a_full_site_is_built_top_down_and_listed_with_filters(api):
    alpha = api.tenant()
    site = make_site(alpha, dc=True)

    stations = alpha.get("/stations", params={"location_id": site["location"]["id"]}).json()
    evses = alpha.get("/evses", params={"station_id": site["station"]["id"]}).json()
    connectors = alpha.get("/connectors", params={"power_type": "DC"}).json()

    assert [s["id"] for s in stations["items"]] == [site["station"]["id"]]
    assert [e["id"] for e in evses["items"]] == [site["evse"]["id"]]
    assert [c["id"] for c in connectors["items"]] == [site["connector"]["id"]]
    assert connectors["items"][0]["max_electric_power"] == 150000


def test_a_station_password_is_write_only(api):
    alpha = api.tenant()
    location = alpha.created("/locations", AMSTERDAM)

    station = alpha.created(
        "/stations",
        {
            "location_id": location["id"],
            "charge_point_id": "CP-SECRET-1",
            "vendor": "ABB",
            "model": "Terra 184",
            "ocpp_version": "2.0.1",
            "security_profile": 2,
            "password": "a-long-enough-secret-0001",
        },
    )

    assert station["has_password"] is True
    assert "password" not in station
    assert "password_hash" not in station
    assert "a-long-enough-secret" not in alpha.get(f"/stations/{station['id']}").text


def test_a_charge_point_id_is_unique_across_the_platform(api):
    alpha, beta = api.tenant("Alpha"), api.tenant("Beta")
    make_site(alpha, charge_point_id="CP-UNIQUE-42")
    location = beta.created("/locations", AMSTERDAM)

    response = beta.post(
        "/stations",
        json={
            "location_id": location["id"],
            "charge_point_id": "CP-UNIQUE-42",
            "vendor": "ABB",
            "model": "Terra",
            "ocpp_version": "1.6",
        },
    )

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_a_location_with_stations_cannot_be_deleted_until_they_are_gone(api):
    alpha = api.tenant()
    site = make_site(alpha)
    location_path = f"/locations/{site['location']['id']}"

    refused = alpha.delete(location_path, headers={"If-Match": '"1"'})
    for kind in ("connectors", "evses", "stations"):
        record = site[kind[:-1] if kind != "evses" else "evse"]
        assert alpha.delete(f"/{kind}/{record['id']}", headers={"If-Match": '"1"'}).status_code == 204
    deleted = alpha.delete(location_path, headers={"If-Match": '"1"'})

    assert refused.status_code == 409
    assert deleted.status_code == 204
    assert alpha.get(location_path).status_code == 404


def test_lists_are_paged_with_a_cursor_and_return_every_record_once(api):
    alpha = api.tenant()
    created = [alpha.created("/locations", {**AMSTERDAM, "name": f"Site {n:02d}"})["id"] for n in range(7)]

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} if cursor is None else {"limit": 3, "cursor": cursor}
        page = alpha.get("/locations", params=params).json()
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == created  # in creation order, each once
    assert pages == 3


def test_a_station_cannot_point_at_a_location_that_does_not_exist(api):
    alpha = api.tenant()

    response = alpha.post(
        "/stations",
        json={
            "location_id": "01a1ffaa-0000-7000-8000-000000000000",
            "charge_point_id": "CP-NOWHERE",
            "vendor": "ABB",
            "model": "Terra",
            "ocpp_version": "1.6",
        },
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "path": "$.location_id",
            "message": "no location '01a1ffaa-0000-7000-8000-000000000000'",
            "severity": "error",
        }
    ]
