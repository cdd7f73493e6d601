"""``evbill analytics chart heatmap|revenue --out FILE.png|.svg|.html``: charts without a browser.

    evbill analytics chart heatmap --operator 0190... --location 0190... --out heatmap.png
    evbill analytics chart revenue --operator 0190... --by week --from 2026-03-01 --out revenue.svg
    evbill analytics chart revenue --operator 0190... --by month --out revenue.html
    evbill analytics chart booked --operator 0190... --by month --out booked.svg

The file's extension picks the format. PNG and SVG are drawn offline; HTML is one self-contained
page (the Vega scripts inlined, nothing loaded from outside) that a web console can serve as is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from evbill.application.analytics import charts as use_cases
from evbill.bootstrap import Container
from evbill.domain.analytics.booked import Period
from evbill.domain.analytics.charts import ChartFormat
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli.analytics_options import (
    DayFrom,
    DayTo,
    Evse,
    From,
    OperatorId,
    Place,
    Station,
    To,
    acting,
    local_days,
    window,
)
from evbill.entrypoints.cli.output import fail, fail_domain

Out = Annotated[Path, typer.Option("--out", help="The file to write: .png, .svg or .html.")]


def output_format(path: Path) -> ChartFormat:
    try:
        return ChartFormat(path.suffix.lower().lstrip("."))
    except ValueError:
        fail(f"--out {str(path)!r}: the name must end in .png, .svg or .html")


def build(container: Container) -> typer.Typer:
    app = typer.Typer(help="Charts as PNG, SVG or self-contained HTML.", no_args_is_help=True)

    @app.command("heatmap")
    def heatmap(
        operator: OperatorId,
        out: Out,
        start: From = None,
        end: To = None,
        location: Place = None,
        station: Station = None,
        evse: Evse = None,
    ) -> None:
        """Hours occupied per local weekday x hour (DST-correct), each occupied cell labelled."""
        chosen = output_format(out)
        who = acting(container, operator)
        query = SessionFilter(*window(container, who, start, end), location, station, evse)
        services, renderer = container.services, container.charts
        _write(
            out, lambda: use_cases.heatmap_chart(services, who, query=query, renderer=renderer, output=chosen)
        )

    @app.command("revenue")
    def revenue(
        operator: OperatorId,
        out: Out,
        by: Annotated[GroupBy, typer.Option("--by", help="day, week or month.")] = GroupBy.MONTH,
        start: From = None,
        end: To = None,
        location: Place = None,
        station: Station = None,
        evse: Evse = None,
    ) -> None:
        """Net revenue per day, week or month, stacked by component (energy, time, idle, fees)."""
        chosen = output_format(out)
        who = acting(container, operator)
        query = SessionFilter(*window(container, who, start, end), location, station, evse)
        services, renderer = container.services, container.charts

        def draw() -> bytes:
            return use_cases.revenue_chart(
                services, who, query=query, period=by, renderer=renderer, output=chosen
            )

        _write(out, draw)

    @app.command("booked")
    def booked(
        operator: OperatorId,
        out: Out,
        by: Annotated[Period, typer.Option("--by", help="day, week (ISO) or month.")] = Period.MONTH,
        start: DayFrom = None,
        end: DayTo = None,
    ) -> None:
        """Booked revenue (the ledger's) per day, week or month, stacked by kind (subscriptions too)."""
        chosen = output_format(out)
        who = acting(container, operator)
        first, until = local_days(start, end)
        services, renderer = container.services, container.charts

        def draw() -> bytes:
            return use_cases.booked_chart(
                services, who, first=first, end=until, period=by, renderer=renderer, output=chosen
            )

        _write(out, draw)

    return app


def _write(out: Path, draw: Callable[[], bytes]) -> None:
    try:
        content = draw()
    except DomainError as error:
        fail_domain(error, "chart")
    out.write_bytes(content)
    typer.echo(f"wrote {out} ({len(content)} bytes)")
