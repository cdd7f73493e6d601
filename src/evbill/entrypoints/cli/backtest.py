"""``evbill backtest``: what past sessions would have earned under a candidate tariff.

    evbill backtest --operator 0190... --tariff candidate.json [--location ID] \\
        [--from 2026-03-01 --to 2026-06-01] [--json]

Each session is re-rated by the same engine on its stored periods and rounded once, as billed; the
tariff actually used gives back the billed revenue to the cent. Same behaviour, no demand response.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from evbill.application.analytics.backtests import backtest_report
from evbill.bootstrap import Container
from evbill.domain.analytics.facts import SessionFilter
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli.analytics_options import From, Json, OperatorId, Place, To, acting, window
from evbill.entrypoints.cli.output import fail, fail_domain, write_json


def register(app: typer.Typer, container: Container) -> None:
    @app.command("backtest")
    def backtest(
        operator: OperatorId,
        tariff: Annotated[
            Path, typer.Option("--tariff", help="The candidate OCPI 2.2.1 tariff (JSON file).")
        ],
        location: Place = None,
        start: From = None,
        end: To = None,
        top: Annotated[int, typer.Option(help="How many most affected sessions to list.")] = 10,
        as_json: Json = False,
    ) -> None:
        """Re-rate past sessions under a candidate tariff; compare with what was billed."""
        try:
            document = orjson.loads(tariff.read_bytes()) if tariff.exists() else None
        except orjson.JSONDecodeError as error:
            fail(f"tariff file {str(tariff)!r} is not valid JSON: {error}")
        if document is None:
            fail(f"tariff file {str(tariff)!r} does not exist")
        document = _exact(document)
        who = acting(container, operator)
        query = SessionFilter(*window(container, who, start, end), location)
        try:
            result = backtest_report(container.services, who, candidate=document, query=query, top=top)
        except DomainError as error:
            fail_domain(error, "backtest")
        if as_json:
            write_json(result)
        else:
            _print(result)


def _exact(document: object) -> object:
    """Numbers as exact decimals (re-read with parse_float=Decimal semantics)."""
    import json

    return json.loads(orjson.dumps(document), parse_float=Decimal)


def _print(result: dict[str, object]) -> None:
    console = Console(width=160)
    billed, candidate, difference = result["billed"], result["candidate"], result["difference"]
    console.print(
        f"{result['sessions']} sessions ({result['currency']}): billed {billed['incl_vat']}, "  # type: ignore[index]
        f"candidate {candidate['incl_vat']}, difference {difference['incl_vat']} incl. VAT "  # type: ignore[index]
        f"({difference['excl_vat']} excl. VAT)"  # type: ignore[index]
    )
    margin: dict[str, object] = result["margin"]  # type: ignore[assignment]
    console.print(
        f"margin difference {margin['margin_difference']} (revenue {margin['revenue_difference_excl_vat']} "
        f"excl. VAT, fees {margin['fee_difference']})"
    )
    for title in ("by_customer", "by_location", "most_affected"):
        table = Table(title=title.replace("_", " "))
        rows: list[dict[str, object]] = result[title]  # type: ignore[assignment]
        columns = list(rows[0]) if rows else ["key"]
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(str(row[column]) for column in columns))
        console.print(table)
    if result["left_out"]:
        console.print(f"left out: {result['left_out']}")
    console.print(f"Assumption: {result['assumption']}")
