"""``evbill ledger check`` and ``evbill ledger export``: prove the ledger sound, hand it to accountants.

evbill ledger check                      # every operator; exit 1 naming whatever does not agree
evbill ledger export --operator ID --format datev --out EXTF_Buchungsstapel.csv
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from evbill.application.access.keys import get_operator
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.ledger import exports, queries
from evbill.bootstrap import Container
from evbill.domain.access.operators import Actor
from evbill.domain.ledger.entries import LedgerEntry
from evbill.entrypoints.cli.output import EXIT_INVALID, fail, write_json
from evbill.entrypoints.cli.records import Json, OperatorId, acting, call

PAGE = 10_000


def build(container: Container) -> typer.Typer:
    app = typer.Typer(help="The double-entry ledger: check it, export it.", no_args_is_help=True)

    @app.command()
    def check(
        operator: Annotated[
            list[str] | None, typer.Option("--operator", help="Only this operator (repeatable); default all.")
        ] = None,
        json: Json = False,
    ) -> None:
        """Prove every entry balances and the ledger reconciles with payments and wallets."""
        for operator_id in operator or ():
            acting(container, operator_id)
        if not operator:
            acting_on_database(container)
        report = check_all_books(container.services, operator_ids=operator)
        if json:
            write_json(
                {
                    "ok": report.ok,
                    "operators": report.operators,
                    "entries": report.entries_checked,
                    "findings": [
                        {"operator_id": f.operator_id, "subject": f.subject, "message": f.message}
                        for f in report.findings
                    ],
                }
            )
        else:
            for finding in report.findings:
                typer.echo(str(finding))
            verdict = "sound" if report.ok else f"{len(report.findings)} finding(s)"
            typer.echo(
                f"ledger: {report.entries_checked} entries of {report.operators} operator(s): {verdict}"
            )
        if not report.ok:
            raise typer.Exit(EXIT_INVALID)

    @app.command()
    def export(
        operator: OperatorId,
        export_format: Annotated[
            exports.ExportFormat, typer.Option("--format", help="csv, datev or beancount.")
        ],
        out: Annotated[Path, typer.Option("--out", help="The file to write.")],
    ) -> None:
        """Write the operator's journal for an accounting system."""
        who = acting(container, operator)
        services = container.services
        currency = call(lambda: get_operator(services, who)).default_currency
        entries: Iterable[LedgerEntry] = _all_entries(container, who)
        documents = None
        if export_format is exports.ExportFormat.DATEV:  # read twice anyway: Belegfeld 1 needs the numbers
            entries = list(entries)
            call(lambda: exports.check_datev_currency(entries, currency))  # before the file is made
            documents = queries.document_numbers(services, who, {entry.reference for entry in entries})
        lines = exports.export_lines(
            export_format, entries, created_at=services.clock.now(), currency=currency, documents=documents
        )
        newline = exports.NEWLINE[export_format]
        try:
            with out.open(
                "w", encoding=exports.ENCODING[export_format], errors="replace", newline=""
            ) as file:
                for line in lines:
                    file.write(line + newline)
        except OSError as error:
            fail(f"cannot write {str(out)!r}: {error.strerror}")
        typer.echo(f"wrote {out}", err=True)

    return app


def acting_on_database(container: Container) -> None:
    try:
        current = container.schema_is_current()
    except Exception as error:
        fail(f"cannot reach the database at {container.settings.database_url}: {error}")
    if not current:
        fail("the database schema is not current; run `evbill db upgrade` first")


def _all_entries(container: Container, who: Actor) -> Iterator[LedgerEntry]:
    after: str | None = None
    while True:
        page = queries.journal(container.services, who, after=after, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].id
