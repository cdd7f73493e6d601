"""Charts carry the report's own figures (rounded once, as text), never a float of an amount."""

from __future__ import annotations

from dataclasses import replace

from evbill.domain.analytics.charts import heatmap_chart, revenue_chart
from evbill.domain.analytics.facts import GroupBy
from evbill.domain.analytics.heatmap import heatmap
from evbill.domain.analytics.reports import summarise
from evbill.domain.analytics.tables import heatmap_text, report_text
from evbill.domain.money import RoundingMode
from tests.unit.analytics_data import FACTS, WINDOW_START, A


def _cells(spec: dict[str, object]) -> dict[tuple[str, str], tuple[str, int]]:
    values = spec["data"]["values"]  # type: ignore[index]
    return {(v["weekday"], v["hour"]): (v["occupied"], v["starts"]) for v in values}


def test_the_heatmap_chart_shows_the_hand_computed_hours_per_local_weekday_and_hour() -> None:
    # Given sessions A-D (Europe/Amsterdam)
    spec = heatmap_chart(heatmap_text(heatmap(FACTS)))
    cells = _cells(spec)
    # Then 7 x 24 cells, and the occupied ones are exactly the sessions' local hours
    assert len(cells) == 168
    occupied = {key: value for key, value in cells.items() if value[0] != "0.00"}
    assert occupied == {
        ("Mon", "09"): ("1.00", 1),  # A 09:00-11:00
        ("Mon", "10"): ("1.00", 0),
        ("Thu", "18"): ("0.50", 1),  # B 18:30-19:00
        ("Wed", "00"): ("0.50", 1),  # C 00:30-01:30 local (31 March 22:30 UTC)
        ("Wed", "01"): ("0.50", 0),
        ("Thu", "12"): ("0.75", 1),  # D 12:00-12:45
    }
    assert spec["encoding"]["y"]["sort"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def test_the_revenue_chart_stacks_each_months_net_by_component_as_rounded_text() -> None:
    report = summarise(FACTS, GroupBy.MONTH, window_start=WINDOW_START)
    spec = revenue_chart(report_text(report, RoundingMode.HALF_UP))
    bars, labels = spec["layer"]
    parts = {(v["period"], v["component"]): v["net"] for v in bars["data"]["values"]}
    # March: A + B; April: C + D (the idle fee 0.375 rounds half-up once, to 0.38)
    assert parts == {
        ("2026-03", "energy"): "15.10", ("2026-03", "time"): "0.60",
        ("2026-03", "idle"): "1.50", ("2026-03", "fees"): "0.50",
        ("2026-04", "energy"): "3.60", ("2026-04", "time"): "0.00",
        ("2026-04", "idle"): "0.38", ("2026-04", "fees"): "0.00",
    }  # fmt: skip
    assert [(v["period"], v["net"]) for v in labels["data"]["values"]] == [
        ("2026-03", "17.70"),
        ("2026-04", "3.98"),  # the exact 3.975 rounded once, not 3.60 + 0.38
    ]
    assert bars["encoding"]["y"]["title"] == "net revenue (EUR)"


def test_each_currency_gets_its_own_panel() -> None:
    in_pounds = replace(A, id="A2", currency="GBP")
    spec = revenue_chart(report_text(summarise((*FACTS, in_pounds), GroupBy.MONTH), RoundingMode.HALF_UP))
    titles = [panel["layer"][0]["encoding"]["y"]["title"] for panel in spec["vconcat"]]
    assert titles == ["net revenue (EUR)", "net revenue (GBP)"]
