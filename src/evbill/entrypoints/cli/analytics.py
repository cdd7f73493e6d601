"""``evbill analytics report|heatmap``: what the network did and earned, as a table, JSON or CSV.

    evbill analytics report --operator 0190... --by month --from 2026-03-01 --to 2026-05-01
    evbill analytics report --operator 0190... --by location --json
    evbill analytics report --operator 0190... --by evse --csv evse.csv
    evbill analytics heatmap --operator 0190... --location 0190...

``--from``/``--to`` take a date (midnight UTC) or an RFC 3339 instant; sessions started in
[from, to) count. Amounts are exact sums rounded once with the operator's rounding mode.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evbill.application.access.keys import get_operator, platform_actor
from evbill.application.analytics import reports as use_cases
from evbill.bootstrap import Container
from evbill.domain.access.operators import Actor
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.tables import COLUMNS
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli.output import fail, fail_domain, write_json

OperatorId = Annotated[str, typer.Option("--operator", help="The operator's id.")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
From = Annotated[str | None, typer.Option("--from", help="Started at or after: DATE or RFC 3339.")]
To = Annotated[str | None, typer.Option("--to", help="Started before: DATE or RFC 3339.")]
Place = Annotated[str | None, typer.Option("--location", help="Only this location.")]
Station = Annotated[str | None, typer.Option("--station", help="Only this station.")]
Evse = Annotated[str | None, typer.Option("--evse", help="Only this EVSE.")]

TABLE_COLUMNS = (
    "key", "sessions", "duration_h", "charging_h", "idle_h", "energy_kwh", "net", "tax", "gross",
    "energy_net", "time_net", "idle_net", "fees_net", "gross_per_session", "net_per_kwh", "new_customers",
    "returning_customers",
)  # fmt: skip


def register(app: typer.Typer, container: Container) -> None:
    app.add_typer(build(container), name="analytics")


def instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date (2026-03-01) or an RFC 3339 instant")
    if moment.tzinfo is None:
        fail(f"{option} {text!r} needs a UTC offset, e.g. 2026-03-01T00:00:00+01:00")
    return moment.astimezone(UTC)


def acting(container: Container, operator_id: str) -> Actor:
    try:
        current = container.schema_is_current()
    except Exception as error:  # an unreachable database: a plain message, not a traceback
        fail(f"cannot reach the database at {container.settings.database_url}: {error}")
    if not current:
        fail("the database schema is not current; run `evbill db upgrade` first")
    who = platform_actor(operator_id)
    try:
        get_operator(container.services, who)
    except DomainError as error:
        fail_domain(error, f"operator {operator_id!r}")
    return who


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
    ) -> None:
        """Sessions, charging and idle time, energy, revenue by component, new vs returning customers."""
        who = acting(container, operator)
        query = SessionFilter(instant(start, "--from"), instant(end, "--to"), location, station, evse)
        shown = use_cases.shown_report(container.services, who, query=query, group_by=by)
        rows: list[dict[str, str]] = [*shown["rows"], *shown["totals"]]  # type: ignore[misc]
        if to_csv is not None:
            with to_csv.open("w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=COLUMNS, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
        if as_json:
            write_json(shown)
        elif to_csv is None:
            _print_table(f"Sessions by {by.value}", rows)

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
        query = SessionFilter(instant(start, "--from"), instant(end, "--to"), location, station, evse)
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

    return app


def _print_table(title: str, rows: list[dict[str, str]]) -> None:
    table = Table(title=title)
    for column in TABLE_COLUMNS:
        table.add_column(column, justify="left" if column == "key" else "right")
    for row in rows:
        table.add_row(*(row[column] for column in TABLE_COLUMNS))
    Console(width=250).print(table)
