"""``evbill billing run`` and ``evbill worker``: the monthly billing run, here or on the job queue.

    evbill billing run --period 2026-10                  # every operator, in this process, progress bar
    evbill billing run --period 2026-10 --operator ID    # one operator
    evbill billing run --period 2026-10 --dry-run        # what would be issued; stores nothing
    evbill billing run --period 2026-10 --queue          # one job per contract for `evbill worker`
    evbill worker --workers 2                            # work through the queue (EVBILL_QUEUE_URL)

The summary counts what was issued, what was issued before, what was skipped and what failed (with
the reasons), and the issued totals per currency. The command exits 1 if any cycle failed: run it
again once the cause is fixed; what was issued stays issued and is not issued twice.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer

from evbill.application.access.keys import get_operator, platform_actor
from evbill.application.collection import at_issue
from evbill.application.invoicing import run_recovery, runs
from evbill.bootstrap import Container
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor
from evbill.domain.errors import DomainError
from evbill.domain.invoicing.profiles import IncompleteSeller
from evbill.domain.invoicing.runs import BillingRun, ItemStatus, RunItem, RunStatus, period_bounds
from evbill.entrypoints.cli.output import EXIT_INVALID, fail, write_json
from evbill.entrypoints.cli.records import Json, acting, call

POLL_SECONDS = 0.5


def _money(minor: int, currency: str) -> str:
    return format(Decimal(minor).scaleb(-currencies.exponent(currency)), "f")


def _per_currency(amounts: dict[str, int]) -> dict[str, str]:
    return {currency: _money(minor, currency) for currency, minor in sorted(amounts.items())}


def run_summary(
    run: BillingRun, failures: list[RunItem], charges: at_issue.RunCharges | None = None
) -> dict[str, Any]:
    counts = run.counts
    charges = charges or at_issue.RunCharges()
    return {
        "id": run.id,
        "operator_id": run.operator_id,
        "period": run.period,
        "status": run.status.value,
        "cycles": counts.total,
        "issued": counts.of(ItemStatus.ISSUED),
        "already_issued": counts.of(ItemStatus.ALREADY_ISSUED),
        "skipped": counts.of(ItemStatus.SKIPPED),
        "failed": counts.of(ItemStatus.FAILED),
        "pending": counts.of(ItemStatus.PENDING),
        "totals_incl_vat": {c: _money(total, c) for c, total in sorted(counts.issued_totals.items())},
        "charged": charges.charged,
        "charged_amounts": _per_currency(charges.charged_minor),
        "declined": charges.declined,
        "declined_amounts": _per_currency(charges.declined_minor),
        "direct_debit": charges.direct_debit,
        "problems": [
            {"contract_id": i.contract_id, "cycle_start": i.cycle_start.isoformat(), "status": i.status.value,
             "reason": i.reason}
            for i in failures
        ],
    }  # fmt: skip


SHOWN = 3  # contracts named per reason; a reason shared by many (say, the seller's data) is said once


def _print_summary(name: str, summary: dict[str, Any]) -> None:
    typer.echo(f"{name}, {summary['period']}: {summary['cycles']} cycle(s) due (run {summary['id']})")
    for key, label in (("issued", "issued"), ("already_issued", "already issued"), ("skipped", "skipped"),
                       ("failed", "failed")):  # fmt: skip
        typer.echo(f"  {label:<15}{summary[key]:>8}")
    by_reason: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for problem in summary["problems"]:
        by_reason.setdefault((problem["status"], problem["reason"] or ""), []).append(problem)
    for (status, reason), problems in by_reason.items():
        if len(problems) == 1:
            problem = problems[0]
            typer.echo(f"    {status}: contract {problem['contract_id']} cycle from "
                       f"{problem['cycle_start']}: {reason}")  # fmt: skip
            continue
        named = ", ".join(problem["contract_id"] for problem in problems[:SHOWN])
        more = f" and {len(problems) - SHOWN:,} more" if len(problems) > SHOWN else ""
        typer.echo(f"    {status}: {len(problems):,} cycles (contracts {named}{more}): {reason}")
    totals = ", ".join(f"{c} {amount}" for c, amount in summary["totals_incl_vat"].items()) or "nothing"
    typer.echo(f"  issued incl. VAT: {totals}")
    for key, label in (("charged", "charged to the card on file"), ("declined", "declined")):
        amounts = ", ".join(f"{c} {amount}" for c, amount in summary[f"{key}_amounts"].items())
        typer.echo(f"  {label}: {summary[key]}" + (f" ({amounts})" if amounts else ""))
    if summary["direct_debit"]:
        typer.echo(f"  for the next SEPA direct debit file: {summary['direct_debit']}")


def _problems(container: Container, who: Actor, run_id: str) -> list[RunItem]:
    items = runs.run_items(container.services, who, run_id)
    return [item for item in items if item.status in (ItemStatus.SKIPPED, ItemStatus.FAILED)]


def _progress(quiet: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), disable=quiet, transient=False)  # fmt: skip


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def process_alive(owner: str) -> bool | None:
    """Whether the process "host:pid" runs (None: on another host, this one cannot tell)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # there, but another user's
        return True
    return True


