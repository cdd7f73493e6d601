"""Sessions through the API: newest first, filters, cursor pages, exact and settled totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from tests.e2e.api.conftest import make_site

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def store_sessions(api, tenant, site, count, *, status=SessionStatus.COMPLETED, start=T0):
    services = api.container.services
    ids = []
    with services.uow() as uow:
        for n in range(count):
            started = start + timedelta(hours=n)
            session = ChargingSession(
                id=services.ids.new_id(),
                operator_id=tenant.operator_id,
                location_id=site["location"]["id"],
                station_id=site["station"]["id"],
                evse_id=site["evse"]["id"],
                status=status,
                started_at=started,
                ended_at=started + timedelta(minutes=45),
                energy_wh=Decimal("12345.678"),
                currency="EUR",
                tariff_version_id=None,
                total_excl_vat=Decimal("4.8148144200"),
                total_incl_vat=Decimal("5.8259254482"),
                total_excl_vat_minor=481,
                total_incl_vat_minor=583,
                created_at=started,
            )
            uow.sessions.add(session)
            ids.append(session.id)
        uow.commit()
    return ids


def test_sessions_are_listed_newest_first_with_exact_and_settled_totals(api):
    alpha = api.tenant()
    site = make_site(alpha)
    ids = store_sessions(api, alpha, site, 3)

    page = alpha.get("/sessions").json()

    assert [s["id"] for s in page["items"]] == list(reversed(ids))
    first = page["items"][0]
    assert first["energy_kwh"] == "12.345678"
    assert first["total_cost"] == {"excl_vat": "4.81", "incl_vat": "5.83"}
    assert first["exact_total_cost"] == {"excl_vat": "4.8148144200", "incl_vat": "5.8259254482"}


def test_sessions_are_filtered_by_time_window_status_and_place(api):
    alpha = api.tenant()
    here, there = make_site(alpha), make_site(alpha)
    early = store_sessions(api, alpha, here, 4)  # 08:00 .. 11:00
    store_sessions(api, alpha, there, 2)
    active = store_sessions(api, alpha, here, 1, status=SessionStatus.ACTIVE, start=T0 + timedelta(days=1))

    window = alpha.get(
        "/sessions", params={"started_from": "2026-11-01T09:00:00Z", "started_to": "2026-11-01T11:00:00Z",
                             "location_id": here["location"]["id"]},
    ).json()  # fmt: skip
    running = alpha.get("/sessions", params={"status": "ACTIVE"}).json()

    assert [s["id"] for s in window["items"]] == [early[2], early[1]]  # 10:00, 09:00; 11:00 is excluded
    assert [s["id"] for s in running["items"]] == active


def test_session_pages_follow_the_cursor_without_gaps_or_repeats(api):
    alpha = api.tenant()
    site = make_site(alpha)
    ids = store_sessions(api, alpha, site, 11)

    seen, cursor = [], None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = alpha.get("/sessions", params=params).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert seen == list(reversed(ids))


def test_a_tampered_cursor_is_a_clear_error(api):
    alpha = api.tenant()

    response = alpha.get("/sessions", params={"cursor": "not-a-cursor"})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
