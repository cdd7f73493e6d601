"""Use cases: the billing run. Every contract cycle due in a month, billed and invoiced exactly once.

    run = start_run(services, actor, "2026-10", queued=False)
    for chunk in chunked(plan_run(services, actor, run.id)):
        invoice_chunk(services, actor, chunk)         # or enqueued, one job per chunk

Why it is exactly once, whatever happens:

* the bill of a (contract, cycle start) is recorded once (``record_bill``: unique key on ``bills``);
* its invoice is made once (``invoice_bill``: unique key on ``invoices`` (operator, bill)); the draft,
  the gapless number (taken under the counter's row lock), the issued document, the ledger entry and
  the bill marked invoiced are one transaction, so a crash anywhere leaves all of it or none of it;
* a rerun (or a second run at the same moment) finds the recorded bill and the issued invoice and
  says ALREADY_ISSUED; a concurrent issuer that loses the race on the unique key does the same.

A chunk of items is done in one transaction (``invoice_chunk``): all of it commits or none, and when
anything in it fails it is rolled back and its items are done one by one (``invoice_item``), so each
guarantee above holds for the chunk as for one item.

Generation that fails (an error while making the document) leaves a FAILED document for the bill with
the reason; the next run makes it again as a new draft in its place (``invoice_bill``).

An operator whose seller data is incomplete (``profiles.seller_problems``) gets no invoice at all: each
bill is recorded and its document kept FAILED with the reason naming the missing fields, and no number
is taken; once the profile is saved the next run issues them (numbered on from where the series was).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from evbill.application.billing.cycle import (
    bill_contract,
    prefetch,
    prefetch_sessions,
    record_bill,
    record_bill_in,
)
from evbill.application.charging.pricing import most_common_zone
from evbill.application.invoicing.documents import draft_in, issue_bill, issue_in, missing_seller_data
from evbill.application.ports import UnitOfWork
from evbill.application.records import Page, Services, checked_limit, page_of, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.billing.anchoring import cycle_of, cycles_starting_in
from evbill.domain.billing.cycle import Bill
from evbill.domain.billing.records import RecordedBill
from evbill.domain.errors import Conflict, DomainError, InvalidInput, NotFound, Problem
from evbill.domain.invoicing.compose import Composed, Totals
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus, Party
from evbill.domain.invoicing.profiles import IncompleteSeller
from evbill.domain.invoicing.runs import (
    BillingRun,
    DueCycle,
    ItemStatus,
    RunItem,
    RunStatus,
    ends_in_period,
    period_bounds,
)
from evbill.domain.invoicing.tax import TaxMode
from evbill.domain.offers.contracts import Contract, ContractStatus, ContractTerms

T = TypeVar("T")
PLAN_JOB = "billing.plan"
INVOICE_JOB = "billing.invoice"
CHUNK_JOB = "billing.invoice_chunk"
RENDER_JOB = "documents.render"
# collecting the issued invoices (card on file charged): ``collection.at_issue``, one job per chunk,
# enqueued once the chunk's transaction has committed. Its payload: operator_id, run_id, invoices.
CHARGE_JOB = "collection.charge_issued"
RENDERED_FORMATS = ("pdf", "facturx")
PAGE = 200
# A run works in chunks of items, each chunk one transaction: the first chunks small (a run shows
# progress at once, and a crash early loses little work), then doubling up to CHUNK.
FIRST_CHUNK, CHUNK = 8, 256
# ... and a chunk's transaction is cut short after about two seconds (the rest goes in the next one): the
# run holds the numbering lock (and on SQLite the database's write lock) only that long at a time.
CHUNK_SECONDS = 2.0
# The sessions of the next SESSIONS_AHEAD cycles are read at once (two statements instead of two each).
SESSIONS_AHEAD = 32


class JobQueue(Protocol):
    """Where long work goes: a real queue (``adapters.queue``) worked through by ``evbill worker``."""

    def enqueue(self, job: str, payload: Mapping[str, str]) -> None: ...


class Renderer(Protocol):
    def render(self, document: Document, document_format: str) -> bytes: ...


# --- which cycles are due ------------------------------------------------------------------------


def _zone_name(uow: UnitOfWork, operator_id: str) -> str:
    locations = uow.locations.list(operator_id, filters={}, after=None, limit=PAGE)
    return most_common_zone([location.time_zone for location in locations])


def _contracts(uow: UnitOfWork, operator_id: str) -> Iterable[tuple[Contract, Sequence[ContractTerms]]]:
    """The operator's contracts with their terms, a page at a time (one look for a page's terms)."""
    after = None
    while True:
        page = uow.contracts.list(operator_id, filters={}, after=after, limit=PAGE)
        terms = uow.contract_terms.of_contracts(operator_id, [contract.id for contract in page])
        yield from ((contract, terms[contract.id]) for contract in page)
        if len(page) < PAGE:
            return
        after = page[-1].id


def _terms_on(terms: Sequence[ContractTerms], day: datetime) -> ContractTerms:
    started = [t for t in terms if t.effective_from <= day]
    return (
        max(started, key=lambda t: t.effective_from)
        if started
        else min(terms, key=lambda t: t.effective_from)
    )


def _due_of(
    contract: Contract, terms: Sequence[ContractTerms], zone: str, bounds: tuple[date, date], today: date
) -> list[DueCycle]:
    tz = ZoneInfo(zone)
    anchor = contract.start.astimezone(tz).date()
    last_day = None if contract.end is None else contract.end.astimezone(tz).date()
    first, after = bounds
    due = []
    # Cycles ending in (first, after] start at most a month (31 days) before ``first``.
    cycle = _terms_on(terms, datetime.combine(first, datetime.min.time(), tz)).billing_cycle
    for start in cycles_starting_in(anchor, cycle, first - timedelta(days=31), after):
        end = cycle_of(anchor, cycle, start)[1]
        if not ends_in_period(end, bounds) or end > today:
            continue
        if last_day is not None and start >= last_day:
            continue
        due.append(DueCycle(contract.id, contract.customer_id, start, end))
    return due


def due_cycles(services: Services, actor: Actor, period: str) -> list[DueCycle]:
    """The cycles of the operator's contracts (not drafts) that ended in ``period`` and are over."""
    require(actor, Permission.READ)
    bounds = period_bounds(period)
    with services.uow(read_only=True) as uow:
        zone = _zone_name(uow, actor.operator_id)
        today = services.clock.now().astimezone(ZoneInfo(zone)).date()
        due: list[DueCycle] = []
        for contract, terms in _contracts(uow, actor.operator_id):
            if contract.status is ContractStatus.DRAFT:
                continue
            if terms:
                due.extend(_due_of(contract, terms, zone, bounds, today))
    return due


