"""Booked revenue as an operator reaches it: ``GET /api/v1/analytics/booked-revenue`` (JSON, 422 naming
the parameter) and ``evbill report booked`` (table, JSON, CSV), on the ledger of
``tests.integration.booked_data`` (by hand there)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evbill.application.access.keys import create_api_key
from evbill.domain.access.operators import Role
from evbill.entrypoints.api.app import create_app
from evbill.entrypoints.cli.main import build_app
from tests.charts_check import outside_references, png_size, svg_size
from tests.integration.booked_data import Booked, given_booked_ledger
from tests.support import CliRunner

ROUTE = "/api/v1/analytics/booked-revenue"


@pytest.fixture
def booked(database_url: str) -> Iterator[Booked]:
    made = given_booked_ledger(database_url)
    yield made
    made.container.dispose()


def _client(booked: Booked) -> tuple[TestClient, dict[str, str]]:
    services = booked.container.services
    _, key = create_api_key(services, operator_id=booked.who.operator_id, role=Role.READ_ONLY, name="t")
    app = create_app(booked.container.settings, container=booked.container)
    return TestClient(app, raise_server_exceptions=False), {"Authorization": f"Bearer {key}"}


def test_the_api_answers_a_month_of_booked_revenue_with_exact_decimal_strings(booked: Booked) -> None:
    client, headers = _client(booked)
    params = {"group_by": "month", "from": "2026-11-01", "to": "2026-12-01"}
    answer = client.get(ROUTE, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["group_by"], body["from"], body["to"], body["time_zone"]) == (
        "month", "2026-11-01", "2026-12-01", "Europe/Amsterdam",
    )  # fmt: skip
    (november,) = body["rows"]
    assert november == {
        "key": "2026-11", "currency": "EUR", "energy_net": "9.90", "time_net": "2.50", "idle_net": "1.50",
        "fees_net": "0.35", "subscriptions_net": "9.99", "net": "24.24", "vat": "5.09", "gross": "29.33",
        "vat_by_rate": {"21": "5.09"},
    }  # fmt: skip
    assert body["totals"] == [{**november, "key": "total"}]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"group_by": "quarter"}, "query.group_by"),
        ({"from": "2026-13-01"}, "query.from"),
        ({"from": "2026-12-01", "to": "2026-11-01"}, "query.to"),
        ({"to": "0001-01-01"}, "query.to"),
        ({"started_from": "2026-11-01"}, "query.started_from"),
        # an instant would lose its time and offset (tester): a local day is YYYY-MM-DD
        ({"from": "2026-11-01T00:00:00+05:00"}, "query.from"),
        ({"to": "2026-12-01T00:00:00Z"}, "query.to"),
    ],
)
def test_the_api_refuses_a_bad_parameter_naming_it(booked: Booked, params: dict[str, str], path: str) -> None:
    client, headers = _client(booked)
    answer = client.get(ROUTE, params=params, headers=headers)
    assert answer.status_code == 422, answer.text
    assert path in [error["path"] for error in answer.json()["errors"]]


def test_the_cli_prints_a_table_json_and_csv(booked: Booked, tmp_path: Path) -> None:
    runner = CliRunner()
    app = build_app(booked.container.settings)
    base = ["report", "booked", "--operator", booked.who.operator_id]
    table = runner.invoke(app, [*base, "--by", "month"])
    assert table.exit_code == 0, table.output
    assert "Europe/Amsterdam" in table.output
    assert "-10.89" in table.output  # December's gross
    as_json = runner.invoke(
        app, [*base, "--by", "day", "--from", "2026-12-01", "--to", "2026-12-02", "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    shown = json.loads(as_json.stdout)
    assert [(row["key"], row["energy_net"], row["vat"]) for row in shown["rows"]] == [
        ("2026-12-01", "5.00", "1.05")
    ]
    target = tmp_path / "booked.csv"
    written = runner.invoke(app, [*base, "--by", "week", "--csv", str(target)])
    assert written.exit_code == 0, written.output
    rows = list(csv.DictReader(target.read_text().splitlines()))
    assert [(row["key"], row["subscriptions_net"], row["gross"]) for row in rows] == [
        ("2026-W45", "9.99", "17.23"), ("2026-W47", "0.00", "12.10"), ("2026-W49", "-4.00", "1.21"),
        ("2026-W50", "0.00", "-12.10"), ("total", "5.99", "18.44"),
    ]  # fmt: skip
    refused = runner.invoke(app, [*base, "--from", "2026-12-01", "--to", "2026-11-01"])
    assert refused.exit_code == 1
    assert "--to 2026-11-01 must be after --from 2026-12-01" in refused.output
    not_a_date = runner.invoke(app, [*base, "--from", "December"])
    assert (not_a_date.exit_code, "--from 'December' is not a date" in not_a_date.output) == (1, True)


def test_the_api_and_the_cli_draw_booked_revenue_stacked_by_kind(booked: Booked, tmp_path: Path) -> None:
    # November books 24.24 net (subscriptions 9.99 among it); December's credit note and void -9.00
    client, headers = _client(booked)
    svg = client.get(f"{ROUTE}.svg", params={"group_by": "month"}, headers=headers)
    assert (svg.status_code, svg.headers["content-type"]) == (200, "image/svg+xml"), svg.text
    assert [label for label in ("24.24", "-9.00") if f">{label}<" in svg.text] == ["24.24", "-9.00"]
    page = client.get(f"{ROUTE}.html", params={"group_by": "month"}, headers=headers)
    assert page.headers["content-type"].startswith("text/html")
    for part in ('"component": "subscriptions", "net": "9.99"', '"component": "energy", "net": "-1.00"'):
        assert part in page.text
    assert outside_references(page.text) == []
    png = client.get(f"{ROUTE}.png", params={"group_by": "month"}, headers=headers)
    assert (png.headers["content-type"], png_size(png.content)) == ("image/png", svg_size(svg.text))
    refused = client.get(f"{ROUTE}.svg", params={"from": "2026-11-01T00:00:00Z"}, headers=headers)
    assert [error["path"] for error in refused.json()["errors"]] == ["query.from"]
    assert client.get(f"{ROUTE}.gif", headers=headers).status_code == 422

    runner = CliRunner()
    app = build_app(booked.container.settings)
    out = tmp_path / "booked.svg"
    drawn = runner.invoke(
        app, ["analytics", "chart", "booked", "--operator", booked.who.operator_id, "--out", str(out)]
    )
    assert drawn.exit_code == 0, drawn.output
    assert out.read_text() == svg.text
