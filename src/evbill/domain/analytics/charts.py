"""Charts an operator would rather look at than read, as Vega-Lite specifications (plain dicts).

A chart is built from the same text rows the API, CLI and CSV show (``tables``), so every figure
on a chart is the figure of the report, rounded once, and never passed through a float: amounts
and hours travel as decimal strings and only the chart's own ``calculate`` step turns them into
numbers to draw. Rendering (PNG, SVG, HTML with the Vega scripts inlined) is an adapter's work.

- ``heatmap_chart``: hours occupied per local weekday (rows, Mon..Sun) x hour (columns, 00..23),
  the colour the hours, each occupied cell labelled with them, sessions started in the tooltip.
- ``revenue_chart``: net revenue per period (day, week or month), stacked by component (energy,
  time, idle fee, fees), one panel per currency when there are several.
- ``booked_chart``: the ledger's booked revenue per period, stacked by revenue kind (subscriptions
  too), credit notes below zero.

    >>> spec = heatmap_chart({"weekdays": ["Mon"], "hours": [9], "starts": [[1]],
    ...                       "occupied_hours": [["1.50"]]})
    >>> spec["data"]["values"]
    [{'weekday': 'Mon', 'hour': '09', 'occupied': '1.50', 'starts': 1}]
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from evbill.domain.analytics.reports import Component


class ChartFormat(enum.StrEnum):
    """What a chart is rendered to; the value is the file extension."""

    PNG = "png"
    SVG = "svg"
    HTML = "html"

    @property
    def media_type(self) -> str:
        return {"png": "image/png", "svg": "image/svg+xml", "html": "text/html; charset=utf-8"}[self.value]


SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTH = 720
EMPTY = "#f2f2f2"  # a cell nobody used
HEATMAP_TITLE = "Hours occupied (local time)"
HEATMAP_HEIGHT = 7 * 30
REVENUE_HEIGHT = 320
COMPONENT_COLOURS = {
    Component.ENERGY: "#4c78a8",
    Component.TIME: "#f58518",
    Component.IDLE: "#e45756",
    Component.FEES: "#72b7b2",
}


def heatmap_chart(
    shown: Mapping[str, object], *, title: str = "Hours occupied (local time)"
) -> dict[str, Any]:
    """The heatmap of ``tables.heatmap_text`` as a Vega-Lite spec."""
    weekdays = cast(Sequence[str], shown["weekdays"])
    hours = cast(Sequence[int], shown["hours"])
    starts = cast(Sequence[Sequence[int]], shown["starts"])
    occupied = cast(Sequence[Sequence[str]], shown["occupied_hours"])
    values = [
        {
            "weekday": day,
            "hour": f"{hour:02d}",
            "occupied": occupied[row][column],
            "starts": starts[row][column],
        }
        for row, day in enumerate(weekdays)
        for column, hour in enumerate(hours)
    ]
    busiest = max((Decimal(str(value["occupied"])) for value in values), default=Decimal(0))
    x = {
        "field": "hour",
        "type": "ordinal",
        "title": "hour (local)",
        "sort": [f"{h:02d}" for h in hours],
        "axis": {"labelAngle": 0},
    }
    y = {"field": "weekday", "type": "ordinal", "title": None, "sort": list(weekdays)}
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": WIDTH,
        "height": HEATMAP_HEIGHT,
        "data": {"values": values},
        "transform": [{"calculate": "toNumber(datum.occupied)", "as": "hours occupied"}],
        "encoding": {"x": x, "y": y},
        "layer": [
            {
                "mark": {"type": "rect", "stroke": "white"},
                "encoding": {
                    "color": {
                        "condition": {"test": "datum['hours occupied'] === 0", "value": EMPTY},
                        "field": "hours occupied",
                        "type": "quantitative",
                        "scale": {"scheme": "oranges", "domainMin": 0},
                    },
                    "tooltip": [
                        {"field": "weekday", "type": "nominal"},
                        {"field": "hour", "type": "ordinal"},
                        {"field": "occupied", "type": "nominal", "title": "hours occupied"},
                        {"field": "starts", "type": "quantitative", "title": "sessions started"},
                    ],
                },
            },
            {
                "transform": [{"filter": "datum['hours occupied'] > 0"}],
                "mark": {"type": "text", "fontSize": 9},
                "encoding": {
                    "text": {"field": "occupied", "type": "nominal"},
                    # light text on the darker half of the scale, so every label stays readable
                    "color": {
                        "condition": {"test": f"datum['hours occupied'] * 2 > {busiest}", "value": "white"},
                        "value": "black",
                    },
                },
            },
        ],
    }


def revenue_chart(shown: Mapping[str, object], *, title: str | None = None) -> dict[str, Any]:
    """Net revenue per row of ``tables.report_text`` (grouped by a period), stacked by component.

    Each bar is labelled with the period's net total; one panel per currency."""
    rows = cast(Sequence[Mapping[str, str]], shown["rows"])
    group_by = str(shown.get("group_by", "period"))
    currencies = sorted({row["currency"] for row in rows}) or ["-"]
    panels = [_revenue_panel([r for r in rows if r["currency"] == c], c, group_by) for c in currencies]
    heading = title or f"Net revenue by {group_by}, by component"
    if len(panels) == 1:
        return {"$schema": SCHEMA, "title": heading, **panels[0]}
    return {"$schema": SCHEMA, "title": heading, "vconcat": panels}