# --- the run record ------------------------------------------------------------------------------


def start_run(
    services: Services,
    actor: Actor,
    period: str,
    *,
    queued: bool,
    owner: str | None = None,
    collects: bool = False,
) -> BillingRun:
    """Record a new run (QUEUED); nothing is billed yet. ``owner``: the process working it in place;
    ``collects``: its invoices are collected at issue, and it is done only once they all were."""
    require(actor, Permission.BILL)
    period_bounds(period)
    run = BillingRun(
        services.ids.new_id(), actor.operator_id, period, RunStatus.QUEUED, queued, services.clock.now(),
        owner=owner, collects=collects,
    )  # fmt: skip
    with services.uow() as uow:
        uow.billing_runs.add(run)
        uow.commit()
    return run


def get_run(services: Services, actor: Actor, run_id: str) -> BillingRun:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        run = uow.billing_runs.get(actor.operator_id, run_id)
    if run is None:
        raise NotFound(f"billing run {run_id!r} not found")
    return run


def list_runs(services: Services, actor: Actor, *, cursor: str | None, limit: int) -> Page[BillingRun]:
    require(actor, Permission.READ)
    limit = checked_limit(limit)
    with services.uow(read_only=True) as uow:
        runs = uow.billing_runs.list(actor.operator_id, after=cursor, limit=limit + 1)
    return page_of(runs, limit, lambda run: run.id)


def run_items(services: Services, actor: Actor, run_id: str) -> Sequence[RunItem]:
    get_run(services, actor, run_id)
    with services.uow(read_only=True) as uow:
        return uow.billing_runs.items(run_id)