def _here(container: Container, who: Actor, name: str, period: str, quiet: bool) -> BillingRun:
    for dead in run_recovery.interrupt_dead(container.services, who, period, process_alive):
        typer.echo(
            f"run {dead.id} of {period} was interrupted (its process is gone); finishing its work", err=True
        )
    with _progress(quiet) as progress:
        task = progress.add_task(f"billing {name} {period}", total=None)
        return runs.run_billing(
            container.services, who, period,
            on_planned=lambda total: progress.update(task, total=total),
            on_item=lambda item: progress.advance(task),
            after_chunk=lambda items: at_issue.charge_issued(
                container.services,
                container.payment_gateway,
                who,
                at_issue.issued_invoices(items),
                at_issue.issued_contracts(items),
            ),
            owner=this_process(),
        )  # fmt: skip


def _on_queue(container: Container, who: Actor, name: str, period: str, quiet: bool) -> BillingRun:
    run = runs.enqueue_run(container.services, who, container.queue, period)
    with _progress(quiet) as progress:
        task = progress.add_task(f"{name} {period} on the queue (run by `evbill worker`)", total=None)
        while run.status is not RunStatus.DONE:
            time.sleep(POLL_SECONDS)
            run = runs.get_run(container.services, who, run.id)
            if run.status is RunStatus.RUNNING:
                progress.update(task, total=run.counts.total, completed=run.counts.finished)
                if run.counts.total and run.counts.finished == run.counts.total and run.counts.uncollected:
                    waiting = f"{name} {period}: collecting {run.counts.uncollected} invoice(s)"
                    progress.update(task, description=waiting)
        progress.update(task, total=run.counts.total, completed=run.counts.finished)
    return run


def _render(container: Container, who: Actor, run: BillingRun, quiet: bool) -> None:
    issued = [i for i in runs.run_items(container.services, who, run.id) if i.status is ItemStatus.ISSUED]
    with _progress(quiet) as progress:
        task = progress.add_task("rendering PDF / Factur-X", total=len(issued))
        for item in issued:
            if item.invoice_id is not None:
                runs.render_document(container.services, who, container.documents, item.invoice_id)
            progress.advance(task)


def _dry_run(container: Container, who: Actor, name: str, period: str, json: bool) -> dict[str, Any]:
    previews = call(lambda: runs.preview_run(container.services, who, period))
    gaps = call(lambda: runs.seller_gaps(container.services, who))
    warnings = [IncompleteSeller(gaps).message] if gaps else []
    rows = []
    for due, bill, verdict in previews:
        excl = None if bill is None else bill.total_excl_vat
        vat = None if bill is None else bill.total_vat
        rows.append(
            {
                "contract_id": due.contract_id,
                "cycle_start": due.cycle_start.isoformat(),
                "cycle_end": due.cycle_end.isoformat(),
                "outcome": verdict,
                "currency": None if bill is None else bill.currency,
                "excl_vat": excl,
                "vat": vat,
                "lines": 0 if bill is None else len(bill.lines),
            }
        )
    if not json:
        typer.echo(f"{name}, {period} (dry run, nothing stored): {len(rows)} cycle(s) due")
        for warning in warnings:
            typer.echo(f"  warning: no invoice can be issued: {warning}")
            for gap in gaps:
                typer.echo(f"    {gap.path}: {gap.message}")
        for row in rows:
            amount = "" if row["excl_vat"] is None else f" {row['currency']} {row['excl_vat']:.2f} excl. VAT"
            typer.echo(
                f"  {row['contract_id']} {row['cycle_start']}..{row['cycle_end']}: {row['outcome']}{amount}"
            )
    return {"operator_id": who.operator_id, "period": period, "dry_run": True, "warnings": warnings,
            "cycles": rows}  # fmt: skip


