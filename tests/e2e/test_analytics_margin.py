"""Energy costs and margins as an operator reaches them, on a real database (SQLite and PostgreSQL).

The network of tests/unit/margin_data.py (its docstring has every figure): the operator sets L1's
fixed price and L2's time-of-use schedule, imports L3's spot series as CSV (per MWh), and reads the
margins per session, location and month, and who loses money.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evbill.application.access.keys import create_api_key
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Role
from evbill.entrypoints.api.app import create_app
from evbill.entrypoints.cli.main import build_app
from tests.integration.db_records import (
    Site,
    a_connector,
    a_location,
    a_session,
    a_station,
    an_evse,
    an_operator,
    new_id,
)
from tests.support import CliRunner
from tests.unit.margin_data import SESSIONS, ZONE

SPOT_MWH = (  # the spot prices of margin_data, per MWh, as an exchange publishes them
    "start,price\n"
    "2026-03-03T12:00:00Z,200\n"
    "2026-03-03T13:15:00+01:00,400.00\n"
    "2026-04-01T12:00:00Z,100\n"
    "2026-04-01T12:15:00Z,-50\n"
)
SCHEDULE = {
    "currency": "EUR",
    "kind": "time_of_use",
    "windows": [
        {"start": "23:00", "end": "07:00", "price": "0.12"},
        {"start": "07:00", "end": "23:00", "price": "0.30", "weekdays": [0, 1, 2, 3, 4]},
        {"start": "07:00", "end": "23:00", "price": "0.20", "weekdays": [5, 6]},
    ],
}
WINDOW = ["--from", "2026-03-01", "--to", "2026-05-01"]


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    container = bootstrap(Settings(database_url=database_url))
    yield container
    container.dispose()


@pytest.fixture
def network(container: Container) -> tuple[str, dict[str, str]]:
    """L1-L4 in Europe/Amsterdam, and the sessions S1-S9 as billed, with their periods where stored."""
    operator = an_operator()
    ids: dict[str, str] = {}
    with container.services.uow() as uow:
        uow.operators.add(operator)
        sites: dict[str, Site] = {}
        for name in ("L1", "L2", "L3", "L4"):
            location = a_location(operator.id, time_zone=ZONE, name=name)
            station = a_station(operator.id, location.id, charge_point_id=f"CP-{new_id()[-8:]}")
            evse = an_evse(operator.id, station.id, evse_id=f"NL*EVB*E{new_id()[-8:]}", ocpp_evse_id=1)
            connector = a_connector(operator.id, evse.id)
            uow.locations.add(location)
            uow.stations.add(station)
            uow.evses.add(evse)
            uow.connectors.add(connector)
            sites[name], ids[name] = Site(location, station, evse, connector), location.id
        for stored in SESSIONS:
            start = stored.usage.start if stored.usage else None
            end = stored.usage.end if stored.usage else None
            times = {"started_at": start, "ended_at": end} if start else {}
            record = a_session(
                sites[stored.location_id], **times, total_excl_vat_minor=stored.billed_excl_minor,
                total_incl_vat_minor=stored.billed_incl_minor,
            )  # fmt: skip
            uow.sessions.add(record)
            if stored.usage is not None:
                uow.analytics.add_usage(operator.id, record.id, stored.usage)
            ids[stored.id] = record.id
        uow.commit()
    return operator.id, ids


def _named(ids: dict[str, str], value: str) -> str:
    return next(name for name, known in ids.items() if known == value)


def test_the_api_sets_prices_imports_spot_and_reports_margins(
    container: Container, network: tuple[str, dict[str, str]]
) -> None:
    operator_id, ids = network
    _, key = create_api_key(container.services, operator_id=operator_id, role=Role.ADMIN, name="t")
    client = TestClient(create_app(container.settings, container=container))
    client.headers["Authorization"] = f"Bearer {key}"
    # Given L1's fixed price, L2's schedule and L3's spot series
    fixed = {"currency": "EUR", "kind": "fixed", "fixed_price": "0.25"}
    assert client.put(f"/api/v1/analytics/energy-purchases/{ids['L1']}", json=fixed).status_code == 200
    assert client.put(f"/api/v1/analytics/energy-purchases/{ids['L2']}", json=SCHEDULE).status_code == 200
    imported = client.put(
        f"/api/v1/analytics/energy-prices/{ids['L3']}", params={"unit": "mwh", "currency": "EUR"},
        content=SPOT_MWH.encode(), headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert imported.json() == {"imported": 4}
    # When the operator asks for the margins of March and April
    answer = client.get("/api/v1/analytics/margin", params={"started_from": "2026-03-01T00:00:00Z"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # Then every figure is the hand-computed one, rounded once
    by_session = {_named(ids, s["session_id"]): (s["energy_cost"], s["margin"]) for s in body["sessions"]}
    assert by_session == {
        "S1": ("2.50", "2.80"), "S2": ("2.52", "-0.52"), "S3": ("3.00", "1.00"),
        "S9": ("2.52", "0.48"), "S4": ("0.56", "2.44"),  # 0.5625 and 2.4375, half up
    }  # fmt: skip
    by_location = {
        _named(ids, r["key"]): (r["revenue_net"], r["energy_cost"], r["margin"]) for r in body["by_location"]
    }
    assert by_location == {
        "L1": ("5.30", "2.50", "2.80"), "L2": ("5.00", "5.04", "-0.04"), "L3": ("7.00", "3.56", "3.44"),
    }  # fmt: skip
    assert [(r["key"], r["margin"]) for r in body["by_month"]] == [("2026-03", "3.76"), ("2026-04", "2.44")]
    (total,) = body["totals"]
    assert (total["revenue_net"], total["energy_cost"], total["margin"], total["energy_kwh"]) == (
        "17.30", "11.10", "6.20", "53.000",
    )  # fmt: skip  # 11.1025 and 6.1975: the exact sums, rounded once
    assert [_named(ids, s["session_id"]) for s in body["losing_sessions"]] == ["S2"]
    assert [_named(ids, r["key"]) for r in body["losing_locations"]] == ["L2"]
    assert body["left_out"] == {
        "no purchase price at a time energy was delivered": 1,
        "no stored periods": 1,
        "no purchase price for the location": 1,
    }
    # And bad input is refused with every problem, without storing anything
    bad = client.put(
        f"/api/v1/analytics/energy-prices/{ids['L3']}", content=b"start,price\n2026-03-03T12:05:00Z,x\n",
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "line 2" in bad.text


def test_the_cli_sets_prices_imports_spot_and_prints_margins(
    container: Container, network: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    operator_id, ids = network
    runner = CliRunner()
    app = build_app(container.settings)
    who = ["--operator", operator_id]
    (tmp_path / "tou.json").write_text(json.dumps(SCHEDULE))
    (tmp_path / "spot.csv").write_text(SPOT_MWH)
    for arguments in (
        ["prices", "set", *who, "--location", ids["L1"], "--fixed", "0.25", "--currency", "EUR"],
        ["prices", "set", *who, "--location", ids["L2"], "--schedule", str(tmp_path / "tou.json")],
        ["prices", "import", str(tmp_path / "spot.csv"), *who, "--location", ids["L3"], "--unit", "mwh",
         "--currency", "EUR"],
    ):  # fmt: skip
        shown = runner.invoke(app, ["analytics", *arguments])
        assert shown.exit_code == 0, shown.output
    assert "imported 4 prices" in shown.output
    as_json = runner.invoke(app, ["analytics", "margin", *who, *WINDOW, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["totals"][0]["margin"] == "6.20"
    table = runner.invoke(app, ["analytics", "margin", *who, *WINDOW, "--by", "location", "--losing"])
    assert table.exit_code == 0, table.output
    assert "-0.04" in table.output  # L2, the one location losing money
    assert "2.80" not in table.output.split("total")[0]  # L1 earns: not listed
    # S6 (no stored periods) started in May, outside the window; S7 and S5 are counted
    assert "left out: 1 (no purchase price for the location)" in table.output
    by_month = runner.invoke(app, ["analytics", "margin", *who, *WINDOW, "--by", "month"])
    assert "2026-03" in by_month.output
    assert "3.76" in by_month.output
    missing = runner.invoke(
        app, ["analytics", "prices", "set", *who, "--location", ids["L1"], "--fixed", "0.25"]
    )
    assert missing.exit_code != 0
    assert "--fixed needs --currency" in missing.output