def plan_run(services: Services, actor: Actor, run_id: str) -> Sequence[RunItem]:
    """Store the run's items (the due cycles) and mark it RUNNING; the items still PENDING."""
    run = get_run(services, actor, run_id)
    require(actor, Permission.BILL)
    items = [
        RunItem(run.id, actor.operator_id, due.contract_id, due.cycle_start, due.cycle_end)
        for due in due_cycles(services, actor, run.period)
    ]
    with services.uow() as uow:
        uow.billing_runs.add_items(items)
        if run.status is RunStatus.QUEUED:
            uow.billing_runs.set_status(
                actor.operator_id, run.id, RunStatus.RUNNING, at=services.clock.now(), planned=True
            )
        uow.commit()
        return uow.billing_runs.items(run.id, status=ItemStatus.PENDING)


def finish_if_done(services: Services, actor: Actor, run_id: str) -> bool:
    """Mark the run DONE once none of its items is pending and, a run that collects, each item with
    an invoice has been collected (indexed looks, not counts: every queued job asks); True if it is
    done. Until then the run's figures (its charges) may still change, so it does not say DONE."""
    with services.uow() as uow:
        if uow.billing_runs.has_pending(run_id):
            return False
        run = uow.billing_runs.get(actor.operator_id, run_id)
        if run is None:
            raise NotFound(f"billing run {run_id!r} not found")
        if run.status is RunStatus.RUNNING and run.collects and uow.billing_runs.has_uncollected(run_id):
            return False
        if run.status is RunStatus.RUNNING:
            uow.billing_runs.set_status(actor.operator_id, run_id, RunStatus.DONE, at=services.clock.now())
            uow.commit()
        return run.status is not RunStatus.QUEUED


def note_collected(
    uow: UnitOfWork,
    operator_id: str,
    invoice_ids: Sequence[str],
    contract_ids: Sequence[str] | None,
    at: datetime,
) -> list[str]:
    """In the caller's transaction (the one that records the charge): the items of these invoices, in
    the operator's running runs that collect, are collected (each once); the ids of those runs."""
    return list(uow.billing_runs.mark_collected(operator_id, invoice_ids, contract_ids, at=at))


def record_collected(
    services: Services, actor: Actor, invoice_ids: Sequence[str], contract_ids: Sequence[str] | None = None
) -> list[str]:
    """Collection at issue is through with these invoices (charged, declined, nothing to charge, or
    refused and recorded): their items are collected and each run that waited for them is finished
    if that was the last; the ids of the runs that are done now. Idempotent: a retried charge job
    marks nothing twice. Any run still running that holds the invoices counts them collected, so a
    run whose charge job died is finished by the next run of the period (which hands its invoices,
    ALREADY_ISSUED, to collection again) or by the worker enqueuing the job again
    (``run_recovery.requeue_stalled``)."""
    with services.uow() as uow:
        run_ids = note_collected(uow, actor.operator_id, invoice_ids, contract_ids, services.clock.now())
        uow.commit()
    return [run_id for run_id in run_ids if finish_if_done(services, actor, run_id)]


# --- one item: record the bill, issue the invoice ------------------------------------------------


def _reason(error: BaseException) -> str:
    if isinstance(error, IncompleteSeller):  # the same words for every item (said once in a summary)
        return error.message
    if isinstance(error, InvalidInput) and error.problems:
        return "; ".join(f"{problem.path}: {problem.message}" for problem in error.problems)
    return str(error) or type(error).__name__


def _finish(services: Services, item: RunItem, status: ItemStatus, **outcome: object) -> RunItem:
    done = replace(item, status=status, updated_at=services.clock.now(), **outcome)  # type: ignore[arg-type]
    with services.uow() as uow:
        uow.billing_runs.finish_item(done)
        uow.commit()
    return done


def _issued(item: RunItem, document: Document) -> dict[str, object]:
    return {
        "invoice_id": document.id,
        "currency": document.currency,
        "total_incl_vat_minor": document.composed.totals.incl_vat_minor,
    }


