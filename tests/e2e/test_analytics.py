"""Analytics as an operator reaches it: the API's JSON and CSV, and `evbill analytics` (table, JSON, CSV)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
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
from tests.integration.analytics_network import Network, given_network
from tests.support import CliRunner

WINDOW = {"started_from": "2026-03-01T00:00:00Z", "started_to": "2026-05-01T00:00:00Z"}


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    container = bootstrap(Settings(database_url=database_url))
    yield container
    container.dispose()


@pytest.fixture
def network(container: Container) -> Network:
    return given_network(container.services.uow)


def _client(container: Container, network: Network) -> tuple[TestClient, dict[str, str]]:
    _, key = create_api_key(
        container.services, operator_id=network.operator_id, role=Role.READ_ONLY, name="t"
    )
    app = create_app(container.settings, container=container)
    return TestClient(app), {"Authorization": f"Bearer {key}"}


def test_the_api_reports_by_month_with_amounts_rounded_once(container: Container, network: Network) -> None:
    client, headers = _client(container, network)
    answer = client.get("/api/v1/analytics/report", params={"group_by": "month", **WINDOW}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    march, april = body["rows"]
    assert (march["key"], march["sessions"], march["net"], march["tax"], march["gross"]) == (
        "2026-03", "2", "17.70", "3.61", "21.31",
    )  # fmt: skip
    assert (march["new_customers"], march["returning_customers"], march["idle_gross"]) == ("1", "1", "1.82")
    assert (april["key"], april["net"], april["gross"], april["idle_h"]) == (
        "2026-04",
        "3.98",
        "4.81",
        "0.25",
    )
    assert body["totals"][0]["gross"] == "26.12"


def test_the_api_answers_the_top_rows_by_gross_revenue_unless_all_are_asked_for(
    container: Container, network: Network
) -> None:
    client, headers = _client(container, network)
    params = {"group_by": "month", **WINDOW}
    top = client.get("/api/v1/analytics/report", params={**params, "limit": 1}, headers=headers).json()
    # March (21.31) before April (4.81); the totals still of both
    assert [(row["key"], row["gross"]) for row in top["rows"]] == [("2026-03", "21.31")]
    assert (top["rows_left_out"], top["totals"][0]["gross"]) == (1, "26.12")
    every = client.get(
        "/api/v1/analytics/report", params={**params, "limit": 1, "all": "true"}, headers=headers
    )
    assert [row["key"] for row in every.json()["rows"]] == ["2026-03", "2026-04"]
    assert every.json()["rows_left_out"] == 0
    refused = client.get("/api/v1/analytics/report", params={**params, "limit": 0}, headers=headers)
    assert refused.status_code == 422


def test_the_api_exports_csv_and_the_heatmap(container: Container, network: Network) -> None:
    client, headers = _client(container, network)
    params = {"group_by": "location", "location_id": network.ids["L2"], **WINDOW}
    answer = client.get("/api/v1/analytics/report.csv", params=params, headers=headers)
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(answer.text.splitlines()))
    assert [(row["key"], row["sessions"], row["net"]) for row in rows] == [
        (network.ids["L2"], "2", "3.98"),
        ("total", "2", "3.98"),
    ]
    heat = client.get("/api/v1/analytics/heatmap", params=WINDOW, headers=headers).json()
    assert heat["starts"][0][9] == 1
    assert heat["occupied_hours"][2][0] == "0.50"  # C: Wednesday 00:30-01:30 local


def test_the_cli_prints_a_table_json_and_csv(container: Container, network: Network, tmp_path: Path) -> None:
    runner = CliRunner()
    app = build_app(container.settings)
    base = [
        "analytics",
        "report",
        "--operator",
        network.operator_id,
        "--from",
        "2026-03-01",
        "--to",
        "2026-05-01",
    ]
    table = runner.invoke(app, [*base, "--by", "month"])
    assert table.exit_code == 0, table.output
    assert "2026-03" in table.output
    assert "21.31" in table.output
    as_json = runner.invoke(app, [*base, "--by", "segment", "--json"])
    keyed = {row["key"]: row["sessions"] for row in json.loads(as_json.stdout)["rows"]}
    assert keyed == {"(none)": "1", "BUSINESS": "1", "INDIVIDUAL": "2"}
    target = tmp_path / "by-class.csv"
    runner.invoke(app, [*base, "--by", "connector_class", "--csv", str(target)])
    rows = list(csv.DictReader(target.read_text().splitlines()))
    assert [(row["key"], row["sessions"], row["gross"]) for row in rows] == [
        ("AC", "3", "11.12"),  # 6.308 + 2.541 + 2.26875 = 11.11775
        ("DC", "1", "15.00"),
        ("total", "4", "26.12"),
    ]
    # the top row by gross revenue (the table says how many more), every row with --all
    top = runner.invoke(app, [*base, "--by", "month", "--limit", "1"])
    assert "top 1 by gross revenue; 1 more with --all" in top.output
    assert "2026-03" in top.output
    assert "2026-04" not in top.output
    every = runner.invoke(app, [*base, "--by", "month", "--limit", "1", "--all", "--json"])
    assert [row["key"] for row in json.loads(every.stdout)["rows"]] == ["2026-03", "2026-04"]
    heat = runner.invoke(app, ["analytics", "heatmap", "--operator", network.operator_id])
    assert heat.exit_code == 0, heat.output
    assert "Mon" in heat.output


def test_cli_dates_are_the_operators_local_days(container: Container, network: Network) -> None:
    """Found by an outside tester: ``--to 2026-04-01`` was UTC midnight, so session C (started 00:30 on
    1 April in Amsterdam, 22:30 UTC on 31 March) was counted, as a spilled April row, in a March window."""
    runner = CliRunner()
    app = build_app(container.settings)
    march = [
        "analytics", "report", "--operator", network.operator_id, "--by", "month",
        "--from", "2026-03-01", "--to", "2026-04-01", "--json",
    ]  # fmt: skip
    shown = json.loads(runner.invoke(app, march).stdout)
    assert [(row["key"], row["sessions"]) for row in shown["rows"]] == [("2026-03", "2")]
    april = [*march[:6], "--from", "2026-04-01", "--to", "2026-05-01", "--json"]
    shown = json.loads(runner.invoke(app, april).stdout)
    assert [(row["key"], row["sessions"]) for row in shown["rows"]] == [("2026-04", "2")]
    # an instant with its offset is taken as it is
    exact = [*march[:6], "--from", "2026-03-01T00:00:00Z", "--to", "2026-04-01T00:00:00Z", "--json"]
    shown = json.loads(runner.invoke(app, exact).stdout)
    assert [(row["key"], row["sessions"]) for row in shown["rows"]] == [("2026-03", "2"), ("2026-04", "1")]


def test_a_chart_into_a_missing_folder_is_a_plain_error(
    container: Container, network: Network, tmp_path: Path
) -> None:
    """Found by an outside tester: ``--chart`` into a folder that does not exist printed "internal error:
    FileNotFoundError"; a file the user named is a plain error naming it (the command, as run)."""
    target = tmp_path / "no-such-folder" / "heat.png"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EVBILL_")}
    shown = subprocess.run(
        [str(Path(sys.executable).with_name("evbill")), "report", "occupancy", "--operator",
         network.operator_id, "--chart", str(target)],
        env={**environment, "EVBILL_DATABASE_URL": container.settings.database_url},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert shown.returncode == 1, shown.stderr
    assert "internal error" not in shown.stderr
    assert f"error: cannot use {target}: No such file or directory" in shown.stderr


CANDIDATE = {
    "country_code": "NL", "party_id": "EVB", "id": "CAND", "currency": "EUR",
    "last_updated": "2026-01-01T00:00:00Z",
    "elements": [{"price_components": [{"type": "ENERGY", "price": 0.40, "vat": 21, "step_size": 1}]}],
}  # fmt: skip


def test_a_backtest_through_the_api_and_the_cli(
    container: Container, network: Network, tmp_path: Path
) -> None:
    # Given sessions A-D without stored periods (recorded before analytics kept them)
    client, headers = _client(container, network)
    body = {"tariff": CANDIDATE, **WINDOW}
    answer = client.post("/api/v1/backtests", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    # Then nothing is guessed: every session is left out and counted, and the assumption is stated
    assert (result["sessions"], result["left_out"]) == (0, {"no stored periods": 4})
    assert "no demand response" in result["assumption"]
    bad = client.post("/api/v1/backtests", json={"tariff": {"id": "x"}}, headers=headers)
    assert bad.status_code == 422
    target = tmp_path / "candidate.json"
    target.write_text(json.dumps(CANDIDATE))
    runner = CliRunner()
    app = build_app(container.settings)
    shown = runner.invoke(
        app, ["backtest", "--operator", network.operator_id, "--tariff", str(target), "--json"]
    )
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["left_out"] == {"no stored periods": 5}
    text = runner.invoke(app, ["backtest", "--operator", network.operator_id, "--tariff", str(target)])
    assert "Assumption: Same behaviour" in text.output


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/api/v1/analytics/report", {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"},
         ["query.from", "query.to"]),
        ("/api/v1/analytics/report.csv", {"group_by": "month", "groupby": "day"}, ["query.groupby"]),
        ("/api/v1/analytics/heatmap", {"location": "x"}, ["query.location"]),
        ("/api/v1/analytics/margin", {"started_after": "2026-03-01T00:00:00Z"}, ["query.started_after"]),
        ("/api/v1/reports/utilisation", {"from": "2026-03-01T00:00:00Z"}, ["query.from"]),
        ("/api/v1/reports/faults", {"since": "2026-03-01T00:00:00Z"}, ["query.since"]),
    ],
)  # fmt: skip
def test_an_unknown_query_parameter_is_refused_naming_it(
    container: Container, network: Network, path: str, params: dict[str, str], named: list[str]
) -> None:
    client, headers = _client(container, network)
    answer = client.get(path, params=params, headers=headers)
    assert answer.status_code == 422, answer.text
    problems = answer.json()["errors"]
    assert [problem["path"] for problem in problems] == named
    assert "started_from" in problems[0]["message"] or "start" in problems[0]["message"]


