"""``evbill rate``'s options as Typer reads them (help, ``--cdr``, ``--explain``, stdin, mistakes).

The command itself is ``rate.run``. A plain batch command line is read without Typer
(``main.batch_options``), so ``rate`` does not import Typer: this module does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evbill.domain.money import RoundingMode
from evbill.entrypoints.cli.rate import run

if TYPE_CHECKING:
    from evbill.bootstrap import Container


def register(app: typer.Typer, container: Container) -> None:
    @app.command()
    def rate(
        tariff: Annotated[Path, typer.Option(help="OCPI 2.2.1 Tariff JSON file.")],
        cdr: Annotated[Path | None, typer.Option(help="One OCPI CDR JSON file.")] = None,
        cdrs: Annotated[
            Path | None, typer.Option(help="JSONL file, one OCPI CDR per line ('-' for stdin).")
        ] = None,
        tz: Annotated[
            str | None,
            typer.Option(help="IANA time zone of the location [default: EVBILL_TIME_ZONE or UTC]."),
        ] = None,
        explain: Annotated[
            bool, typer.Option(help="Add the price explanation (JSON; text on stderr).")
        ] = False,
        rounding: Annotated[
            RoundingMode | None, typer.Option(help="Rounding of document totals (default: settings).")
        ] = None,
    ) -> None:
        """Price OCPI CDRs against a tariff and print the priced CDRs as OCPI JSON."""
        run(container, tariff=tariff, cdr=cdr, cdrs=cdrs, tz=tz, explain=explain, rounding=rounding)