def invoice_item(services: Services, actor: Actor, item: RunItem) -> RunItem:
    """Bill and invoice one cycle of the run; the item with its outcome (stored)."""
    require(actor, Permission.BILL)
    try:
        recorded = record_bill(services, actor, item.contract_id, item.cycle_start)
    except DomainError as error:
        return _finish(services, item, ItemStatus.FAILED, reason=f"cannot bill: {_reason(error)}")
    if not recorded.bill.lines:
        return _finish(
            services, item, ItemStatus.SKIPPED, reason="nothing to bill in the cycle", bill_id=recorded.id
        )
    try:
        document, issued_now = issue_bill(services, actor, recorded.id)
    except Conflict:  # a concurrent run issued it between our look and our insert: theirs stands
        with services.uow(read_only=True) as uow:
            theirs = uow.invoices.find_by_bill(actor.operator_id, recorded.id)
        if theirs is None or theirs.status in (DocumentStatus.DRAFT, DocumentStatus.FAILED):
            return _finish(
                services,
                item,
                ItemStatus.FAILED,
                reason="changed by a concurrent run; run again",
                bill_id=recorded.id,
            )
        return _finish(
            services, item, ItemStatus.ALREADY_ISSUED, bill_id=recorded.id, **_issued(item, theirs)
        )
    except Exception as error:  # generation failed: kept as a FAILED document, retried by the next run
        reason = _reason(error)
        _keep_failed(services, actor, recorded, reason)
        return _finish(
            services,
            item,
            ItemStatus.FAILED,
            reason=f"cannot make the invoice: {reason}",
            bill_id=recorded.id,
        )
    status = ItemStatus.ISSUED if issued_now else ItemStatus.ALREADY_ISSUED
    return _finish(services, item, status, bill_id=recorded.id, **_issued(item, document))


def _keep_failed(services: Services, actor: Actor, recorded: RecordedBill, reason: str) -> None:
    """A FAILED document for the bill, saying why (unless the bill already has a document)."""
    with services.uow() as uow:
        if uow.invoices.find_by_bill(actor.operator_id, recorded.id) is not None:
            return
        operator = uow.operators.get(actor.operator_id)
        customer = uow.customers.get(actor.operator_id, recorded.customer_id)
        if operator is None or customer is None:
            return
        currency = recorded.bill.currency
        empty = Composed(currency, TaxMode.VAT, (), (), Totals(0, 0, 0, 0, 0, 0), Decimal(0), Decimal(0))
        failed = Document(
            id=services.ids.new_id(),
            operator_id=actor.operator_id,
            kind=DocumentKind.INVOICE,
            status=DocumentStatus.FAILED,
            series="",
            number=None,
            contract_id=recorded.contract_id,
            customer_id=recorded.customer_id,
            bill_id=recorded.id,
            seller=Party(operator.legal_name, operator.tax_country),
            buyer=Party(customer.name, customer.country),
            language=customer.language,
            composed=empty,
            rounding_mode=operator.rounding_mode,
            period_start=recorded.cycle_start,
            period_end=recorded.cycle_end,
            payment_due_days=0,
            reason=reason[:500],
            created_at=services.clock.now(),
        )
        try:
            uow.invoices.add(failed)
        except Conflict:
            return
        uow.commit()


# --- a chunk of items in one transaction ---------------------------------------------------------


def chunked(items: Sequence[T], first: int = FIRST_CHUNK, most: int = CHUNK) -> list[list[T]]:
    """The items in chunks of growing size: first, 2 first, 4 first, ... at most ``most``."""
    chunks: list[list[T]] = []
    size, at = first, 0
    while at < len(items):
        chunks.append(list(items[at : at + size]))
        at += size
        size = min(size * 2, most)
    return chunks


def invoice_chunk(services: Services, actor: Actor, items: Sequence[RunItem]) -> list[RunItem]:
    """Bill and invoice the items (PENDING) in one transaction (or a few, CHUNK_SECONDS each); their
    outcomes (stored), in the items' order.

    The chunk's bills, drafts, numbers (consecutive: the counter's lock is taken at the first issue
    and held till the commit), ledger entries and item outcomes commit together or not at all. If
    anything goes wrong (a cycle that cannot be billed, a failed generation, a concurrent run that
    got there first, a deadlock), the chunk is rolled back whole and each item is then done on its
    own by ``invoice_item``, which says per item what happened: the guarantees are the same as one
    item at a time, only the common case is cheaper (one transaction instead of three per item)."""
    require(actor, Permission.BILL)
    done: list[RunItem] = []
    while len(done) < len(items):
        rest = items[len(done) :]
        try:
            done.extend(_invoice_together(services, actor, rest))
        except Exception:  # one by one: each item gets its own outcome (and its own reason)
            done.extend(invoice_item(services, actor, item) for item in rest)
    return done