def booked_chart(shown: Mapping[str, object]) -> dict[str, Any]:
    """Booked revenue (``booked.booked_text``) per period, stacked by revenue kind (energy, time, idle,
    fees, subscriptions, and any other the ledger holds), each bar labelled with the period's net; a
    credit note's period may stack below zero. One panel per currency.

    >>> spec = booked_chart({"group_by": "month", "kinds": ["energy", "subscriptions"], "rows": [
    ...     {"key": "2026-11", "currency": "EUR", "energy_net": "9.90", "subscriptions_net": "9.99",
    ...      "net": "19.89"}]})
    >>> [(v["component"], v["net"]) for v in spec["layer"][0]["data"]["values"]]
    [('energy', '9.90'), ('subscriptions', '9.99')]
    """
    rows = cast(Sequence[Mapping[str, str]], shown["rows"])
    kinds = [str(kind) for kind in cast(Sequence[str], shown["kinds"])]
    group_by = str(shown.get("group_by", "period"))
    currencies = sorted({row["currency"] for row in rows}) or ["-"]
    panels = [
        _revenue_panel([r for r in rows if r["currency"] == c], c, group_by, kinds, _kind_colours(kinds))
        for c in currencies
    ]
    heading = f"Booked net revenue by {group_by}, by kind (the ledger's; credit notes below zero)"
    if len(panels) == 1:
        return {"$schema": SCHEMA, "title": heading, **panels[0]}
    return {"$schema": SCHEMA, "title": heading, "vconcat": panels}


_COMPONENT_NAMES = tuple(str(component) for component in Component)
_COMPONENT_RANGE = tuple(COMPONENT_COLOURS.values())
_MORE_COLOURS = ("#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac")


def _kind_colours(kinds: Sequence[str]) -> list[str]:
    """The session components' colours for the kinds that are components, then one each for the rest."""
    known = {str(component): colour for component, colour in COMPONENT_COLOURS.items()}
    more = iter(_MORE_COLOURS * (1 + len(kinds) // len(_MORE_COLOURS)))
    return [known[kind] if kind in known else next(more) for kind in kinds]


def _revenue_panel(
    rows: Sequence[Mapping[str, str]],
    currency: str,
    group_by: str,
    names: Sequence[str] = _COMPONENT_NAMES,
    colours: Sequence[str] = _COMPONENT_RANGE,
) -> dict[str, Any]:
    parts = [
        {"period": row["key"], "component": name, "net": row[f"{name}_net"], "rank": rank}
        for row in rows
        for rank, name in enumerate(names)
    ]
    totals = [{"period": row["key"], "net": row["net"]} for row in rows]
    to_number = {"calculate": "toNumber(datum.net)", "as": "net revenue"}
    x = {"field": "period", "type": "ordinal", "title": group_by, "sort": [row["key"] for row in rows]}
    y = {"field": "net revenue", "type": "quantitative", "title": f"net revenue ({currency})"}
    bars = {
        "data": {"values": parts},
        "transform": [to_number],
        "mark": {"type": "bar"},
        "encoding": {
            "x": x,
            "y": {**y, "stack": "zero"},
            "color": {
                "field": "component",
                "type": "nominal",
                "scale": {"domain": list(names), "range": list(colours)},
            },
            "order": {"field": "rank", "type": "quantitative"},
            "tooltip": [
                {"field": "period", "type": "ordinal"},
                {"field": "component", "type": "nominal"},
                {"field": "net", "type": "nominal", "title": f"net ({currency})"},
            ],
        },
    }
    labels = {
        "data": {"values": totals},
        "transform": [to_number],
        "mark": {"type": "text", "dy": -6, "fontSize": 10},
        "encoding": {"x": x, "y": y, "text": {"field": "net", "type": "nominal"}},
    }
    return {"width": WIDTH, "height": REVENUE_HEIGHT, "layer": [bars, labels]}
