"""The README's one convention for every list and record (issue 12).

* ``DELETE /tariff-assignments/{id}`` needs If-Match (428 without), like every DELETE; an assignment
  has an ETag (it never changes, so it is always "1").
* If-Match compares strongly: a weak ``W/"1"`` is refused with 412.
* ``/api-keys``, ``/tariff-assignments`` and ``/tariffs/{id}/versions`` answer ``{"items", "next_cursor"}``.
* A single session carries an ETag.
* ``POST /contracts`` answers times in UTC, as later reads do.
* ``/price?evse_id=`` takes the OCPI EVSE id too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from tests.e2e.api.conftest import SIMPLE_TARIFF, Api, make_site

JAN = {"kind": "INDIVIDUAL", "name": "Jan Jansen", "language": "nl", "currency": "EUR", "country": "NL"}
PLAN = {"name": "Basic", "kind": "PAY_PER_USE", "currency": "EUR",
        "version": {"effective_from": "2026-01-01T00:00:00Z"}}  # fmt: skip


def test_removing_a_tariff_assignment_needs_if_match(api: Api) -> None:
    alpha = api.tenant()
    tariff = alpha.created("/tariffs", SIMPLE_TARIFF)
    created = alpha.post("/tariff-assignments", json={"tariff_id": tariff["id"], "scope": "operator"})
    path = f"/tariff-assignments/{created.json()['id']}"

    without = alpha.delete(path)
    weak = alpha.delete(path, headers={"If-Match": 'W/"1"'})
    stale = alpha.delete(path, headers={"If-Match": '"2"'})
    read = alpha.get(path)
    removed = alpha.delete(path, headers={"If-Match": read.headers["etag"]})

    assert created.headers["etag"] == '"1"'
    assert (without.status_code, weak.status_code, stale.status_code) == (428, 412, 412)
    assert (read.status_code, read.headers["etag"], removed.status_code) == (200, '"1"', 204)
    assert alpha.get("/tariff-assignments").json() == {"items": [], "next_cursor": None}


def test_lists_that_were_bare_arrays_answer_items_and_next_cursor(api: Api) -> None:
    alpha = api.tenant()
    tariff = alpha.created("/tariffs", SIMPLE_TARIFF)
    assignment = alpha.created("/tariff-assignments", {"tariff_id": tariff["id"], "scope": "operator"})

    keys = alpha.get("/api-keys").json()
    assignments = alpha.get("/tariff-assignments").json()
    versions = alpha.get(f"/tariffs/{tariff['id']}/versions").json()

    assert ([key["name"] for key in keys["items"]], keys["next_cursor"]) == (["tests"], None)
    assert assignments == {"items": [assignment], "next_cursor": None}
    assert ([version["number"] for version in versions["items"]], versions["next_cursor"]) == ([1], None)


def test_a_single_session_carries_an_etag(api: Api) -> None:
    alpha = api.tenant()
    site = make_site(alpha)
    session = ChargingSession(
        id=api.container.services.ids.new_id(), operator_id=alpha.operator_id,
        location_id=site["location"]["id"], station_id=site["station"]["id"], evse_id=site["evse"]["id"],
        status=SessionStatus.COMPLETED, started_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        ended_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC), energy_wh=Decimal("22000"), currency="EUR",
        tariff_version_id=None, total_excl_vat=Decimal("8.93"), total_incl_vat=Decimal("10.8053"),
        total_excl_vat_minor=893, total_incl_vat_minor=1081,
        created_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    )  # fmt: skip
    with api.container.services.uow() as uow:
        uow.sessions.add(session)
        uow.commit()

    first, again = alpha.get(f"/sessions/{session.id}"), alpha.get(f"/sessions/{session.id}")

    assert first.status_code == 200, first.text
    assert first.headers["etag"].startswith('"')
    assert first.headers["etag"] == again.headers["etag"]


def test_a_new_contract_answers_its_times_in_utc_as_later_reads_do(api: Api) -> None:
    alpha = api.tenant()
    customer = alpha.created("/customers", JAN)
    plan = alpha.created("/plans", PLAN)

    terms = {"plan_id": plan["id"], "payment_method": "CARD_ON_FILE"}
    body = {"customer_id": customer["id"], "start": "2026-02-01T00:00:00+01:00",
            "end": "2027-02-01T00:00:00+01:00", "terms": terms}  # fmt: skip
    created = alpha.created("/contracts", body)

    assert (created["start"], created["end"]) == ("2026-01-31T23:00:00Z", "2027-01-31T23:00:00Z")
    assert created["terms"][0]["effective_from"] == "2026-01-31T23:00:00Z"
    assert alpha.get(f"/contracts/{created['id']}").json() == created


def test_the_price_takes_the_ocpi_evse_id_too(api: Api) -> None:
    alpha = api.tenant()
    evse = make_site(alpha)["evse"]
    tariff = alpha.created("/tariffs", SIMPLE_TARIFF)
    alpha.created("/tariff-assignments", {"tariff_id": tariff["id"], "scope": "operator"})

    by_id = alpha.get("/price", params={"evse_id": evse["id"]})
    by_ocpi_id = alpha.get("/price", params={"evse_id": evse["evse_id"]})
    unknown = alpha.get("/price", params={"evse_id": "NL*EVB*ENOPE*1"})

    assert by_id.status_code == 200, by_id.text
    assert by_ocpi_id.json() == by_id.json()
    assert unknown.status_code == 404
