"""Charts as an operator gets them: `evbill analytics chart ...` and /api/v1/analytics/*.png|svg|html.

The network is the hand-computed one (sessions A-D, Europe/Amsterdam): occupied hours Mon 09 and 10
(A, 1.00 each), Wed 00 and 01 (C, 0.50 each), Thu 12 (D, 0.75), Thu 18 (B, 0.50); net revenue
March 17.70 (energy 15.10, time 0.60, idle 1.50, fees 0.50) and April 3.98 (energy 3.60, idle 0.38).
"""

from __future__ import annotations

import shutil
import subprocess
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
from tests.charts_check import outside_references, png_size, svg_size
from tests.integration.analytics_network import Network, given_network
from tests.support import CliRunner

WINDOW = {"started_from": "2026-03-01T00:00:00Z", "started_to": "2026-05-01T00:00:00Z"}
HEATMAP_LABELS = ["0.50", "0.50", "0.50", "0.75", "1.00", "1.00"]


def _labels(svg: str, *texts: str) -> list[str]:
    return sorted(text for text in texts for _ in range(svg.count(f">{text}<")))


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    container = bootstrap(Settings(database_url=database_url))
    yield container
    container.dispose()


@pytest.fixture
def network(container: Container) -> Network:
    return given_network(container.services.uow)


@pytest.fixture
def client(container: Container, network: Network) -> TestClient:
    _, key = create_api_key(
        container.services, operator_id=network.operator_id, role=Role.READ_ONLY, name="t"
    )
    app = create_app(container.settings, container=container)
    return TestClient(app, headers={"Authorization": f"Bearer {key}"})


def test_the_api_draws_the_heatmap_as_svg_png_and_html(client: TestClient) -> None:
    svg = client.get("/api/v1/analytics/heatmap.svg", params=WINDOW)
    assert svg.status_code == 200, svg.text
    assert svg.headers["content-type"] == "image/svg+xml"
    assert _labels(svg.text, "0.50", "0.75", "1.00") == HEATMAP_LABELS
    png = client.get("/api/v1/analytics/heatmap.png", params=WINDOW)
    assert png.headers["content-type"] == "image/png"
    assert png_size(png.content) == svg_size(svg.text)
    page = client.get("/api/v1/analytics/heatmap.html", params=WINDOW)
    assert page.headers["content-type"].startswith("text/html")
    assert outside_references(page.text) == []
    assert '"occupied": "0.75"' in page.text


def test_the_api_draws_revenue_per_month_stacked_by_component(client: TestClient) -> None:
    svg = client.get("/api/v1/analytics/revenue.svg", params={"group_by": "month", **WINDOW})
    assert svg.status_code == 200, svg.text
    assert _labels(svg.text, "17.70", "3.98") == ["17.70", "3.98"]  # each month's net, on its bar
    page = client.get("/api/v1/analytics/revenue.html", params={"group_by": "month", **WINDOW}).text
    for part in ('"net": "15.10"', '"net": "0.60"', '"net": "1.50"', '"net": "0.38"'):
        assert part in page
    assert outside_references(page) == []
    refused = client.get("/api/v1/analytics/revenue.svg", params={"group_by": "location"})
    assert refused.status_code == 422
    assert client.get("/api/v1/analytics/revenue.gif").status_code == 422


def test_the_cli_writes_png_svg_and_html_files(
    container: Container, network: Network, tmp_path: Path
) -> None:
    runner = CliRunner()
    app = build_app(container.settings)
    base = ["analytics", "chart"]
    window = ["--operator", network.operator_id, "--from", "2026-03-01", "--to", "2026-05-01"]
    for name in ("heatmap.png", "heatmap.svg", "revenue.html", "revenue.svg"):
        kind = name.split(".")[0]
        extra = ["--by", "month"] if kind == "revenue" else []
        shown = runner.invoke(app, [*base, kind, *window, *extra, "--out", str(tmp_path / name)])
        assert shown.exit_code == 0, shown.output
    svg = (tmp_path / "heatmap.svg").read_text()
    assert _labels(svg, "0.50", "0.75", "1.00") == HEATMAP_LABELS
    assert png_size((tmp_path / "heatmap.png").read_bytes()) == svg_size(svg)
    assert _labels((tmp_path / "revenue.svg").read_text(), "17.70", "3.98") == ["17.70", "3.98"]
    assert outside_references((tmp_path / "revenue.html").read_text()) == []
    wrong = runner.invoke(app, [*base, "heatmap", *window, "--out", str(tmp_path / "heatmap.gif")])
    assert wrong.exit_code != 0
    assert "must end in .png, .svg or .html" in wrong.output
    assert not (tmp_path / "heatmap.gif").exists()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_html_draws_the_heatmap_in_a_browser_with_no_network(client: TestClient, tmp_path: Path) -> None:
    page = tmp_path / "heatmap.html"
    page.write_bytes(client.get("/api/v1/analytics/heatmap.html", params=WINDOW).content)
    # every request to the network goes to a closed port: only the page itself can draw the chart
    shown = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert _labels(shown.stdout, "0.50", "0.75", "1.00") == HEATMAP_LABELS