def register(app: typer.Typer, container: Container) -> None:
    billing = typer.Typer(help="Billing runs: issue every invoice due for a month.", no_args_is_help=True)

    @billing.command("run")
    def run(
        period: Annotated[str, typer.Option(help="The month whose ended cycles are billed, e.g. 2026-10.")],
        operator: Annotated[
            list[str] | None, typer.Option("--operator", help="Only this operator (repeatable); default all.")
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Show what would be issued; store nothing.")
        ] = False,
        queue: Annotated[
            bool,
            typer.Option("--queue", help="Enqueue one job per contract for `evbill worker`; show progress."),
        ] = False,
        render: Annotated[
            bool, typer.Option(help="Render each issued invoice's PDF and Factur-X once and keep them.")
        ] = True,
        json: Json = False,
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    ) -> None:
        """Bill every contract cycle that ended in the period, once: record the bill, issue the invoice."""
        try:
            period_bounds(period, "--period")
        except DomainError as error:
            fail(f"--period {period!r} is not a month like 2026-10")
            raise AssertionError from error
        if operator:
            actors = [acting(container, operator_id) for operator_id in operator]
        else:
            acting_any(container)
            actors = [
                platform_actor(operator_id) for operator_id in runs.all_operator_ids(container.services)
            ]
        reports, failed = [], False
        for who in actors:
            name = call(lambda who=who: get_operator(container.services, who)).name  # type: ignore[misc]
            if dry_run:
                reports.append(_dry_run(container, who, name, period, json))
                continue
            finished = call(
                lambda who=who, name=name: (_on_queue if queue else _here)(  # type: ignore[misc]
                    container, who, name, period, quiet or json
                )
            )
            if render and not queue:
                _render(container, who, finished, quiet or json)
            charges = at_issue.run_charges(container.services, who, finished.id)
            summary = run_summary(finished, _problems(container, who, finished.id), charges)
            failed = failed or summary["failed"] > 0
            reports.append(summary)
            if not json:
                _print_summary(name, summary)
        if json:
            write_json(reports)
        if failed:
            raise typer.Exit(EXIT_INVALID)

    app.add_typer(billing, name="billing")

    @app.command("worker")
    def worker(
        workers: Annotated[int, typer.Option(min=1, max=64, help="Worker threads in this process.")] = 1,
        stale_after: Annotated[
            int,
            typer.Option(
                min=1,
                help="Seconds without progress before a queued run's pending work is enqueued again.",
            ),
        ] = int(run_recovery.STALE_AFTER.total_seconds()),
    ) -> None:
        """Run queued jobs (billing runs, rendering) from EVBILL_QUEUE_URL until stopped."""
        from evbill.entrypoints.jobs import billing as billing_jobs

        acting_any(container)
        billing_jobs.register(container)
        url = container.settings.queue_url or "an SQLite file beside the database"
        typer.echo(f"evbill worker: {workers} thread(s) on {url} ({container.settings.queue_name})", err=True)
        _watch_stalled_runs(container, timedelta(seconds=stale_after))
        container.queue.run_worker(workers=workers)


def _watch_stalled_runs(container: Container, stale_after: timedelta) -> None:
    """Now and then (at start-up, then every minute or ``stale_after`` if shorter), enqueue again the
    work of queued runs that stalled: a job taken by a worker killed with -9 is gone from the queue."""
    every = min(60.0, stale_after.total_seconds())

    def requeue() -> None:
        try:
            count = run_recovery.requeue_stalled(container.services, container.queue, stale_after=stale_after)
        except Exception as error:  # the database away for a moment: the next round tries again
            typer.echo(f"evbill worker: cannot look for stalled billing runs: {error}", err=True)
            return
        if count:
            typer.echo(f"evbill worker: {count} item(s) of stalled billing runs enqueued again", err=True)

    def loop() -> None:
        while True:
            requeue()
            time.sleep(every)

    threading.Thread(target=loop, name="evbill-stalled-runs", daemon=True).start()


def acting_any(container: Container) -> None:
    try:
        current = container.schema_is_current()
    except Exception as error:
        fail(f"cannot reach the database at {container.settings.database_url}: {error}")
    if not current:
        fail("the database schema is not current; run `evbill db upgrade` first")