REVERSED = {"started_from": "2026-05-01T00:00:00Z", "started_to": "2026-03-01T00:00:00Z"}
EMPTY = {"started_from": "2026-05-01T00:00:00Z", "started_to": "2026-05-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/analytics/report", REVERSED,
         "query.started_to"),
        ("/api/v1/analytics/heatmap", EMPTY,
         "query.started_to"),
        ("/api/v1/analytics/margin", REVERSED,
         "query.started_to"),
        ("/api/v1/reports/utilisation", {"start": "2026-05-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
         "query.end"),
    ],
)  # fmt: skip
def test_a_reversed_range_is_refused_on_every_report(
    container: Container, network: Network, path: str, params: dict[str, str], field: str
) -> None:
    client, headers = _client(container, network)
    answer = client.get(path, params=params, headers=headers)
    assert answer.status_code == 422, answer.text
    assert [problem["path"] for problem in answer.json()["errors"]] == [field]


def test_the_known_query_parameters_still_answer(container: Container, network: Network) -> None:
    client, headers = _client(container, network)
    answer = client.get("/api/v1/analytics/report", params={"group_by": "month", **WINDOW}, headers=headers)
    assert answer.status_code == 200, answer.text


def test_a_backtest_over_a_reversed_range_is_refused(container: Container, network: Network) -> None:
    client, headers = _client(container, network)
    answer = client.post("/api/v1/backtests", json={"tariff": {}, **REVERSED}, headers=headers)
    assert answer.status_code == 422, answer.text
    assert [problem["path"] for problem in answer.json()["errors"]] == ["$.started_to"]


