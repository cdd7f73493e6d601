"""Billing runs whose process died part way (kill -9, a crash, a lost machine) are finished or told so.

* a queued run (worked by `evbill worker`): a job huey had taken when its worker was killed is gone
  from the queue, and its items would stay PENDING for good. ``requeue_stalled`` (at `evbill worker`
  start-up and every minute in it) enqueues again the pending items of every RUNNING queued run with
  no progress for ``stale_after`` (and the planning of a QUEUED one not planned for as long). The
  jobs are idempotent: a chunk's job does only its items still PENDING, and an item's first outcome
  stands (a duplicate job's is not written), so enqueuing twice costs a look, never a second invoice.
  A run whose items are all done but whose invoices wait for a charge job that was lost gets that
  job again (for its items not yet collected); it charges each invoice once (its idempotency keys).
* a run worked in place (`evbill billing run`) records its process as ``owner`` ("host:pid"). When a
  run for the same operator and period starts, ``interrupt_dead`` marks each earlier one still
  RUNNING whose process is gone (``alive`` says so; a process on another host, or a run without
  owner, counts as gone after ``stale_after`` without progress) INTERRUPTED; the new run finishes
  the work (what was issued stays issued and is not issued again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from evbill.application.invoicing.runs import CHARGE_JOB, CHUNK, CHUNK_JOB, PLAN_JOB, JobQueue, chunked
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.invoicing.runs import BillingRun, ItemStatus, RunItem, RunStatus

STALE_AFTER = timedelta(minutes=5)


def _chunk_payload(run: BillingRun, items: Sequence[RunItem]) -> Mapping[str, str]:
    return {
        "operator_id": run.operator_id,
        "run_id": run.id,
        "items": " ".join(f"{item.contract_id}@{item.cycle_start.isoformat()}" for item in items),
    }


def _charge_payload(run: BillingRun, items: Sequence[RunItem]) -> Mapping[str, str]:
    return {
        "operator_id": run.operator_id,
        "run_id": run.id,
        "invoices": " ".join(item.invoice_id or "" for item in items),
        "contracts": " ".join(item.contract_id for item in items),
    }


def requeue_stalled(services: Services, queue: JobQueue, *, stale_after: timedelta = STALE_AFTER) -> int:
    """Platform-wide (the worker's own housekeeping, no actor): enqueue again the work of queued runs
    with no progress for ``stale_after``; how many items (and plannings) were enqueued."""
    now = services.clock.now()
    plans: list[BillingRun] = []
    chunks: list[tuple[BillingRun, Sequence[RunItem]]] = []
    charges: list[tuple[BillingRun, Sequence[RunItem]]] = []
    with services.uow(read_only=True) as uow:
        for run in uow.billing_runs.running():
            if not run.queued:
                continue
            last = uow.billing_runs.last_progress(run.id) or run.planned_at or run.created_at
            if now - last < stale_after:
                continue
            if run.status is RunStatus.QUEUED:
                plans.append(run)
                continue
            pending = uow.billing_runs.items(run.id, status=ItemStatus.PENDING)
            if pending:
                chunks.append((run, pending))
            elif run.collects:  # every item done, but a charge job lost: its invoices wait
                uncollected = uow.billing_runs.uncollected(run.id)
                if uncollected:
                    charges.append((run, uncollected))
    for run in plans:
        queue.enqueue(PLAN_JOB, {"operator_id": run.operator_id, "run_id": run.id})
    for run, pending in chunks:
        for chunk in chunked(pending, first=CHUNK):
            queue.enqueue(CHUNK_JOB, _chunk_payload(run, chunk))
    for run, uncollected in charges:
        for chunk in chunked(uncollected, first=CHUNK):
            queue.enqueue(CHARGE_JOB, _charge_payload(run, chunk))
    return len(plans) + sum(len(items) for _, items in (*chunks, *charges))


def interrupt_dead(
    services: Services,
    actor: Actor,
    period: str,
    alive: Callable[[str], bool | None],
    *,
    stale_after: timedelta = STALE_AFTER,
) -> list[BillingRun]:
    """Mark INTERRUPTED the operator's runs of ``period`` worked in place whose process is gone;
    ``alive(owner)`` is True/False, or None when it cannot tell (another host): then a run without
    progress for ``stale_after`` is taken for gone. The runs so marked."""
    require(actor, Permission.BILL)
    now = services.clock.now()
    marked: list[BillingRun] = []
    with services.uow() as uow:
        for run in uow.billing_runs.running(actor.operator_id, period):
            if run.queued:
                continue
            living = None if run.owner is None else alive(run.owner)
            if living is None:
                last: datetime = uow.billing_runs.last_progress(run.id) or run.planned_at or run.created_at
                living = now - last < stale_after
            if living:
                continue
            uow.billing_runs.set_status(actor.operator_id, run.id, RunStatus.INTERRUPTED, at=now)
            marked.append(run)
        uow.commit()
    return marked
