"""``evbill analytics report|heatmap``: what the network did and earned, as a table, JSON or CSV.

    evbill analytics report --operator 0190... --by month --from 2026-03-01 --to 2026-05-01
    evbill analytics report --operator 0190... --by location --json
    evbill analytics report --operator 0190... --by evse --csv evse.csv
    evbill analytics heatmap --operator 0190... --location 0190...

``--from``/``--to`` take a date (the operator's local midnight) or an RFC 3339 instant; sessions started in
[from, to) count. Amounts are exact sums rounded once with the operator's rounding mode.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evbill.application.analytics import exports
from evbill.application.analytics import reports as use_cases
from evbill.bootstrap import Container
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.tables import COLUMNS
from evbill.entrypoints.cli import analytics_charts, analytics_costs
from evbill.entrypoints.cli.analytics_options import (
    Evse,
    From,
    Json,
    OperatorId,
    Place,
    Station,
    To,
    acting,
    window,
)
from evbill.entrypoints.cli.output import write_json

TABLE_COLUMNS = (
    "key", "sessions", "duration_h", "charging_h", "idle_h", "energy_kwh", "net", "tax", "gross",
    "energy_net", "time_net", "idle_net", "fees_net", "gross_per_session", "net_per_kwh", "new_customers",
    "returning_customers", "share", "refunded", "disputed",
)  # fmt: skip


def register(app: typer.Typer, container: Container) -> None:
    app.add_typer(build(container), name="analytics")


def build(container: Container) -> typer.Typer:
    app = typer.Typer(help="Usage and revenue reports, heatmaps.", no_args_is_help=True)

    @app.command("report")
    def report(
        operator: OperatorId,
        by: Annotated[GroupBy, typer.Option("--by", help="One row per ...")] = GroupBy.TOTAL,
        start: From = None,
        end: To = None,
        location: Place = None,
        station: Station = None,
        evse: Evse = None,
        as_json: Json = False,
        to_csv: Annotated[Path | None, typer.Option("--csv", help="Write the rows to this CSV file.")] = None,
        to_parquet: Annotated[
            Path | None, typer.Option("--parquet", help="Write the rows to this Parquet file.")
        ] = None,
        limit: Annotated[
            int, typer.Option("--limit", min=1, help="At most this many rows, highest gross revenue first.")
        ] = use_cases.DEFAULT_ROWS,
        every: Annotated[
            bool, typer.Option("--all", help="Every row, in key order (exports with --csv always are).")
        ] = False,
    ) -> None:
        """Sessions, charging and idle time, energy, revenue by component, new vs returning customers.

        With more groups than --limit (1,000), the rows of highest gross revenue (totals of all)."""
        who = acting(container, operator)
        query = SessionFilter(*window(container, who, start, end), location, station, evse)
        rows_asked = None if every or to_csv is not None else limit
        shown = use_cases.shown_report(container.services, who, query=query, group_by=by, limit=rows_asked)
        rows: list[dict[str, str]] = [*shown["rows"], *shown["totals"]]  # type: ignore[misc]
        if to_csv is not None:
            with to_csv.open("w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=COLUMNS, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
        if to_parquet is not None:
            to_parquet.write_bytes(
                exports.report_file(
                    container.services, who, query=query, group_by=by, writer=container.report_files
                )
            )
        if as_json:
            write_json(shown)
        elif to_csv is None and to_parquet is None:
            left_out = int(shown["rows_left_out"])  # type: ignore[call-overload]
            more = f" (top {limit:,} by gross revenue; {left_out:,} more with --all)" if left_out else ""
            _print_table(f"Sessions by {by.value}{more}", rows)

    @app.command("heatmap")
    def heatmap(
        operator: OperatorId,
        start: From = None,
        end: To = None,
        location: Place = None,
        station: Station = None,
        evse: Evse = None,
        as_json: Json = False,
    ) -> None:
        """Hours occupied per local weekday x hour (and sessions started), DST-correct."""
        who = acting(container, operator)
        query = SessionFilter(*window(container, who, start, end), location, station, evse)
        shown = use_cases.shown_heatmap(container.services, who, query=query)
        if as_json:
            write_json(shown)
            return
        table = Table(title="Hours occupied (local time)")
        table.add_column("hour")
        for day in shown["weekdays"]:  # type: ignore[attr-defined]
            table.add_column(day, justify="right")
        occupied: list[list[str]] = shown["occupied_hours"]  # type: ignore[assignment]
        for hour in range(24):
            table.add_row(f"{hour:02d}", *(occupied[day][hour] for day in range(7)))
        Console().print(table)

    app.add_typer(analytics_charts.build(container), name="chart")
    analytics_costs.register(app, container)
    return app


def _print_table(title: str, rows: list[dict[str, str]]) -> None:
    table = Table(title=title)
    for column in TABLE_COLUMNS:
        table.add_column(column, justify="left" if column == "key" else "right")
    for row in rows:
        table.add_row(*(row[column] for column in TABLE_COLUMNS))
    Console(width=250).print(table)
