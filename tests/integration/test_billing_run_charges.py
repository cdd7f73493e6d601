"""The billing run charges the cards on file of the invoices it issues, after each chunk commits.

Data (``tests.billing_data``): three monthly contracts, October billed: totals incl. VAT 22.84,
24.73 and 26.62 (worked out in ``test_billing_run``). Here they pay by card on file: customer 0
with the sandbox's ``tok_visa``, customer 1 with ``tok_insufficient_funds`` (declined), customer 2
has no card saved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import update

from evbill.adapters.db.offers.tables import contract_terms
from evbill.adapters.payments.sandbox import SandboxGateway
from evbill.application.access.keys import platform_actor
from evbill.application.collection import at_issue
from evbill.application.collection.charges import save_card
from evbill.application.collection.direct_debit import add_mandate
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.invoicing import documents, queries, run_recovery, runs
from evbill.application.ports import GatewayResult
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor
from evbill.domain.invoicing.documents import DocumentStatus
from evbill.domain.invoicing.runs import ItemStatus, RunStatus
from evbill.domain.money import SettledMoney
from evbill.domain.offers.contracts import PaymentMethodKind
from evbill.domain.payments.events import EventKind
from tests.billing_data import build_contracts

PERIOD = "2026-10"
TOTALS = [2284, 2473, 2662]


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    built = bootstrap(Settings(database_url=database_url))
    yield built
    built.dispose()


@dataclass
class Books:
    container: Container
    who: Actor
    customers: list[str]

    def run(self, gateway: SandboxGateway) -> str:
        services = self.container.services
        finished = runs.run_billing(
            services, self.who, PERIOD,
            after_chunk=lambda items: at_issue.charge_issued(
                services, gateway, self.who, at_issue.issued_invoices(items)
            ),
        )  # fmt: skip
        return finished.id

    def invoices(self, run_id: str) -> list[str]:
        items = runs.run_items(self.container.services, self.who, run_id)
        by_contract = {item.contract_id: item.invoice_id for item in items}
        with self.container.services.uow(read_only=True) as uow:
            contracts = {c.customer_id: c.id for c in uow.contracts.list(self.who.operator_id, filters={},
                                                                          after=None, limit=10)}  # fmt: skip
        return [str(by_contract[contracts[customer]]) for customer in self.customers]


@pytest.fixture
def books(container: Container, database_url: str) -> Books:
    built = build_contracts(database_url, contracts=3, sessions_per_contract=2, period=PERIOD)
    with container.engine.begin() as connection:
        connection.execute(
            update(contract_terms)
            .where(contract_terms.c.operator_id == built.operator_id)
            .values(payment_method=PaymentMethodKind.CARD_ON_FILE.value)
        )
    who = platform_actor(built.operator_id)
    with container.services.uow(read_only=True) as uow:
        contracts = uow.contracts.list(built.operator_id, filters={}, after=None, limit=10)
        customers = sorted(
            (c.customer_id for c in contracts),
            key=lambda customer_id: uow.customers.get(built.operator_id, customer_id).name,  # type: ignore[union-attr]
        )
    for customer_id, token in zip(customers, ("tok_visa", "tok_insufficient_funds"), strict=False):
        save_card(container.services, who, customer_id, gateway="sandbox", payment_method=token)
    return Books(container, who, customers)


def test_the_run_charges_each_card_on_file_once_and_reports_charged_and_declined(books: Books) -> None:
    services, gateway = books.container.services, SandboxGateway(books.container.services.clock.now)
    # When October is billed, the cards charged after each chunk's commit
    run_id = books.run(gateway)
    paid, declined, no_card = (documents.get_document(services, books.who, i) for i in books.invoices(run_id))
    # Then the visa's invoice is paid in full, the declined one open with attempt 1, the third untouched
    assert [(d.status, d.paid_minor, d.open_minor) for d in (paid, declined, no_card)] == [
        (DocumentStatus.PAID, 2284, 0), (DocumentStatus.ISSUED, 0, 2473), (DocumentStatus.ISSUED, 0, 2662),
    ]  # fmt: skip
    with services.uow(read_only=True) as uow:
        attempts = [uow.collection.attempts(books.who.operator_id, d.id) for d in (paid, declined, no_card)]
    assert [[(a.number, a.succeeded, a.decline_code) for a in found] for found in attempts] == [
        [(1, True, None)], [(1, False, "insufficient_funds")], [],
    ]  # fmt: skip
    # And the paid one's documents say it was paid by card (nothing left to pay), the others not
    views = [queries.document_view(services, books.who, d.id) for d in (paid, declined, no_card)]
    assert [view.paid_by_card for view in views] == [True, False, False]
    # And the run's summary says so, with the amounts
    summary = at_issue.run_charges(services, books.who, run_id)
    assert (summary.charged, summary.charged_minor, summary.declined, summary.declined_minor) == (
        1, {"EUR": 2284}, 1, {"EUR": 2473},
    )  # fmt: skip
    assert summary.direct_debit == 0
    # And once the third customer (no card) has an active SEPA mandate, its invoice counts as direct debit
    add_mandate(
        services, books.who, books.container.ibans, customer_id=books.customers[2], reference="MNDT-C3-1",
        iban="DE89 3704 0044 0532 0130 00", signed_on=services.clock.now().date(),
    )  # fmt: skip
    again = at_issue.run_charges(services, books.who, run_id)
    assert (again.charged, again.charged_minor, again.declined, again.direct_debit) == (
        1,
        {"EUR": 2284},
        1,
        1,
    )
    # And a rerun issues nothing and charges nothing: no call reaches the gateway again
    calls = list(gateway.calls)
    rerun = books.run(gateway)
    assert {item.status for item in runs.run_items(services, books.who, rerun)} == {ItemStatus.ALREADY_ISSUED}
    assert gateway.calls == calls
    assert [a.number for a in services_attempts(books, paid.id)] == [1]
    # and its summary says it charged and declined nothing (the first run's charges are not its own)
    again = at_issue.run_charges(services, books.who, rerun)
    assert (again.charged, again.charged_minor, again.declined, again.declined_minor) == (0, {}, 0, {})
    assert check_all_books(services).ok


def services_attempts(books: Books, invoice_id: str) -> list[object]:
    with books.container.services.uow(read_only=True) as uow:
        return list(uow.collection.attempts(books.who.operator_id, invoice_id))


class CrashAfterCapture(SandboxGateway):
    """The gateway captures, then the process dies before the database commits (once)."""

    crashed = False

    def capture(self, *, reference: str, amount: SettledMoney, idempotency_key: str) -> GatewayResult:
        result = super().capture(reference=reference, amount=amount, idempotency_key=idempotency_key)
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("killed between the gateway's answer and the commit")
        return result


def test_a_crash_between_the_capture_and_the_commit_is_reconciled_by_the_rerun_not_charged_twice(
    books: Books,
) -> None:
    services = books.container.services
    gateway = CrashAfterCapture(services.clock.now)
    # Given a run that dies after the gateway captured the visa's invoice, before the commit
    with pytest.raises(RuntimeError):
        books.run(gateway)
    # When the run is run again
    rerun = books.run(gateway)
    paid = documents.get_document(services, books.who, books.invoices(rerun)[0])
    # Then the invoice is paid once: one capture at the gateway, one captured payment in evbill
    assert (paid.status, paid.paid_minor) == (DocumentStatus.PAID, 2284)
    captures = {key for operation, key in gateway.calls if operation == "capture"}
    assert len(captures) == 1  # the same key both times: the gateway answered the retry from its record
    with services.uow(read_only=True) as uow:
        payments = [p for p, _ in uow.payments.of_operator(books.who.operator_id)]
    charged = [p for p in payments if p.subject == f"invoice:{paid.id}"]
    assert len(charged) == 1
    events = gateway.events(charged[0].gateway_reference)
    assert [e.kind for e in events].count(EventKind.CAPTURED) == 1
    # And the rerun, which made the charge the first run died in, reports it as its own
    summary = at_issue.run_charges(services, books.who, rerun)
    assert (summary.charged, summary.charged_minor) == (1, {"EUR": 2284})
    assert check_all_books(services).ok


@dataclass
class RecordingQueue:
    container: Container
    jobs: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    committed: list[bool] = field(default_factory=list)

    def enqueue(self, job: str, payload: Mapping[str, str]) -> None:
        self.jobs.append((job, dict(payload)))
        if job == runs.CHARGE_JOB:  # what a worker would see at once: the invoices are committed
            with self.container.services.uow(read_only=True) as uow:
                found = [uow.invoices.get(payload["operator_id"], i) for i in payload["invoices"].split()]
            self.committed.append(all(d is not None and d.number for d in found))


def test_a_queued_run_enqueues_the_charges_of_each_chunk_after_its_commit(books: Books) -> None:
    services = books.container.services
    queue = RecordingQueue(books.container)
    run = runs.enqueue_run(services, books.who, queue, PERIOD)
    runs.plan_and_enqueue(services, books.who, queue, run.id)
    (chunk,) = [payload for job, payload in queue.jobs if job == runs.CHUNK_JOB]
    # When a worker does the chunk's job
    runs.invoice_chunk_job(services, books.who, queue, chunk)
    # Then one charge job names the chunk's three invoices, enqueued once they were committed
    charges = [payload for job, payload in queue.jobs if job == runs.CHARGE_JOB]
    assert [len(payload["invoices"].split()) for payload in charges] == [3]
    assert queue.committed == [True]
    # And the charge job (what `evbill worker` runs) charges them; run twice, once
    gateway = SandboxGateway(services.clock.now)
    for _ in range(2):
        at_issue.charge_issued(services, gateway, books.who, charges[0]["invoices"].split())
    summary = at_issue.run_charges(services, books.who, run.id)
    assert (summary.charged, summary.charged_minor, summary.declined) == (1, {"EUR": 2284}, 1)
    assert [operation for operation, _ in gateway.calls] == ["authorise", "capture", "authorise"]


def _queued_and_invoiced(books: Books, queue: RecordingQueue) -> tuple[str, dict[str, str]]:
    """A queued run whose one chunk a worker has invoiced: the run's id and its charge job's payload."""
    services = books.container.services
    run = runs.enqueue_run(services, books.who, queue, PERIOD)
    runs.plan_and_enqueue(services, books.who, queue, run.id)
    (chunk,) = [payload for job, payload in queue.jobs if job == runs.CHUNK_JOB]
    runs.invoice_chunk_job(services, books.who, queue, chunk)
    (charge,) = [payload for job, payload in queue.jobs if job == runs.CHARGE_JOB]
    return run.id, charge


def _charge_job(books: Books, gateway: SandboxGateway, payload: Mapping[str, str]) -> None:
    """What `evbill worker` does with a charge job (``entrypoints.jobs.billing``)."""
    at_issue.charge_issued(
        books.container.services,
        gateway,
        books.who,
        payload["invoices"].split(),
        payload["contracts"].split(),
    )


def _collected(books: Books, run_id: str) -> list[bool]:
    items = runs.run_items(books.container.services, books.who, run_id)
    return [item.collected_at is not None for item in items]


def test_a_queued_run_is_done_only_once_its_charge_job_has_run_with_its_final_charges(books: Books) -> None:
    services = books.container.services
    queue = RecordingQueue(books.container)
    # Given a queued run whose chunk is invoiced, its charge job still waiting on the queue
    run_id, charge = _queued_and_invoiced(books, queue)
    # Then the run is not done: its three invoices wait for collection, nothing charged yet
    waiting = runs.get_run(services, books.who, run_id)
    assert (waiting.status, waiting.counts.finished, waiting.counts.uncollected) == (RunStatus.RUNNING, 3, 3)
    assert runs.finish_if_done(services, books.who, run_id) is False
    assert _collected(books, run_id) == [False, False, False]
    # When the worker runs the charge job
    gateway = SandboxGateway(services.clock.now)
    _charge_job(books, gateway, charge)
    # Then the run is done, with its final charges: the visa charged 22.84, the other card declined
    done = runs.get_run(services, books.who, run_id)
    assert (done.status, done.counts.uncollected) == (RunStatus.DONE, 0)
    assert _collected(books, run_id) == [True, True, True]
    summary = at_issue.run_charges(services, books.who, run_id)
    assert (summary.charged, summary.charged_minor, summary.declined, summary.declined_minor) == (
        1, {"EUR": 2284}, 1, {"EUR": 2473},
    )  # fmt: skip
    # And the job run again (a huey retry, a duplicate) charges nothing and marks nothing again
    marked = {item.contract_id: item.collected_at for item in runs.run_items(services, books.who, run_id)}
    calls = list(gateway.calls)
    _charge_job(books, gateway, charge)
    assert gateway.calls == calls
    again = {item.contract_id: item.collected_at for item in runs.run_items(services, books.who, run_id)}
    assert again == marked
    assert runs.get_run(services, books.who, run_id).finished_at == done.finished_at
    assert check_all_books(services).ok


def test_a_charge_job_that_dies_after_the_capture_leaves_the_run_running_and_its_retry_finishes_it(
    books: Books,
) -> None:
    services = books.container.services
    queue = RecordingQueue(books.container)
    run_id, charge = _queued_and_invoiced(books, queue)
    gateway = CrashAfterCapture(services.clock.now)
    # Given the charge job killed between the gateway's capture and the commit
    with pytest.raises(RuntimeError):
        _charge_job(books, gateway, charge)
    # Then nothing is marked collected and the run is not done
    assert _collected(books, run_id) == [False, False, False]
    assert runs.get_run(services, books.who, run_id).status is RunStatus.RUNNING
    # When the job is retried: one capture at the gateway (the same key), the run done, counts final
    _charge_job(books, gateway, charge)
    assert len({key for operation, key in gateway.calls if operation == "capture"}) == 1
    assert runs.get_run(services, books.who, run_id).status is RunStatus.DONE
    assert _collected(books, run_id) == [True, True, True]
    summary = at_issue.run_charges(services, books.who, run_id)
    assert (summary.charged, summary.charged_minor, summary.declined) == (1, {"EUR": 2284}, 1)


def test_a_lost_charge_job_is_enqueued_again_by_the_worker_and_then_finishes_the_run(books: Books) -> None:
    services = books.container.services
    run_id, lost = _queued_and_invoiced(books, RecordingQueue(books.container))
    # When the worker looks for stalled runs (the charge job was taken by a worker that was killed)
    queue = RecordingQueue(books.container)
    assert run_recovery.requeue_stalled(services, queue, stale_after=timedelta(hours=1)) == 0
    assert run_recovery.requeue_stalled(services, queue, stale_after=timedelta(0)) == 3
    # Then the charge job is enqueued again for the three invoices, and running it finishes the run
    [(job, payload)] = queue.jobs
    assert (job, sorted(payload["invoices"].split())) == (runs.CHARGE_JOB, sorted(lost["invoices"].split()))
    _charge_job(books, SandboxGateway(services.clock.now), payload)
    assert runs.get_run(services, books.who, run_id).status is RunStatus.DONE
    assert (
        run_recovery.requeue_stalled(services, RecordingQueue(books.container), stale_after=timedelta(0)) == 0
    )


def test_a_run_whose_charges_died_is_finished_by_running_the_period_again(books: Books) -> None:
    services = books.container.services
    gateway = CrashAfterCapture(services.clock.now)
    # Given a run in place that died in its charges (after the chunk's commit)
    with pytest.raises(RuntimeError):
        books.run(gateway)
    (first,) = runs.list_runs(services, books.who, cursor=None, limit=10).items
    assert (first.status, first.counts.finished, first.counts.uncollected) == (RunStatus.RUNNING, 3, 3)
    # When the period is run again
    rerun = books.run(gateway)
    # Then both runs are done: the rerun collected the invoices the first one issued
    assert runs.get_run(services, books.who, rerun).status is RunStatus.DONE
    assert runs.get_run(services, books.who, first.id).status is RunStatus.DONE
    assert _collected(books, first.id) == [True, True, True]
    assert check_all_books(services).ok
