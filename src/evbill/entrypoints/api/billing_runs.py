"""/api/v1/billing-runs: start a month's billing run on the job queue, follow its progress.

``POST /billing-runs`` records a run (``queued``) and enqueues its planning job; ``evbill worker``
plans it (one job per contract cycle due in the month) and works it through. It answers 202 with
the run at once. ``GET /billing-runs`` lists the operator's runs, newest first;
``GET /billing-runs/{id}`` shows one with its counts (issued, already issued, skipped, failed,
pending), the issued totals per currency, its progress (0 to 1) and its charges at issue (cards
on file charged and declined, with amounts; invoices waiting for a direct debit file).
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from evbill.application.collection import at_issue
from evbill.application.invoicing import runs
from evbill.application.records import Services
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor
from evbill.domain.invoicing.runs import BillingRun, ItemStatus, RunStatus
from evbill.entrypoints.api.common import Cursor, Exact, Limit, PageOut, Strict
from evbill.entrypoints.api.security import actor, services

router = APIRouter(prefix="/billing-runs", tags=["billing runs"])


class BillingRunIn(Strict):
    period: str = Field(
        description="The month whose ended contract cycles are billed, e.g. 2026-10.",
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        examples=["2026-10"],
    )


class RunCountsOut(BaseModel):
    cycles: int = Field(description="Contract cycles due in the period (0 until the run is planned).")
    issued: int
    already_issued: int
    skipped: int
    failed: int
    pending: int
    uncollected: int = Field(
        default=0,
        description="Invoices of a run that collects at issue not yet through it (the run is done at 0).",
    )


class RunChargesOut(BaseModel):
    charged: int = Field(description="Invoices charged to the card on file at issue.")
    charged_amounts: dict[str, Exact] = Field(description="What was captured, per currency.")
    declined: int = Field(description="Charges at issue declined (retried on the collection policy).")
    declined_amounts: dict[str, Exact]
    direct_debit: int = Field(description="Invoices for the next SEPA direct debit file.")


def _amounts(minor: dict[str, int]) -> dict[str, Decimal]:
    return {c: Decimal(m).scaleb(-currencies.exponent(c)) for c, m in sorted(minor.items())}


def charges_out(charges: at_issue.RunCharges) -> RunChargesOut:
    return RunChargesOut(
        charged=charges.charged,
        charged_amounts=_amounts(charges.charged_minor),
        declined=charges.declined,
        declined_amounts=_amounts(charges.declined_minor),
        direct_debit=charges.direct_debit,
    )


class BillingRunOut(BaseModel):
    id: str
    period: str
    status: RunStatus = Field(
        description="queued (waiting for a worker), running, done (every cycle done and every invoice "
        "collected at issue: the counts and charges are final), interrupted (its process died; "
        "a new run for the period finishes the work)."
    )
    created_at: datetime
    planned_at: datetime | None
    finished_at: datetime | None
    counts: RunCountsOut
    progress: Exact = Field(description="Share of the cycles finished, 0 to 1.")
    totals_incl_vat: dict[str, Exact] = Field(description="Issued totals incl. VAT per currency.")
    charges: RunChargesOut | None = Field(
        default=None, description="The invoices collected at issue (GET of one run; null in lists)."
    )


def run_out(run: BillingRun) -> BillingRunOut:
    counts = run.counts
    total = counts.total
    progress = (
        (Decimal(counts.finished) / Decimal(total)).quantize(Decimal("0.0001"))
        if total
        else Decimal(run.progress)  # no cycles: 1 once done, 0 before
    )
    return BillingRunOut(
        id=run.id,
        period=run.period,
        status=run.status,
        created_at=run.created_at,
        planned_at=run.planned_at,
        finished_at=run.finished_at,
        counts=RunCountsOut(
            cycles=total,
            issued=counts.of(ItemStatus.ISSUED),
            already_issued=counts.of(ItemStatus.ALREADY_ISSUED),
            skipped=counts.of(ItemStatus.SKIPPED),
            failed=counts.of(ItemStatus.FAILED),
            pending=counts.of(ItemStatus.PENDING),
            uncollected=counts.uncollected,
        ),
        progress=progress,
        totals_incl_vat={
            currency: Decimal(minor).scaleb(-currencies.exponent(currency))
            for currency, minor in sorted(counts.issued_totals.items())
        },
    )


@router.post(
    "", status_code=202, response_model=BillingRunOut, summary="Start a billing run on the job queue"
)
def start_billing_run(
    body: BillingRunIn, request: Request, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> BillingRunOut:
    queue = request.app.state.container.queue
    return run_out(runs.enqueue_run(svc, who, queue, body.period))


@router.get("", response_model=PageOut[BillingRunOut], summary="The operator's billing runs, newest first")
def list_billing_runs(
    limit: Limit = 50, cursor: Cursor = None, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> PageOut[BillingRunOut]:
    page = runs.list_runs(svc, who, cursor=cursor, limit=limit)
    return PageOut[BillingRunOut](items=[run_out(run) for run in page.items], next_cursor=page.next_cursor)


@router.get("/{run_id}", response_model=BillingRunOut, summary="A billing run with its counts and progress")
def get_billing_run(
    run_id: str, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> BillingRunOut:
    found = run_out(runs.get_run(svc, who, run_id))
    found.charges = charges_out(at_issue.run_charges(svc, who, run_id))
    return found
