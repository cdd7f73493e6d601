"""The ``evbill`` command: ``evbill <area> <verb>``.

Settings are read once here; each area registers its commands. A command-line tool is judged by
how long a person waits for it, so nothing is loaded before it is needed:

* ``evbill --help`` lists every command from the one-line summaries in ``COMMANDS`` below, without
  importing a single area module (nor the domain, the application or ``bootstrap``);
* ``evbill <command> ...`` imports that command's area, builds the container (``bootstrap``) and
  lets Typer build that area's options only;
* help is printed plainly (``rich_markup_mode=None``): Typer's rich help imports rich's markdown
  and table rendering, a tenth of a second before anything is shown.

A summary here must match the command's own help (tests/e2e/test_cli_first_use.py checks it), and
a new command is added both to its area's ``register`` and to ``COMMANDS``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from typer import _click as click
from typer.core import TyperGroup

from evbill.config import Settings
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli.output import EXIT_INVALID

if TYPE_CHECKING:
    from evbill.bootstrap import Container

HELP = "evbill: billing for EV charging operators. Exact OCPI 2.2.1 rating, explained."
Registrar = Callable[[typer.Typer, "Container"], None]


def _rate(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import rate

    rate.register(app, container)


def _tariff(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import tariff

    app.add_typer(tariff.build(container), name="tariff")


def _demo(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import demo

    demo.register(app, container)


def _server(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import server

    server.register(app, container)


def _simulator(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.simulator import command as simulator

    simulator.register(app)


def _customers(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import customers

    customers.register(app, container)


def _offers(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import offers

    offers.register(app, container)


def _session_review(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import session_review

    session_review.register(app, container)


def _frames(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import frames

    frames.register(app, container)


def _analytics(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import analytics

    analytics.register(app, container)


def _backtest(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import backtest

    backtest.register(app, container)


def _reports(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import reports

    reports.register(app, container)


def _ledger(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import ledger

    app.add_typer(ledger.build(container), name="ledger")


def _invoices(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import invoices

    invoices.register(app, container)


def _billing(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import billing

    billing.register(app, container)


def _payments(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import collection

    collection.register(app, container)


@dataclass(frozen=True)
class Command:
    summary: str  # what `evbill --help` shows: the command's own first help line
    register: Registrar  # adds the command (and its area's others) to a Typer app


COMMANDS: dict[str, Command] = {
    "rate": Command("Price OCPI CDRs against a tariff and print the priced CDRs as OCPI JSON.", _rate),
    "demo": Command("Price three sample sessions under a time-of-use tariff and explain every line.", _demo),
    "serve": Command(
        "Run the REST API (OpenAPI at /openapi.json, docs at /docs) and the OCPP endpoint (/ocpp/{id}).",
        _server,
    ),
    "simulate": Command(
        "Simulate OCPP charging stations against a CSMS and summarize what they did.", _simulator
    ),
    "tariff": Command("Tariffs: check OCPI 2.2.1 tariff documents.", _tariff),
    "db": Command("The database: migrate and inspect.", _server),
    "operator": Command("Operators (tenants).", _server),
    "station": Command("Charging stations (platform view).", _server),
    "apikey": Command("API keys.", _server),
    "customer": Command("Customers: drivers and business accounts (fleets).", _customers),
    "token": Command("Tokens: the RFID cards and app ids customers charge with.", _customers),
    "import": Command("Import customers or tokens from CSV: every row, or none.", _customers),
    "plan": Command("Plans: pay per use, subscriptions, flat rates, memberships.", _offers),
    "contract": Command("Contracts: who is billed under which plan, and their bills.", _offers),
    "promotion": Command("Promotions: coupons, loyalty, free kWh; give them to customers.", _offers),
    "session": Command("Sessions under review: close, re-rate or void one.", _session_review),
    "frames": Command("Raw OCPP frames: retention.", _frames),
    "ledger": Command("The double-entry ledger: check it, export it.", _ledger),
    "invoice": Command("Invoices, receipts and credit notes: list, export and send.", _invoices),
    "billing": Command("Billing runs: issue every invoice due for a month.", _billing),
    "worker": Command(
        "Run queued jobs (billing runs, rendering) from EVBILL_QUEUE_URL until stopped.", _billing
    ),
    "payments": Command(
        "Getting paid: bank statements, SEPA direct debit, card collection, reminders, write-offs.", _payments
    ),
    "analytics": Command("Usage and revenue reports, heatmaps.", _analytics),
    "report": Command("Utilisation, faults and occupancy from the status history.", _reports),
    "backtest": Command(
        "Re-rate past sessions under a candidate tariff; compare with what was billed.", _backtest
    ),
}


class LazyGroup(TyperGroup):
    """The top-level group: lists ``COMMANDS`` from their summaries, loads one when it is run."""

    def __init__(self, settings: Settings, **attributes: object) -> None:
        super().__init__(**attributes)  # type: ignore[arg-type]
        self._settings = settings
        self._container: Container | None = None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = COMMANDS.get(cmd_name)
        if command is None:
            return None
        return load_area(command.register, self.container()).get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, command.summary) for name, command in COMMANDS.items()])

    def container(self) -> Container:
        if self._container is None:
            from evbill.bootstrap import bootstrap

            # a command never leaves an empty SQLite file behind: only migrating creates the database
            self._container = bootstrap(self._settings, create_database=False)
        return self._container


def load_area(register: Registrar, container: Container) -> click.Group:
    """The click group of one area's commands, as Typer builds it (options, validators, help)."""
    area = typer.Typer(rich_markup_mode=None, add_completion=False)
    register(area, container)
    return typer.main.get_group(area)


def build_app(settings: Settings) -> LazyGroup:
    return LazyGroup(
        settings,
        name="evbill",
        help=HELP,
        no_args_is_help=True,
        rich_markup_mode=None,
    )


def main() -> None:
    try:
        settings = Settings.from_environment()
    except DomainError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(EXIT_INVALID)
    try:
        build_app(settings).main(prog_name="evbill")
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except DomainError as error:  # e.g. no database where EVBILL_DATABASE_URL says
        typer.echo(f"error: {error}", err=True)
        sys.exit(EXIT_INVALID)
    except Exception as error:  # a bug, not bad input: say so plainly, full traceback on request
        if os.environ.get("EVBILL_DEBUG"):
            raise
        typer.echo(
            f"internal error: {type(error).__name__}: {error} (set EVBILL_DEBUG=1 for details)", err=True
        )
        sys.exit(70)
