"""``evbill report utilisation|faults|occupancy``: how the chargers were used, from their status
history; ``evbill report booked``: revenue as the ledger booked it.

    evbill report utilisation --operator 0190... --by location --from 2026-03-01 --to 2026-04-01
    evbill report utilisation --operator 0190... --by evse --csv evse.csv
    evbill report faults --operator 0190... --json
    evbill report occupancy --operator 0190... --location 0190... --chart occupancy.png
    evbill report booked --operator 0190... --by month --from 2026-11-01 --to 2027-01-01

``--from``/``--to`` take a date (midnight UTC) or an RFC 3339 instant: the window is [from, to), by
default the 30 days before now. Shares are of EVSE time; ``unknown`` is time no status was known
(before a first report, while the station was offline), never counted as available. ``booked`` takes
dates only, local days in the operator's invoicing time zone, and by default reads the whole ledger.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evbill.application.analytics import booked as booked_cases
from evbill.application.analytics import utilisation as use_cases
from evbill.application.analytics.utilisation import UtilisationQuery
from evbill.bootstrap import Container
from evbill.domain.access.operators import Actor
from evbill.domain.analytics.booked import Period, columns
from evbill.domain.analytics.utilisation_report import COLUMNS, FAULT_COLUMNS, WEEKDAYS, UtilisationGroup
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli.analytics_charts import output_format
from evbill.entrypoints.cli.analytics_options import (
    DayFrom,
    DayTo,
    Evse,
    Json,
    OperatorId,
    Place,
    Station,
    acting,
    local_days,
    window,
)
from evbill.entrypoints.cli.output import fail_domain, write_json

DEFAULT_DAYS = 30
From = Annotated[
    str | None, typer.Option("--from", help="From: DATE (local midnight) or RFC 3339 (default: 30 days ago).")
]
To = Annotated[
    str | None,
    typer.Option("--to", help="Until, excluded: DATE (local midnight) or RFC 3339 (default: now)."),
]
ConnectorClass = Annotated[
    str | None, typer.Option("--connector-class", help="Only EVSEs of this class: AC, DC or HPC.")
]
By = Annotated[UtilisationGroup, typer.Option("--by", help="One row per ...")]
Csv = Annotated[Path | None, typer.Option("--csv", help="Write the rows to this CSV file.")]


def register(app: typer.Typer, container: Container) -> None:
    app.add_typer(build(container), name="report")


def build(container: Container) -> typer.Typer:
    app = typer.Typer(
        help="Utilisation, faults and occupancy from the status history; revenue as booked in the ledger.",
        no_args_is_help=True,
    )

    def query_of(who: Actor, start: str | None, end: str | None, *places: str | None) -> UtilisationQuery:
        since, until = window(container, who, start, end)
        until = until or container.services.clock.now()
        return UtilisationQuery(since or until - timedelta(days=DEFAULT_DAYS), until, *places)

    @app.command("utilisation")
    def utilisation(
        operator: OperatorId,
        by: Annotated[
            UtilisationGroup, typer.Option("--by", help="One row per ...")
        ] = UtilisationGroup.TOTAL,
        start: From = None,
        end: To = None,
        location: Place = None,
        station: Station = None,
        evse: Evse = None,
        connector_class: ConnectorClass = None,
        as_json: Json = False,
        to_csv: Csv = None,
    ) -> None:
        """Share of EVSE time occupied, charging, available, reserved, unavailable, faulted, unknown."""
        who = acting(container, operator)
        query = query_of(who, start, end, location, station, evse, connector_class)
        try:
            shown = use_cases.shown_utilisation(container.services, who, query=query, group_by=by)
        except DomainError as error:
            fail_domain(error, "utilisation")
        rows: list[dict[str, object]] = [*shown["rows"]]  # type: ignore[list-item]
        if by is not UtilisationGroup.TOTAL:  # by total, the one row is the total: printed once
            rows += shown["totals"]  # type: ignore[arg-type]
        if to_csv is not None:
            _write_csv(to_csv, COLUMNS, rows)
        if as_json:
            write_json(shown)
        elif to_csv is None:
            _print(f"Utilisation by {by.value}", COLUMNS, rows)
            typer.echo(_cleaning_line(shown["reports"]))  # type: ignore[arg-type]

    @app.command("faults")
    def faults(
        operator: OperatorId,
        start: From = None,
        end: To = None,
        location: Place = None,
        station: Station = None,
        as_json: Json = False,
        to_csv: Csv = None,
    ) -> None:
        """Stations with faults: times faulted, faulted EVSE hours, the last error code."""
        who = acting(container, operator)
        query = query_of(who, start, end, location, station)
        try:
            shown = use_cases.shown_faults(container.services, who, query=query)
        except DomainError as error:
            fail_domain(error, "faults")
        rows: list[dict[str, object]] = shown["rows"]  # type: ignore[assignment]
        if to_csv is not None:
            _write_csv(to_csv, FAULT_COLUMNS, rows)
        if as_json:
            write_json(shown)
        elif to_csv is None:
            _print("Stations with faults", FAULT_COLUMNS, rows)

    @app.command("occupancy")
    def occupancy(
        operator: OperatorId,
        start: From = None,
        end: To = None,
        location: Place = None,
        station: Station = None,
        evse: Evse = None,
        as_json: Json = False,
        chart: Annotated[Path | None, typer.Option("--chart", help="Draw it: .png, .svg or .html.")] = None,
    ) -> None:
        """Busy EVSE hours per local weekday x hour (DST-correct), as a table, JSON or a chart."""
        chosen = output_format(chart) if chart is not None else None
        who = acting(container, operator)
        query = query_of(who, start, end, location, station, evse)
        try:
            if chart is not None and chosen is not None:
                content = use_cases.occupancy_chart(
                    container.services, who, query=query, renderer=container.charts, output=chosen
                )
                chart.write_bytes(content)
                typer.echo(f"wrote {chart} ({len(content)} bytes)")
                return
            shown = use_cases.shown_occupancy(container.services, who, query=query)
        except DomainError as error:
            fail_domain(error, "occupancy")
        if as_json:
            write_json(shown)
            return
        table = Table(title="Busy EVSE hours (local time)")
        table.add_column("hour")
        for day in WEEKDAYS:
            table.add_column(day, justify="right")
        busy: list[list[str]] = shown["occupied_hours"]  # type: ignore[assignment]
        for hour in range(24):
            table.add_row(f"{hour:02d}", *(busy[day][hour] for day in range(7)))
        Console().print(table)

    @app.command("booked")
    def booked(
        operator: OperatorId,
        by: Annotated[
            Period, typer.Option("--by", help="One row per day, ISO week or month.")
        ] = Period.MONTH,
        start: DayFrom = None,
        end: DayTo = None,
        as_json: Json = False,
        to_csv: Csv = None,
    ) -> None:
        """Revenue as booked in the ledger: net by kind (subscriptions too), VAT and gross per period."""
        who = acting(container, operator)
        first, until = local_days(start, end)
        try:
            shown = booked_cases.shown_booked_revenue(
                container.services, who, first=first, end=until, period=by
            )
        except DomainError as error:
            fail_domain(error, "booked revenue")
        names = columns(shown["kinds"])  # type: ignore[arg-type]
        rows: list[dict[str, object]] = [*shown["rows"], *shown["totals"]]  # type: ignore[misc]
        if to_csv is not None:
            _write_csv(to_csv, names, [{name: row[name] for name in names} for row in rows])
        if as_json:
            write_json(shown)
        elif to_csv is None:
            _print(f"Booked revenue by {by.value} ({shown['time_zone']})", names, rows)

    return app


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _print(title: str, columns: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column in {"key", "station_id", "currency"} else "right")
    for row in rows:
        table.add_row(*("" if row[column] is None else str(row[column]) for column in columns))
    Console(width=250).print(table)


def _cleaning_line(reports: dict[str, int]) -> str:
    return (
        f"{reports['used']} status reports; {reports['clock_corrected']} placed at the received time "
        f"(charger clock off), {reports['out_of_order']} late, {reports['duplicates']} duplicates"
    )