def _invoice_together(services: Services, actor: Actor, items: Sequence[RunItem]) -> list[RunItem]:
    """The first of the items (all, or as many as fit in CHUNK_SECONDS), done in one transaction."""
    now = services.clock.now()
    outcomes: dict[int, RunItem] = {}
    drafts: list[tuple[int, RunItem, str, Document, bool]] = []
    started = time.monotonic()
    with services.uow() as uow:
        prefetch(uow, actor.operator_id, [item.contract_id for item in items[:CHUNK]])
        missing = missing_seller_data(uow, actor.operator_id)
        gaps = IncompleteSeller(missing) if missing else None
        for at, item in enumerate(items):
            if at and time.monotonic() - started > CHUNK_SECONDS:
                items = items[:at]  # the rest in the next transaction: others get their turn to write
                break
            if at % SESSIONS_AHEAD == 0:  # the next few cycles' sessions in one look (not all: cut short,
                ahead = items[at : at + SESSIONS_AHEAD]  # the transaction would have read them in vain)
                prefetch_sessions(uow, actor, [(i.contract_id, i.cycle_start) for i in ahead])
            recorded, recorded_now = record_bill_in(services, uow, actor, item.contract_id, item.cycle_start)
            if not recorded.bill.lines:
                outcomes[at] = replace(
                    item,
                    status=ItemStatus.SKIPPED,
                    reason="nothing to bill in the cycle",
                    bill_id=recorded.id,
                    updated_at=now,
                )
                continue
            existing = None if recorded_now else uow.invoices.find_by_bill(actor.operator_id, recorded.id)
            if existing is not None and existing.status not in (DocumentStatus.DRAFT, DocumentStatus.FAILED):
                outcomes[at] = replace(
                    item,
                    status=ItemStatus.ALREADY_ISSUED,
                    bill_id=recorded.id,
                    updated_at=now,
                    **_issued(item, existing),  # type: ignore[arg-type]
                )
                continue
            if gaps:  # nothing can be issued: the document is kept FAILED with the reason, no number taken
                _fail_in(services, uow, actor, recorded, existing, gaps)
                outcomes[at] = replace(
                    item, status=ItemStatus.FAILED, reason=f"cannot make the invoice: {gaps.message}",
                    bill_id=recorded.id, updated_at=now,
                )  # fmt: skip
                continue
            draft = draft_in(services, uow, actor, recorded, existing, store=existing is not None)
            drafts.append((at, item, recorded.id, draft, existing is not None))
        # Numbered last (the counter's lock is held briefly), all in one step when they share a series.
        series = {draft.series for _, _, _, draft, _ in drafts}
        numbers: Sequence[int | None] = (
            uow.invoices.next_numbers(actor.operator_id, series.pop(), len(drafts))
            if len(series) == 1
            else [None] * len(drafts)
        )
        with uow.ledger.batched():  # the chunk's ledger entries in one write
            for (at, item, bill_id, draft, stored), number in zip(drafts, numbers, strict=True):
                issued = issue_in(services, uow, draft, stored=stored, sequence=number)
                outcomes[at] = replace(
                    item,
                    status=ItemStatus.ISSUED,
                    bill_id=bill_id,
                    updated_at=now,
                    **_issued(item, issued),  # type: ignore[arg-type]
                )
        done = [outcomes[at] for at in range(len(items))]
        uow.billing_runs.finish_items(done)
        uow.commit(give_way=True)
    return done


