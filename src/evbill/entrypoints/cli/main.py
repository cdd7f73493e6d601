"""The ``evbill`` command: ``evbill <area> <verb>``.

Settings are read once here and handed to ``bootstrap``; each area registers its commands.
"""

from __future__ import annotations

import os
import sys

import typer

from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli import customers, demo, invoices, rate, server, tariff
from evbill.entrypoints.cli.output import EXIT_INVALID
from evbill.entrypoints.simulator import command as simulator


def build_app(settings: Settings) -> typer.Typer:
    container = bootstrap(settings)
    app = typer.Typer(
        help="evbill: billing for EV charging operators. Exact OCPI 2.2.1 rating, explained.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    rate.register(app, container)
    app.add_typer(tariff.build(container), name="tariff")
    demo.register(app, container)
    server.register(app, container)
    simulator.register(app)
    customers.register(app, container)
    invoices.register(app, container)
    return app


def main() -> None:
    try:
        settings = Settings.from_environment()
    except DomainError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(EXIT_INVALID)
    try:
        build_app(settings)()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # a bug, not bad input: say so plainly, full traceback on request
        if os.environ.get("EVBILL_DEBUG"):
            raise
        typer.echo(
            f"internal error: {type(error).__name__}: {error} (set EVBILL_DEBUG=1 for details)", err=True
        )
        sys.exit(70)
