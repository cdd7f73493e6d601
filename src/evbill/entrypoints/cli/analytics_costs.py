"""``evbill analytics prices set|import`` and ``evbill analytics margin``: what energy costs, what is left.

    evbill analytics prices set --operator 0190... --location 0190... --currency EUR --fixed 0.25
    evbill analytics prices set --operator 0190... --location 0190... --schedule tou.json
    evbill analytics prices import spot.csv --operator 0190... --location 0190... --unit mwh --currency EUR
    evbill analytics margin --operator 0190... --by location [--from DATE --to DATE] [--json]
    evbill analytics fees location --operator 0190... --location 0190... --currency EUR \
        --grid 0.05 --demand 9.50
    evbill analytics fees operator --operator 0190... --currency EUR --gateway-percent 1.4 \
        --gateway-fixed 0.25 --roaming "DE*ABC=10%+0.10"

A schedule file is ``{"currency": "EUR", "kind": "time_of_use", "windows": [{"start": "23:00", "end":
"07:00", "price": "0.12"}, {"start": "07:00", "end": "23:00", "price": "0.30", "weekdays": [0, 1, 2, 3,
4]}]}`` (local time of the location, first matching window wins). A CSV is ``start,price`` per quarter
hour (see ``domain/analytics/price_files``).
"""

from __future__ import annotations

import enum
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evbill.application.access.keys import get_operator
from evbill.application.analytics import costs as use_cases
from evbill.bootstrap import Container
from evbill.domain.analytics.costs import EnergyPurchase, PriceKind
from evbill.domain.analytics.facts import SessionFilter
from evbill.domain.analytics.fees import LocationFees, OperatorFees, RoamingRule
from evbill.domain.analytics.margin import margin_text
from evbill.domain.analytics.price_files import PriceUnit, purchase_from, read_price_csv
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli.analytics_options import (
    From,
    Json,
    OperatorId,
    Place,
    To,
    acting,
    window,
)
from evbill.entrypoints.cli.output import fail, fail_domain, read_json_file, write_json

Location = Annotated[str, typer.Option("--location", help="The location whose energy this prices.")]
Currency = Annotated[str | None, typer.Option("--currency", help="ISO 4217, e.g. EUR.")]


class MarginView(enum.StrEnum):
    SESSION = "session"
    LOCATION = "location"
    MONTH = "month"


def register(app: typer.Typer, container: Container) -> None:
    prices = typer.Typer(help="Energy purchase prices per location.", no_args_is_help=True)

    @prices.command("set")
    def set_price(
        operator: OperatorId,
        location: Location,
        currency: Currency = None,
        fixed: Annotated[str | None, typer.Option("--fixed", help="One price per kWh, e.g. 0.25.")] = None,
        schedule: Annotated[Path | None, typer.Option("--schedule", help="A time-of-use JSON file.")] = None,
    ) -> None:
        """A fixed price per kWh, or a time-of-use schedule."""
        who = acting(container, operator)
        try:
            purchase = _purchase(location, currency, fixed, schedule)
            use_cases.set_energy_purchase(container.services, who, purchase=purchase)
        except DomainError as error:
            fail_domain(error, "energy price")
        typer.echo(f"location {location} buys energy at a {purchase.kind.value} price in {purchase.currency}")

    @prices.command("import")
    def import_series(
        file: Annotated[Path, typer.Argument(help="CSV: start,price per quarter hour.")],
        operator: OperatorId,
        location: Location,
        currency: Currency = None,
        unit: Annotated[PriceUnit, typer.Option("--unit", help="Prices per kwh or mwh.")] = PriceUnit.KWH,
    ) -> None:
        """Import a 15-minute price series (e.g. day-ahead spot); it becomes the location's price."""
        who = acting(container, operator)
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as error:
            fail(f"cannot read {file}: {error.strerror}")
        try:
            points = read_price_csv(text, unit)
            count = use_cases.import_prices(
                container.services, who, location_id=location, points=points, currency=currency
            )
        except DomainError as error:
            fail_domain(error, str(file))
        typer.echo(f"imported {count} prices for location {location}")

    app.add_typer(prices, name="prices")
    app.add_typer(_fees(container), name="fees")

    @app.command("margin")
    def margin(
        operator: OperatorId,
        by: Annotated[MarginView, typer.Option("--by", help="One row per ...")] = MarginView.LOCATION,
        start: From = None,
        end: To = None,
        location: Place = None,
        losing: Annotated[bool, typer.Option("--losing", help="Only what loses money.")] = False,
        as_json: Json = False,
    ) -> None:
        """Net revenue minus energy cost and fees per session, location or month; who loses money."""
        who = acting(container, operator)
        query = SessionFilter(*window(container, who, start, end), location)
        report = use_cases.margin_report(container.services, who, query=query)
        shown = margin_text(report, get_operator(container.services, who).rounding_mode)
        if as_json:
            write_json(shown)
            return
        _print(shown, by, losing)