def _fail_in(
    services: Services,
    uow: UnitOfWork,
    actor: Actor,
    recorded: RecordedBill,
    existing: Document | None,
    error: IncompleteSeller,
) -> None:
    """The bill's document kept FAILED saying why (the next run makes it again in its place); a draft
    someone made by hand stays a draft (the run's item says why it was not issued)."""
    reason = error.message[:500]
    if existing is None:
        draft = draft_in(services, uow, actor, recorded, None, store=False)
        uow.invoices.add(replace(draft, status=DocumentStatus.FAILED, reason=reason))
    elif existing.status is DocumentStatus.FAILED and existing.reason != reason:
        failed = replace(existing, reason=reason, version=existing.version + 1)
        uow.invoices.update(failed, expected_version=existing.version)


# --- the whole run, in this process --------------------------------------------------------------


def run_billing(
    services: Services,
    actor: Actor,
    period: str,
    *,
    on_planned: Callable[[int], None] = lambda total: None,
    on_item: Callable[[RunItem], None] = lambda item: None,
    after_chunk: Callable[[Sequence[RunItem]], object] | None = None,
    owner: str | None = None,
) -> BillingRun:
    """Start, plan and work through a run here (no worker): the run as it ended.

    ``after_chunk`` gets each chunk's items once its transaction has committed: where the issued
    invoices are collected (``collection.at_issue``: the card on file charged, which marks their
    items collected), outside the run's transaction. Given one, the run collects: it is DONE only
    once every invoice of it was collected. ``owner``: this process ("host:pid"), so a run whose
    process died can be told interrupted (``run_recovery``)."""
    run = start_run(services, actor, period, queued=False, owner=owner, collects=after_chunk is not None)
    pending = plan_run(services, actor, run.id)
    on_planned(len(pending))
    for chunk in chunked(pending):
        done = invoice_chunk(services, actor, chunk)
        for item in done:
            on_item(item)
        if after_chunk is not None:
            after_chunk(done)
    finish_if_done(services, actor, run.id)
    return get_run(services, actor, run.id)


def enqueue_run(services: Services, actor: Actor, queue: JobQueue, period: str) -> BillingRun:
    """Start a run for the workers: its planning job goes on the queue (the run stays QUEUED till then).
    Its invoices are collected by the charge jobs its chunks enqueue; it is DONE once they all ran."""
    run = start_run(services, actor, period, queued=True, collects=True)
    queue.enqueue(PLAN_JOB, {"operator_id": actor.operator_id, "run_id": run.id})
    return run


def plan_and_enqueue(services: Services, actor: Actor, queue: JobQueue, run_id: str) -> int:
    """The planning job: store the items, enqueue one invoice job per chunk of pending items."""
    pending = plan_run(services, actor, run_id)
    for chunk in chunked(pending, first=CHUNK):  # one job per chunk: the workers share the chunks
        queue.enqueue(
            CHUNK_JOB,
            {
                "operator_id": actor.operator_id,
                "run_id": run_id,
                "items": " ".join(f"{item.contract_id}@{item.cycle_start.isoformat()}" for item in chunk),
            },
        )
    if not pending:
        finish_if_done(services, actor, run_id)
    return len(pending)


def invoice_job(
    services: Services, actor: Actor, queue: JobQueue | None, payload: Mapping[str, str]
) -> RunItem:
    """The per-contract job: invoice the item (idempotent), enqueue its rendering, close the run if last."""
    run_id = payload["run_id"]
    cycle_start = date.fromisoformat(payload["cycle_start"])
    with services.uow(read_only=True) as uow:
        item = uow.billing_runs.item(run_id, payload["contract_id"], cycle_start)
    if item is None:
        raise NotFound(f"billing run {run_id!r} has no item for contract {payload['contract_id']!r}")
    if item.status is ItemStatus.PENDING:
        item = invoice_item(services, actor, item)
    if item.status is ItemStatus.ISSUED and item.invoice_id is not None and queue is not None:
        queue.enqueue(RENDER_JOB, {"operator_id": actor.operator_id, "document_id": item.invoice_id})
    if queue is not None:
        _enqueue_charges(queue, actor, run_id, [item])
    finish_if_done(services, actor, run_id)
    return item


