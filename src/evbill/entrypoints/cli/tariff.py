"""``evbill tariff check``: every problem and warning of a tariff, by JSON path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evbill.application.rating.cdrs import check_tariff_document
from evbill.bootstrap import Container
from evbill.domain.errors import Severity
from evbill.entrypoints.cli.output import EXIT_INVALID, read_json_file, write_json


def build(container: Container) -> typer.Typer:
    app = typer.Typer(help="Tariffs: check OCPI 2.2.1 tariff documents.", no_args_is_help=True)

    @app.command()
    def check(
        path: Annotated[Path, typer.Argument(metavar="TARIFF.json", help="OCPI 2.2.1 Tariff JSON file.")],
        json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """List every error and warning of a tariff; exit status 1 if there is an error."""
        report = check_tariff_document(codec=container.ocpi, document=read_json_file(path, "tariff"))
        errors = [p for p in report.problems if p.severity is Severity.ERROR]
        warnings = [p for p in report.problems if p.severity is Severity.WARNING]
        if json:
            write_json(
                {
                    "ok": report.ok,
                    "problems": [
                        {"severity": p.severity.value, "path": p.path, "message": p.message}
                        for p in report.problems
                    ],
                }
            )
        else:
            for problem in report.problems:
                typer.echo(str(problem))
            verdict = "invalid" if errors else "valid"
            typer.echo(f"{path}: {verdict}: {len(errors)} error(s), {len(warnings)} warning(s)")
        if errors:
            raise typer.Exit(EXIT_INVALID)

    return app