def _fees(container: Container) -> typer.Typer:
    fees = typer.Typer(help="Fees beyond energy: grid/demand, gateway, roaming.", no_args_is_help=True)

    @fees.command("location")
    def location_fees(
        operator: OperatorId,
        location: Location,
        currency: Annotated[str, typer.Option("--currency", help="ISO 4217, e.g. EUR.")],
        grid: Annotated[str, typer.Option("--grid", help="Grid fee per kWh, e.g. 0.05.")] = "0",
        demand: Annotated[str, typer.Option("--demand", help="Per kW of the monthly peak.")] = "0",
    ) -> None:
        """A location's grid fee per kWh and demand fee per kW of its monthly 15-minute peak."""
        who = acting(container, operator)
        try:
            chosen = LocationFees(
                location, currency.upper(), _decimal(grid, "--grid"), _decimal(demand, "--demand")
            )
            use_cases.set_location_fees(container.services, who, fees=chosen)
        except DomainError as error:
            fail_domain(error, "location fees")
        typer.echo(f"location {location}: grid {grid} per kWh, demand {demand} per kW ({chosen.currency})")

    @fees.command("operator")
    def operator_fees(
        operator: OperatorId,
        currency: Annotated[str, typer.Option("--currency", help="ISO 4217, e.g. EUR.")],
        gateway_percent: Annotated[str, typer.Option("--gateway-percent", help="e.g. 1.4 (%).")] = "0",
        gateway_fixed: Annotated[str, typer.Option("--gateway-fixed", help="Per payment.")] = "0",
        roaming: Annotated[
            list[str] | None,
            typer.Option(
                "--roaming", help="PREFIX=PERCENT%+FIXED per roaming session, e.g. DE*ABC=10%+0.10."
            ),
        ] = None,
    ) -> None:
        """The gateway fee (when the gateway recorded none) and roaming fees per contract id prefix."""
        who = acting(container, operator)
        rules = tuple(_roaming_rule(text) for text in roaming or ())
        try:
            chosen = OperatorFees(
                currency.upper(), _decimal(gateway_percent, "--gateway-percent"),
                _decimal(gateway_fixed, "--gateway-fixed"), rules,
            )  # fmt: skip
            use_cases.set_operator_fees(container.services, who, fees=chosen)
        except DomainError as error:
            fail_domain(error, "operator fees")
        typer.echo(f"gateway {gateway_percent} % + {gateway_fixed}; {len(rules)} roaming rule(s)")

    return fees


def _decimal(text: str, option: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        fail(f"{option} {text!r} is not a decimal number")


def _roaming_rule(text: str) -> RoamingRule:
    """``PREFIX=PERCENT%+FIXED``, ``PREFIX=PERCENT%`` or ``PREFIX=FIXED``."""
    prefix, _, fee = text.partition("=")
    percent, fixed = "0", "0"
    if "%" in fee:
        percent, _, rest = fee.partition("%")
        fixed = rest.lstrip("+") or "0"
    else:
        fixed = fee or "0"
    if not prefix.strip() or not fee:
        fail(f"--roaming {text!r}: write PREFIX=PERCENT%+FIXED, e.g. DE*ABC=10%+0.10")
    return RoamingRule(prefix.strip(), _decimal(percent, "--roaming"), _decimal(fixed, "--roaming"))


def _purchase(
    location: str, currency: str | None, fixed: str | None, schedule: Path | None
) -> EnergyPurchase:
    if (fixed is None) == (schedule is None):
        fail("give either --fixed PRICE or --schedule FILE")
    if schedule is not None:
        document = read_json_file(schedule, "schedule")
        if not isinstance(document, dict):
            fail(f"{schedule}: a JSON object is expected")
        if currency is not None:
            document["currency"] = currency
        return purchase_from(location, document)
    try:
        price = Decimal(str(fixed))
    except InvalidOperation:
        fail(f"--fixed {fixed!r} is not a decimal number")
    if currency is None:
        fail("--fixed needs --currency")
    return EnergyPurchase(location, currency.upper(), PriceKind.FIXED, price)


def _print(shown: dict[str, object], by: MarginView, losing: bool) -> None:
    if by is MarginView.SESSION:
        rows = shown["losing_sessions" if losing else "sessions"]
        columns = ("session_id", "location_id", "month", "energy_kwh", "revenue_net", "energy_cost", "fees",
                   "margin")  # fmt: skip
    else:
        name = {MarginView.LOCATION: "by_location", MarginView.MONTH: "by_month"}[by]
        rows = shown["losing_locations" if losing and by is MarginView.LOCATION else name]
        columns = (
            "key",
            "currency",
            "sessions",
            "energy_kwh",
            "revenue_net",
            "energy_cost",
            "fees",
            "margin",
        )
    table = Table(title=f"Margin by {by.value}")
    for column in columns:
        table.add_column(
            column, justify="left" if column in {"key", "session_id", "location_id"} else "right"
        )
    for row in [*rows, *([] if by is MarginView.SESSION else shown["totals"])]:  # type: ignore[misc]
        table.add_row(*(str(row[column]) for column in columns))
    Console(width=200).print(table)
    for reason, count in shown["left_out"].items():  # type: ignore[attr-defined]
        typer.echo(f"left out: {count} ({reason})")