def _enqueue_charges(queue: JobQueue, actor: Actor, run_id: str, items: Sequence[RunItem]) -> None:
    """After the commit: one job that collects the items' invoices (idempotent, as the job is)."""
    issued = [
        item
        for item in items
        if item.status in (ItemStatus.ISSUED, ItemStatus.ALREADY_ISSUED) and item.invoice_id
    ]
    if issued:
        queue.enqueue(
            CHARGE_JOB,
            {
                "operator_id": actor.operator_id,
                "run_id": run_id,
                "invoices": " ".join(item.invoice_id or "" for item in issued),
                "contracts": " ".join(item.contract_id for item in issued),
            },
        )


def invoice_chunk_job(
    services: Services, actor: Actor, queue: JobQueue | None, payload: Mapping[str, str]
) -> list[RunItem]:
    """The per-chunk job: invoice the chunk's items still PENDING (idempotent: a duplicate or retried
    job finds them done), enqueue the renderings, close the run if it was the last."""
    run_id = payload["run_id"]
    keys = [key.rpartition("@") for key in payload["items"].split()]
    with services.uow(read_only=True) as uow:  # one look for the chunk's items, not one per item
        found = uow.billing_runs.items_of(
            run_id, [(contract_id, date.fromisoformat(day)) for contract_id, _, day in keys]
        )
    pending = [item for item in found if item.status is ItemStatus.PENDING]
    done = invoice_chunk(services, actor, pending)
    if queue is not None:
        for item in done:
            if item.status is ItemStatus.ISSUED and item.invoice_id is not None:
                queue.enqueue(RENDER_JOB, {"operator_id": actor.operator_id, "document_id": item.invoice_id})
        _enqueue_charges(queue, actor, run_id, done)
    finish_if_done(services, actor, run_id)
    return done


# --- dry run and rendering -----------------------------------------------------------------------


def preview_run(services: Services, actor: Actor, period: str) -> list[tuple[DueCycle, Bill | None, str]]:
    """What a run would do, storing nothing: per due cycle the bill it would record (None when the
    cycle was billed already, or cannot be) and what would happen. With the seller's data incomplete
    every invoice would fail (``seller_gaps`` says why, once)."""
    result: list[tuple[DueCycle, Bill | None, str]] = []
    gaps = seller_gaps(services, actor)
    issuing = "would fail: the seller's legal data is incomplete" if gaps else "would issue"
    for due in due_cycles(services, actor, period):
        with services.uow(read_only=True) as uow:
            billed = [
                b
                for b in uow.bills.of_contract(actor.operator_id, due.contract_id)
                if b.cycle_start == due.cycle_start
            ]
        if billed and billed[0].invoice_id is not None:
            result.append((due, None, "already issued"))
            continue
        try:
            bill = (
                billed[0].bill if billed else bill_contract(services, actor, due.contract_id, due.cycle_start)
            )
        except DomainError as error:
            result.append((due, None, f"would fail: {_reason(error)}"))
            continue
        result.append((due, bill, issuing if bill.lines else "would skip: nothing to bill"))
    return result


def seller_gaps(services: Services, actor: Actor) -> tuple[Problem, ...]:
    """What the operator's seller data lacks to issue invoices (() when it may issue)."""
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return missing_seller_data(uow, actor.operator_id)


def render_document(
    services: Services,
    actor: Actor,
    renderer: Renderer,
    document_id: str,
    formats: Sequence[str] = RENDERED_FORMATS,
) -> int:
    """Render an issued document once per format and keep the files; how many were new."""
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        document = uow.invoices.get(actor.operator_id, document_id)
        missing = [f for f in formats if uow.document_files.get(actor.operator_id, document_id, f) is None]
    if document is None:
        raise NotFound(f"invoice {document_id!r} not found")
    if document.number is None or not missing:
        return 0
    files = {document_format: renderer.render(document, document_format) for document_format in missing}
    added = 0
    with services.uow() as uow:
        for document_format, content in files.items():
            added += uow.document_files.put(
                actor.operator_id, document_id, document_format, content, services.clock.now()
            )
        uow.commit()
    return added


def all_operator_ids(services: Services) -> list[str]:
    """Every operator (a run without ``--operator`` bills each in turn); platform-wide, no actor."""
    with services.uow(read_only=True) as uow:
        return [operator.id for operator in uow.operators.list_all()]