@pytest.mark.parametrize(
    "path", ["/api/v1/analytics/report", "/api/v1/analytics/heatmap", "/api/v1/reports/utilisation"]
)
def test_an_unknown_connector_class_is_refused_naming_it(
    container: Container, network: Network, path: str
) -> None:
    """Found by an outside tester: ``connector_class=XYZ`` answered 200 with no rows, as if no session
    had charged at such a connector, where there is no such class."""
    client, headers = _client(container, network)
    answer = client.get(path, params={"connector_class": "XYZ"}, headers=headers)
    assert answer.status_code == 422, answer.text
    assert [problem["path"] for problem in answer.json()["errors"]] == ["query.connector_class"]
    known = client.get(path, params={"connector_class": "DC"}, headers=headers)
    assert known.status_code == 200, known.text


@pytest.mark.parametrize(
    "command",
    [
        ["analytics", "report", "--by", "month"],
        ["analytics", "margin", "--by", "month"],
        ["report", "utilisation"],
        ["report", "booked"],
    ],
)
def test_the_cli_refuses_a_window_that_ends_before_it_starts(
    container: Container, network: Network, command: list[str]
) -> None:
    """Found by an outside tester: ``--from 2026-12-01 --to 2026-11-01`` printed an empty report, rc 0."""
    runner = CliRunner()
    app = build_app(container.settings)
    for end in ("2026-11-01", "2026-12-01"):  # before, and the same day: an empty window
        args = [*command, "--operator", network.operator_id, "--from", "2026-12-01", "--to", end]
        result = runner.invoke(app, args)
        assert result.exit_code != 0, result.stdout
        assert f"--to {end} must be after --from 2026-12-01" in result.stdout + result.stderr
