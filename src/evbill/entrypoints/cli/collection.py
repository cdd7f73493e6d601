"""``evbill payments ...``: getting paid by bank transfer, direct debit and collection.

    evbill payments import-statement camt053.xml --operator ID [--format camt053|csv] [--json]
    evbill payments sepa-file --operator ID --collection-date 2026-12-10 \\
        --creditor-id NL98ZZZ999999999999 --out debits.xml
    evbill payments collect [--operator ID] [--now 2026-12-20T06:00:00Z]
    evbill payments mandate-add --operator ID --customer C --reference M-1 --iban NL.. --signed-on 2026-11-01
    evbill payments card-save --operator ID --customer C --payment-method tok_visa
    evbill payments policy-set --operator ID --retry-days 1,3,7,14 --reminder-days 1,7 --suspend-after 21
    evbill payments write-off INVOICE_ID --operator ID --reason "customer insolvent"

``import-statement --json`` prints ``{"lines": [...], "counts": {...}}``; each line has ``entry_key``,
``outcome`` (matched, partial, overpaid, unmatched, duplicate, ignored), ``amount``, ``currency``,
``invoice_number``, ``applied``, ``excess`` (decimal strings) and ``suggested_invoice_number``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from evbill.application.collection import charges, direct_debit, dunning
from evbill.application.collection.statements import ImportedLine, import_statement
from evbill.bootstrap import Container
from evbill.domain import currency as currencies
from evbill.domain.collection.policy import CollectionPolicy
from evbill.domain.collection.statements import Outcome, StatementFormat
from evbill.entrypoints.cli.ledger import acting_on_database
from evbill.entrypoints.cli.output import EXIT_INVALID, fail, write_json
from evbill.entrypoints.cli.records import Json, OperatorId, acting, call, parse_moment

HELP = "Getting paid: bank statements, SEPA direct debit, card collection, reminders, write-offs."


def register(app: typer.Typer, container: Container) -> None:
    app.add_typer(build(container), name="payments")


def _exact(minor: int, currency: str) -> str:
    places = currencies.exponent(currency)
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def _line(line: ImportedLine) -> dict[str, Any]:
    return {
        "entry_key": line.entry_key,
        "outcome": line.outcome.value,
        "amount": _exact(line.amount_minor, line.currency),
        "currency": line.currency,
        "invoice_number": line.invoice_number,
        "matched_by": None if line.matched_by is None else line.matched_by.value,
        "applied": _exact(line.applied_minor, line.currency),
        "excess": _exact(line.excess_minor, line.currency),
        "customer_id": line.customer_id,
        "suggested_invoice_number": line.suggested_invoice_number,
        "counterparty_name": line.counterparty_name,
        "remittance": line.remittance,
        "reason": line.reason,
        "where": line.where,
    }


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date (YYYY-MM-DD)")


def _days(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        fail(f"{option} {text!r} is not a list of whole days, e.g. 1,3,7")


def build(container: Container) -> typer.Typer:
    app = typer.Typer(help=HELP, no_args_is_help=True)

    @app.command("import-statement")
    def import_statement_command(
        file: Annotated[Path, typer.Argument(help="A camt.053 XML or CSV statement.")],
        operator: OperatorId,
        statement_format: Annotated[
            StatementFormat | None, typer.Option("--format", help="camt053 or csv; default: by content.")
        ] = None,
        json: Json = False,
    ) -> None:
        """Import a bank statement: match credits to invoices, report what could not be matched."""
        who = acting(container, operator)
        try:
            data = file.read_bytes()
        except OSError as error:
            fail(f"cannot read {str(file)!r}: {error.strerror}")
        chosen = statement_format or (
            StatementFormat.CAMT053 if data.lstrip().startswith(b"<") else StatementFormat.CSV
        )
        report = call(
            lambda: import_statement(container.services, container.statement_reader, who, data, chosen)
        )
        counts = {outcome.value: report.count(outcome) for outcome in Outcome}
        if json:
            lines = [_line(line) for line in report.lines]
            write_json({"lines": lines, "counts": counts, "skipped": report.skipped_reasons()})
            return
        for line in report.lines:
            shown = _line(line)
            target = line.invoice_number or (
                f"suggest {line.suggested_invoice_number}" if line.suggested_invoice_number else "-"
            )
            extra = f" (credit {shown['excess']} to the customer)" if line.excess_minor else ""
            if line.reason:
                extra = f" ({line.where}: {line.reason}; not posted)"
            amount = f"{shown['amount']:>12} {line.currency}"
            typer.echo(f"{line.outcome.value:9} {amount} {line.entry_key} {target}{extra}")
        typer.echo(", ".join(f"{count} {name}" for name, count in counts.items() if count))
        for reason, count in report.skipped_reasons().items():
            typer.echo(f"skipped {count}: {reason}")

    @app.command("sepa-file")
    def sepa_file(
        operator: OperatorId,
        collection_date: Annotated[str, typer.Option("--collection-date", help="YYYY-MM-DD, after today.")],
        creditor_id: Annotated[str, typer.Option("--creditor-id", help="The SEPA creditor identifier.")],
        out: Annotated[Path, typer.Option("--out", help="The pain.008 file to write.")],
    ) -> None:
        """Write a SEPA direct debit file (pain.008) for the open invoices of customers with a mandate."""
        who = acting(container, operator)
        day = _day(collection_date, "--collection-date")

        def deliver(data: bytes) -> None:
            try:
                out.write_bytes(data)
            except OSError as error:
                fail(f"cannot write {str(out)!r}: {error.strerror}")

        made = call(
            lambda: direct_debit.sepa_collection(
                container.services, container.direct_debit_writer, who, collection_date=day,
                creditor_id=creditor_id, deliver=deliver,
            )
        )  # fmt: skip
        if made.message_id is None:
            typer.echo("nothing to collect: no open invoice of a customer with a mandate")
            return
        typer.echo(f"wrote {out}: {made.invoices} invoice(s), {_exact(made.total_minor, 'EUR')} EUR")

    @app.command()
    def collect(
        operator: Annotated[
            list[str] | None, typer.Option("--operator", help="Only this operator (repeatable); default all.")
        ] = None,
        now: Annotated[
            str | None, typer.Option("--now", help="Act as of this RFC 3339 moment (default: now).")
        ] = None,
        json: Json = False,
    ) -> None:
        """Run what is due: retries of failed charges, reminders, suspensions and reinstatements."""
        for operator_id in operator or ():
            acting(container, operator_id)
        if not operator:
            acting_on_database(container)
        moment = None if now is None else parse_moment(now, "--now")
        run = call(
            lambda: dunning.run_collection(
                container.services, container.payment_gateway, container.mailer, operator_ids=operator,
                now=moment,
            )
        )  # fmt: skip
        figures = {
            "marked_overdue": run.marked_overdue, "charged": run.charged, "declined": run.declined,
            "reminders": run.reminders, "suspended": run.suspended, "reinstated": run.reinstated,
        }  # fmt: skip
        if json:
            write_json({**figures, "problems": run.problems})
        else:
            typer.echo(", ".join(f"{name.replace('_', ' ')} {count}" for name, count in figures.items()))
        for problem in run.problems:
            typer.echo(f"error: {problem}", err=True)
        if run.problems:
            raise typer.Exit(EXIT_INVALID)

    @app.command("mandate-add")
    def mandate_add(
        operator: OperatorId,
        customer: Annotated[str, typer.Option("--customer", help="The customer's id.")],
        reference: Annotated[str, typer.Option("--reference", help="The mandate reference (<= 35).")],
        iban: Annotated[str, typer.Option("--iban", help="The debtor's IBAN.")],
        signed_on: Annotated[str, typer.Option("--signed-on", help="YYYY-MM-DD.")],
        name: Annotated[str | None, typer.Option("--name", help="The account holder.")] = None,
    ) -> None:
        """Record a customer's signed SEPA direct debit mandate (the IBAN is checked)."""
        who = acting(container, operator)
        day = _day(signed_on, "--signed-on")
        mandate = call(
            lambda: direct_debit.add_mandate(
                container.services, who, container.ibans, customer_id=customer, reference=reference,
                iban=iban, signed_on=day, debtor_name=name,
            )
        )  # fmt: skip
        typer.echo(mandate.id)

    @app.command("card-save")
    def card_save(
        operator: OperatorId,
        customer: Annotated[str, typer.Option("--customer", help="The customer's id.")],
        payment_method: Annotated[str, typer.Option("--payment-method", help="A gateway token.")],
    ) -> None:
        """Save a customer's card on file (a gateway token) to charge their invoices with."""
        who = acting(container, operator)
        gateway = container.payment_gateway.name
        call(
            lambda: charges.save_card(
                container.services, who, customer, gateway=gateway, payment_method=payment_method
            )
        )
        typer.echo(f"saved for {customer}")

    @app.command("policy-set")
    def policy_set(
        operator: OperatorId,
        retry_days: Annotated[
            str, typer.Option("--retry-days", help="Days after the first charge to retry, e.g. 1,3,7,14.")
        ] = "1,3,7,14",
        reminder_days: Annotated[
            str, typer.Option("--reminder-days", help="Days after the due date to remind, e.g. 1,7,14.")
        ] = "1,7,14",
        suspend_after: Annotated[
            int | None, typer.Option("--suspend-after", help="Days overdue before tokens are suspended.")
        ] = 21,
    ) -> None:
        """Set the operator's collection policy: retries, reminders, suspension."""
        who = acting(container, operator)
        policy = CollectionPolicy(
            retry_days=_days(retry_days, "--retry-days"),
            reminder_days=_days(reminder_days, "--reminder-days"),
            suspend_after_days=suspend_after,
        )
        saved = call(lambda: dunning.save_policy(container.services, who, policy))
        typer.echo(
            f"retries on days {list(saved.retry_days)}, reminders {list(saved.reminder_days)} days after due,"
            f" suspension after {saved.suspend_after_days} days overdue"
        )

    @app.command("write-off")
    def write_off(
        invoice: Annotated[str, typer.Argument(help="The invoice's id.")],
        operator: OperatorId,
        reason: Annotated[str, typer.Option("--reason", help="Why it is given up.")],
    ) -> None:
        """Write off what is still open on an invoice (ledger: write-off expense, receivable)."""
        who = acting(container, operator)
        document = call(lambda: dunning.write_off_document(container.services, who, invoice, reason))
        typer.echo(f"{document.number}: {document.status.value}")

    return app
