"""``evbill customer|token|import``: customers, their tokens, and importing both from CSV.

Every command acts as the platform for one operator (``--operator ID``) and prints ids, one line per
record, or JSON with ``--json``. Bad input is a plain ``error:`` line and exit status 1:

    evbill import customers customers.csv --operator 0190...

An import stores every row of the file or none: with a bad row, every problem is printed with its
line and column and nothing is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from evbill.application import records
from evbill.application.offers import imports as imports
from evbill.application.offers.customers import CUSTOMERS, TOKENS, create_customer
from evbill.bootstrap import Container
from evbill.domain.offers.customers import CustomerKind, TokenStatus, TokenType
from evbill.entrypoints.cli.output import fail, write_json
from evbill.entrypoints.cli.records import (
    Json,
    Moment,
    OperatorId,
    Text,
    acting,
    all_records,
    call,
    parse_optional_moment,
    present,
    show_created,
    show_list,
)


def register(app: typer.Typer, container: Container) -> None:
    app.add_typer(_customer_app(container), name="customer")
    app.add_typer(_token_app(container), name="token")
    app.add_typer(_import_app(container), name="import")


# Customers and tokens


def _customer_app(container: Container) -> typer.Typer:
    app = typer.Typer(help="Customers: drivers and business accounts (fleets).", no_args_is_help=True)

    @app.command("create")
    def create(
        operator_id: OperatorId,
        name: Annotated[str, typer.Option(help="The customer's name.")],
        currency: Annotated[str, typer.Option(help="ISO 4217, e.g. EUR.")],
        country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2, e.g. NL.")],
        language: Annotated[str, typer.Option(help="ISO 639-1, e.g. nl.")] = "en",
        kind: Annotated[CustomerKind, typer.Option(help="INDIVIDUAL or BUSINESS.")] = CustomerKind.INDIVIDUAL,
        email: Text = None,
        address: Text = None,
        city: Text = None,
        postal_code: Text = None,
        vat_id: Annotated[
            str | None, typer.Option(help="Checked for the country, stored normalised.")
        ] = None,
        parent_id: Annotated[str | None, typer.Option(help="A fleet driver's business account.")] = None,
        json: Json = False,
    ) -> None:
        """Create a customer; prints its id."""
        who = acting(container, operator_id)
        fields = {
            "kind": kind, "name": name, "email": email, "language": language, "currency": currency,
            "country": country, "address": address, "city": city, "postal_code": postal_code,
            "vat_id": vat_id, "parent_id": parent_id,
        }  # fmt: skip
        show_created(call(lambda: create_customer(container.services, who, fields)), json)

    @app.command("list")
    def list_(
        operator_id: OperatorId,
        kind: Annotated[CustomerKind | None, typer.Option()] = None,
        email: Text = None,
        name: Annotated[str | None, typer.Option(help="Part of the name.")] = None,
        parent_id: Text = None,
        json: Json = False,
    ) -> None:
        """List customers: id, kind, name, e-mail."""
        who = acting(container, operator_id)
        filters = present({"kind": kind, "email": email, "name": name, "parent_id": parent_id})
        items = all_records(container.services, who, CUSTOMERS, filters)
        show_list(items, json, lambda c: f"{c.id}  {c.kind.value}  {c.name}  {c.email or '-'}")

    return app


def _token_app(container: Container) -> typer.Typer:
    app = typer.Typer(help="Tokens: the RFID cards and app ids customers charge with.", no_args_is_help=True)

    @app.command("create")
    def create(
        operator_id: OperatorId,
        customer_id: Annotated[str, typer.Option(help="The customer the token belongs to.")],
        uid: Annotated[str, typer.Option(help="What the reader sees (unique per operator).")],
        contract_id: Annotated[str, typer.Option(help="The eMA id, e.g. NL-EVB-C12345678-X.")],
        type_: Annotated[TokenType, typer.Option("--type")] = TokenType.RFID,
        status: Annotated[TokenStatus, typer.Option()] = TokenStatus.ACTIVE,
        valid_until: Moment = None,
        json: Json = False,
    ) -> None:
        """Create a token; prints its id."""
        who = acting(container, operator_id)
        fields = {
            "customer_id": customer_id, "uid": uid, "type": type_, "contract_id": contract_id,
            "status": status, "valid_until": parse_optional_moment(valid_until, "--valid-until"),
        }  # fmt: skip
        show_created(call(lambda: records.create(container.services, who, TOKENS, fields)), json)

    @app.command("list")
    def list_(
        operator_id: OperatorId,
        customer_id: Text = None,
        status: Annotated[TokenStatus | None, typer.Option()] = None,
        json: Json = False,
    ) -> None:
        """List tokens: id, uid, status, customer."""
        who = acting(container, operator_id)
        items = all_records(
            container.services, who, TOKENS, present({"customer_id": customer_id, "status": status})
        )
        show_list(items, json, lambda t: f"{t.id}  {t.uid}  {t.status.value}  {t.customer_id}")

    return app


# Imports


def _import_app(container: Container) -> typer.Typer:
    app = typer.Typer(help="Import customers or tokens from CSV: every row, or none.", no_args_is_help=True)

    def run(path: Path, operator_id: str, json: bool, use_case: Any, what: str) -> None:
        who = acting(container, operator_id)
        text = _read_csv(path)
        report: imports.ImportReport = call(lambda: use_case(container.services, who, text), str(path))
        if json:
            problems = [{"line": p.line, "column": p.column, "message": p.message} for p in report.problems]
            write_json({"imported": report.imported, "problems": problems})
        elif report.ok:
            typer.echo(f"imported {report.imported} {what}")
        if not report.ok:
            if not json:
                typer.echo(
                    f"error: {path}: {len(report.problems)} problem(s); nothing was imported", err=True
                )
                for problem in report.problems:
                    typer.echo(f"  {problem}", err=True)
            raise typer.Exit(1)

    @app.command("customers")
    def customers(
        path: Annotated[
            Path, typer.Argument(metavar="FILE.csv", help="Columns: see `evbill import --help`.")
        ],
        operator_id: OperatorId,
        json: Json = False,
    ) -> None:
        """Import customers (kind,name,email,language,currency,country,address,city,postal_code,vat_id,
        parent_email)."""
        run(path, operator_id, json, imports.import_customers_csv, "customers")

    @app.command("tokens")
    def tokens(
        path: Annotated[Path, typer.Argument(metavar="FILE.csv")], operator_id: OperatorId, json: Json = False
    ) -> None:
        """Import tokens (uid,type,contract_id,customer_email,status,valid_until)."""
        run(path, operator_id, json, imports.import_tokens_csv, "tokens")

    return app


def _read_csv(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        fail(f"CSV file {str(path)!r} does not exist")
    except IsADirectoryError:
        fail(f"CSV file {str(path)!r} is a directory")
    except UnicodeDecodeError as error:
        fail(f"CSV file {str(path)!r} is not UTF-8 text: {error}")
    except OSError as error:
        fail(f"cannot read CSV file {str(path)!r}: {error.strerror}")
