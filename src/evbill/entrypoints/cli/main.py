"""The ``evbill`` command: ``evbill <area> <verb>``.

Settings are read once here; each area registers its commands. A command-line tool is judged by
how long a person waits for it, so nothing is loaded before it is needed:

* ``evbill --help`` lists every command from the one-line summaries in ``COMMANDS`` below, without
  importing a single area module (nor the domain, the application or ``bootstrap``);
* ``evbill <command> ...`` imports that command's area, builds the container (``bootstrap``) and
  lets Typer build that area's options only;
* help is printed plainly (``rich_markup_mode=None``): Typer's rich help imports rich's markdown
  and table rendering, a tenth of a second before anything is shown;
* the batch, ``evbill rate --tariff T --cdrs FILE [--tz Z] [--rounding R]`` with nothing else, is
  run without Typer reading its options (``batch_options``): Typer converts each option through a
  Pydantic ``TypeAdapter``, and importing Pydantic and building those is a tenth of a second of
  every batch. Anything else on that command line (help, ``--explain``, an option twice, a value
  that is not plain) goes through Typer as before, which also reports every mistake.

A summary here must match the command's own help (tests/e2e/test_cli_first_use.py checks it), and
a new command is added both to its area's ``register`` and to ``COMMANDS``.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from evbill.config import Settings
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli.output import EXIT_INVALID, say

if TYPE_CHECKING:
    import typer
    from typer import _click as click

    from evbill.bootstrap import Container
    from evbill.entrypoints.cli.group import LazyGroup

HELP = "evbill: billing for EV charging operators. Exact OCPI 2.2.1 rating, explained."
Registrar = Callable[["typer.Typer", "Container"], None]


def _rate(app: typer.Typer, container: Container) -> None:
    from evbill.entrypoints.cli import rate_options

    rate_options.register(app, container)


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
    "report": Command(
        "Utilisation, faults and occupancy from the status history; revenue as booked in the ledger.",
        _reports,
    ),
    "backtest": Command(
        "Re-rate past sessions under a candidate tariff; compare with what was billed.", _backtest
    ),
}


def load_area(register: Registrar, container: Container) -> click.Group:
    """The click group of one area's commands, as Typer builds it (options, validators, help)."""
    import typer

    area = typer.Typer(rich_markup_mode=None, add_completion=False)
    register(area, container)
    return typer.main.get_group(area)


def build_app(settings: Settings) -> LazyGroup:
    from evbill.entrypoints.cli.group import LazyGroup  # Typer: not loaded for a plain batch

    return LazyGroup(
        settings,
        name="evbill",
        help=HELP,
        no_args_is_help=True,
        rich_markup_mode=None,
    )


_BATCH_OPTIONS = frozenset({"--tariff", "--cdrs", "--tz", "--rounding"})
_ROUNDING_MODES = frozenset({"half_up", "half_even", "down", "up"})  # RoundingMode's values


def batch_options(args: list[str]) -> dict[str, str] | None:
    """The options of a plain batch (``rate --tariff T --cdrs FILE`` with ``--tz``/``--rounding``
    or not, each at most once, ``--name value`` or ``--name=value``); None for any other command
    line, which Typer reads."""
    if args[:1] != ["rate"] or "_EVBILL_COMPLETE" in os.environ:
        return None
    options: dict[str, str] = {}
    position = 1
    while position < len(args):
        name, equals, value = args[position].partition("=")
        if name not in _BATCH_OPTIONS or name in options:
            return None
        if not equals:
            position += 1
            if position == len(args):
                return None
            value = args[position]
        if not value or value.startswith("-"):
            return None
        options[name] = value
        position += 1
    if "--tariff" not in options or "--cdrs" not in options:
        return None
    if options.get("--rounding", "half_up") not in _ROUNDING_MODES:
        return None
    return options


def run_batch(settings: Settings, options: dict[str, str]) -> NoReturn:
    """``evbill rate`` with the options ``batch_options`` read, ending as Typer's command would."""
    from pathlib import Path

    from evbill.bootstrap import bootstrap
    from evbill.domain.money import RoundingMode
    from evbill.entrypoints.cli import rate

    rounding = options.get("--rounding")
    try:
        try:
            rate.run(
                bootstrap(settings, create_database=False),
                tariff=Path(options["--tariff"]),
                cdrs=Path(options["--cdrs"]),
                tz=options.get("--tz"),
                rounding=RoundingMode(rounding) if rounding is not None else None,
            )
        except KeyboardInterrupt:
            sys.exit(130)
        except OSError as error:  # as Typer's main: a closed pipe (`| head`) ends quietly
            if error.errno != errno.EPIPE:
                raise
            from typer import _click as click

            sys.stdout = click.utils.PacifyFlushWrapper(sys.stdout)  # type: ignore[assignment]
            sys.stderr = click.utils.PacifyFlushWrapper(sys.stderr)  # type: ignore[assignment]
            sys.exit(1)
    except Exception as error:  # ``output.exit_with`` raised Typer's Exit (loading Typer then)
        typer = sys.modules.get("typer")
        if typer is None or not isinstance(error, typer.Exit):
            raise
        sys.exit(error.exit_code)
    sys.exit(0)


def main() -> None:
    try:
        settings = Settings.from_environment()
    except DomainError as error:
        say(f"error: {error}")
        sys.exit(EXIT_INVALID)
    try:
        options = batch_options(sys.argv[1:])
        if options is not None:
            run_batch(settings, options)
        build_app(settings).main(prog_name="evbill")
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
    except DomainError as error:  # e.g. no database where EVBILL_DATABASE_URL says
        typer.echo(f"error: {error}", err=True)
        sys.exit(EXIT_INVALID)
    except OSError as error:
        if error.filename is None or os.environ.get("EVBILL_DEBUG"):
            _internal(error)
        # a file the user named: no such folder, no permission, a disk full
        say(f"error: cannot use {error.filename}: {error.strerror or error}")
        sys.exit(EXIT_INVALID)
    except Exception as error:  # a bug, not bad input: say so plainly, full traceback on request
        _internal(error)


def _internal(error: Exception) -> NoReturn:
    if os.environ.get("EVBILL_DEBUG"):
        raise error
    say(f"internal error: {type(error).__name__}: {error} (set EVBILL_DEBUG=1 for details)")
    sys.exit(70)
