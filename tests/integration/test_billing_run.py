"""The billing run: every cycle due in the month billed and invoiced once, on SQLite and PostgreSQL.

Data (``tests.billing_data``): three monthly contracts since 1 January 2026 (Amsterdam), 9.99 a
month + 21 % VAT, and two October sessions each of 0.35 + 0.39/kWh + 21 % VAT, with 10 + n % 20 kWh
for the n-th session (n = 0..5). By hand, per contract, excl. VAT, then VAT 21 % on the one base:

    contract 0: 9.99 + (0.35 + 3.90) + (0.35 + 4.29) = 18.88, VAT 3.9648 -> 3.96, total 22.84
    contract 1: 9.99 + (0.35 + 4.68) + (0.35 + 5.07) = 20.44, VAT 4.2924 -> 4.29, total 24.73
    contract 2: 9.99 + (0.35 + 5.46) + (0.35 + 5.85) = 22.00, VAT 4.6200 -> 4.62, total 26.62
    the run's issued total incl. VAT: 22.84 + 24.73 + 26.62 = 74.19
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from evbill.adapters.db.invoicing.tables import invoices
from evbill.adapters.db.ledger.tables import ledger_entries
from evbill.adapters.payments.sandbox import SandboxGateway
from evbill.application.access.keys import platform_actor
from evbill.application.collection import at_issue
from evbill.application.invoicing import documents, run_recovery, runs
from evbill.application.payments.reconciliation import check_books
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.invoicing.profiles import IncompleteSeller, InvoicingProfile
from evbill.domain.invoicing.runs import ItemStatus, RunStatus
from tests.billing_data import SELLER, build_contracts
from tests.einvoices import cii_problems, ubl_problems

PERIOD = "2026-10"


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    built = bootstrap(Settings(database_url=database_url))
    yield built
    built.dispose()


def _numbers(container: Container, operator_id: str) -> list[tuple[str, int | None, str]]:
    with container.engine.connect() as connection:
        rows = connection.execute(
            select(invoices.c.status, invoices.c.sequence, invoices.c.contract_id)
            .where(invoices.c.operator_id == operator_id)
            .order_by(invoices.c.sequence)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_run_issues_each_due_cycle_once_posts_the_ledger_and_a_rerun_issues_nothing(
    container: Container, database_url: str
) -> None:
    # Given three contracts with October sessions
    built = build_contracts(database_url, contracts=3, sessions_per_contract=2, period=PERIOD)
    who = platform_actor(built.operator_id)
    services = container.services
    # When October is billed, then billed again
    first = runs.run_billing(services, who, PERIOD)
    second = runs.run_billing(services, who, PERIOD)
    # Then the first run issued three invoices with the hand-computed totals, numbered 1, 2, 3
    assert (first.status, first.counts.total, first.counts.of(ItemStatus.ISSUED)) == (RunStatus.DONE, 3, 3)
    assert first.counts.issued_totals == {"EUR": 7419}
    issued = sorted(
        (
            documents.get_document(services, who, item.invoice_id)
            for item in runs.run_items(services, who, first.id)
        ),
        key=lambda document: document.number or "",
    )
    assert sorted(d.composed.totals.incl_vat_minor for d in issued) == [2284, 2473, 2662]
    assert sorted((d.composed.totals.excl_vat_minor, d.composed.totals.vat_minor) for d in issued) == [
        (1888, 396), (2044, 429), (2200, 462),
    ]  # fmt: skip
    assert [number[:2] for number in _numbers(container, built.operator_id)] == [
        ("issued", 1), ("issued", 2), ("issued", 3),
    ]  # fmt: skip
    # And the second found them all issued: nothing new
    assert (second.counts.total, second.counts.of(ItemStatus.ALREADY_ISSUED)) == (3, 3)
    assert second.counts.issued_totals == {}
    assert len(_numbers(container, built.operator_id)) == 3
    # And each invoice posted one balanced entry: the ledger check is green
    with container.engine.connect() as connection:
        entries = (
            connection.execute(
                select(ledger_entries.c.reference).where(ledger_entries.c.operator_id == built.operator_id)
            )
            .scalars()
            .all()
        )
    assert sorted(entries) == sorted(f"invoice:{d.id}" for d in issued)
    report = check_books(services, operator_ids=[built.operator_id])
    assert report.ok, report.findings


def test_a_failed_generation_leaves_a_failed_document_that_the_next_run_issues(
    container: Container, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = build_contracts(database_url, contracts=2, sessions_per_contract=1, period=PERIOD)
    who = platform_actor(built.operator_id)
    services = container.services
    real_draft = documents._draft

    def broken(*arguments: object, **options: object) -> object:
        raise RuntimeError("the renderer's font is missing")

    # Given a run whose document generation fails
    monkeypatch.setattr(documents, "_draft", broken)
    failed = runs.run_billing(services, who, PERIOD)
    with services.uow(read_only=True) as uow:
        kept = [
            uow.invoices.find_by_bill(who.operator_id, item.bill_id)
            for item in uow.billing_runs.items(failed.id)
        ]
    # When the cause is fixed and the run runs again
    monkeypatch.setattr(documents, "_draft", real_draft)
    retried = runs.run_billing(services, who, PERIOD)
    # Then the first run said why, and kept FAILED documents without number
    assert failed.counts.of(ItemStatus.FAILED) == 2
    assert [(d.status.value, d.number, d.reason) for d in kept] == [
        ("failed", None, "the renderer's font is missing")
    ] * 2
    items = runs.run_items(services, who, failed.id)
    assert {item.reason for item in items} == {"cannot make the invoice: the renderer's font is missing"}
    # And the next run issued each in the failed document's place, numbered without gap
    assert retried.counts.of(ItemStatus.ISSUED) == 2
    assert sorted(item.invoice_id for item in runs.run_items(services, who, retried.id)) == sorted(
        d.id for d in kept
    )
    assert [row[:2] for row in _numbers(container, built.operator_id)] == [("issued", 1), ("issued", 2)]


def test_two_runs_at_once_issue_each_cycle_once_with_gapless_numbers(
    container: Container, database_url: str
) -> None:
    # Given twelve contracts, and two runs of October started at the same moment
    built = build_contracts(database_url, contracts=12, sessions_per_contract=1, period=PERIOD)
    who = platform_actor(built.operator_id)
    start = threading.Barrier(2)
    finished: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            finished.append(runs.run_billing(container.services, who, PERIOD))
        except BaseException as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then twelve invoices exist, numbered 1..12, and the runs together issued each once
    assert errors == []
    assert [row[:2] for row in _numbers(container, built.operator_id)] == [
        ("issued", n) for n in range(1, 13)
    ]
    issued = sum(run.counts.of(ItemStatus.ISSUED) for run in finished)  # type: ignore[attr-defined]
    already = sum(run.counts.of(ItemStatus.ALREADY_ISSUED) for run in finished)  # type: ignore[attr-defined]
    reasons = {i.reason for run in finished for i in runs.run_items(container.services, who, run.id)}  # type: ignore[attr-defined]
    assert reasons == {None}
    assert (issued, already) == (12, 12)
    assert check_books(container.services, operator_ids=[built.operator_id]).ok


def test_a_dry_run_lists_what_would_be_issued_and_stores_nothing(
    container: Container, database_url: str
) -> None:
    built = build_contracts(database_url, contracts=2, sessions_per_contract=1, period=PERIOD)
    who = platform_actor(built.operator_id)

    previews = runs.preview_run(container.services, who, PERIOD)

    # contract 0: 9.99 + 0.35 + 10 x 0.39 = 14.24; contract 1: 9.99 + 0.35 + 11 x 0.39 = 14.63 (excl. VAT)
    assert sorted((verdict, bill.total_excl_vat) for _, bill, verdict in previews if bill is not None) == [
        ("would issue", Decimal("14.24")), ("would issue", Decimal("14.63")),
    ]  # fmt: skip
    with container.services.uow(read_only=True) as uow:
        assert uow.bills.of_contract(who.operator_id, built.contract_ids[0]) == []
    assert _numbers(container, built.operator_id) == []


def test_a_credit_note_posts_the_reverse_entry_and_the_ledger_stays_sound(
    container: Container, database_url: str
) -> None:
    # Given contract 0's issued October invoice: 18.88 + VAT 3.96 = 22.84 (see the module's docstring)
    built = build_contracts(database_url, contracts=1, sessions_per_contract=2, period=PERIOD)
    who = platform_actor(built.operator_id)
    services = container.services
    run = runs.run_billing(services, who, PERIOD)
    [item] = runs.run_items(services, who, run.id)
    # When it is credited in full
    note = documents.credit_document(services, who, item.invoice_id, reason="goodwill")
    # Then the credit note's entry takes back what the invoice posted: the receivable nets to zero
    with services.uow(read_only=True) as uow:
        balances = {(b.account, b.currency): b.balance for b in uow.ledger.balances(who.operator_id)}
    assert note.composed.totals.incl_vat_minor == 2284
    assert {account: amount for (account, _), amount in balances.items() if amount} == {}
    assert check_books(services, operator_ids=[built.operator_id]).ok


def test_a_run_works_in_growing_chunks_each_item_once_in_order() -> None:
    # 700 items, first chunk 8, at most 64: 8 + 16 + 32 + 64 = 120, then 580 = 9 x 64 + 4
    items = [f"item-{n}" for n in range(700)]
    chunks = runs.chunked(items, first=8, most=64)
    assert [len(chunk) for chunk in chunks] == [8, 16, 32, 64] + [64] * 9 + [4]
    assert [item for chunk in chunks for item in chunk] == items
    assert runs.chunked([]) == []


def test_the_bills_of_many_contracts_are_read_in_one_look_like_one_by_one(
    container: Container, database_url: str
) -> None:
    # a chunk reads its contracts' recorded bills at once (bills.of_contracts)
    built = build_contracts(database_url, contracts=3, sessions_per_contract=1, period=PERIOD)
    runs.run_billing(container.services, platform_actor(built.operator_id), PERIOD)
    with container.services.uow(read_only=True) as uow:
        many = uow.bills.of_contracts(built.operator_id, [*built.contract_ids, "no-such-contract"])
        one_by_one = {c: list(uow.bills.of_contract(built.operator_id, c)) for c in built.contract_ids}
        other_operator = uow.bills.of_contracts("someone-else", built.contract_ids)
    assert many == {**one_by_one, "no-such-contract": []}
    assert all(len(recorded) == 1 for recorded in one_by_one.values())
    assert other_operator == {contract_id: [] for contract_id in built.contract_ids}


def test_the_terms_of_many_contracts_are_read_in_one_look_like_one_by_one(
    container: Container, database_url: str
) -> None:
    # the run's planning and its chunks read a page's terms at once (of_contracts)
    built = build_contracts(database_url, contracts=3, sessions_per_contract=1, period=PERIOD)
    with container.services.uow(read_only=True) as uow:
        many = uow.contract_terms.of_contracts(built.operator_id, [*built.contract_ids, "no-such-contract"])
        one_by_one = {
            c: list(uow.contract_terms.of_contract(built.operator_id, c)) for c in built.contract_ids
        }
        other_operator = uow.contract_terms.of_contracts("someone-else", built.contract_ids)
    assert many == {**one_by_one, "no-such-contract": []}
    assert all(len(terms) == 1 for terms in one_by_one.values())
    assert other_operator == {contract_id: [] for contract_id in built.contract_ids}


def test_a_chunks_contracts_customers_drivers_and_promotions_are_read_in_one_look_like_one_by_one(
    container: Container, database_url: str
) -> None:
    # a chunk reads its contracts, their customers, the customers' drivers and promotions at once
    built = build_contracts(database_url, contracts=3, sessions_per_contract=1, period=PERIOD)
    op = built.operator_id
    with container.services.uow() as uow:
        contracts = [uow.contracts.get(op, c) for c in built.contract_ids]
        parent = contracts[0].customer_id
        driver = replace(uow.customers.get(op, contracts[1].customer_id), id="driver-1", parent_id=parent)
        uow.customers.add(driver)
        uow.commit()
    customer_ids = [contract.customer_id for contract in contracts]
    with container.services.uow(read_only=True) as uow:
        many_contracts = uow.contracts.where_in(op, "id", [*reversed(built.contract_ids), "no-such-contract"])
        many_customers = uow.customers.where_in(op, "id", customer_ids)
        drivers = uow.customers.where_in(op, "parent_id", customer_ids)
        promotions = uow.customer_promotions.of_customers(op, customer_ids)
        other_operator = uow.contracts.where_in("someone-else", "id", built.contract_ids)
        one_by_one = [uow.customers.get(op, c) for c in customer_ids]
        november = datetime(2026, 11, 1, tzinfo=UTC)
        counts = uow.sessions.counts_before(op, [*customer_ids, "driver-1"], november)
        counted = {c: uow.sessions.count_before(op, [c], november) for c in [*customer_ids, "driver-1"]}
    assert many_contracts == sorted(contracts, key=lambda contract: contract.id)
    assert many_customers == sorted(one_by_one, key=lambda customer: customer.id)
    assert [(d.id, d.parent_id) for d in drivers] == [("driver-1", parent)]
    assert promotions == {customer_id: [] for customer_id in customer_ids}
    assert other_operator == []
    assert counts == counted
    assert sorted(counts.values()) == [0, 1, 1, 1]  # one October session each, none for the driver


INCOMPLETE = (
    "the seller's legal data is incomplete ($.seller.address, $.seller.city, $.seller.postal_code, "
    "$.seller.vat_id): save the seller's legal data with PUT /api/v1/invoicing-profile"
)


def test_without_the_sellers_legal_data_nothing_is_issued_until_the_profile_is_saved(
    container: Container, database_url: str
) -> None:
    # Given an operator that never saved its invoicing profile (its operator record has no VAT id,
    # no address), with three contracts billed in October
    built = build_contracts(database_url, contracts=3, sessions_per_contract=1, period=PERIOD, seller=False)
    who = platform_actor(built.operator_id)
    services = container.services
    # When October is billed, and one of its bills is asked for its invoice directly
    refused = runs.run_billing(services, who, PERIOD)
    bill_id = runs.run_items(services, who, refused.id)[0].bill_id
    with pytest.raises(IncompleteSeller) as asked:
        documents.invoice_bill(services, who, bill_id)
    kept = _numbers(container, built.operator_id)
    # Then the run issued nothing and says why, naming each missing field, the same for every cycle
    assert (refused.status, refused.counts.of(ItemStatus.FAILED), refused.counts.of(ItemStatus.ISSUED)) == (
        RunStatus.DONE, 3, 0,
    )  # fmt: skip
    assert {item.reason for item in runs.run_items(services, who, refused.id)} == {
        f"cannot make the invoice: {INCOMPLETE}"
    }
    assert [(p.path, p.message) for p in asked.value.problems] == [
        ("$.seller.address", "the seller's street and number is required (BR-08; Art. 226(5) VAT directive)"),
        ("$.seller.city", "the seller's city is required (BR-08; Art. 226(5) VAT directive)"),
        ("$.seller.postal_code", "the seller's postal code is required (BR-08; Art. 226(5) VAT directive)"),
        ("$.seller.vat_id", "the seller's VAT id is required to charge VAT (BR-S-02, BR-CO-26)"),
    ]
    # And each bill's document is kept FAILED, with no number taken
    assert sorted(kept, key=lambda row: row[2]) == [
        ("failed", None, contract) for contract in sorted(built.contract_ids)
    ]
    # When the profile is saved and October is billed again
    documents.save_profile(
        services, who, InvoicingProfile(who.operator_id, SELLER, time_zone="Europe/Amsterdam"),
        ibans=container.ibans,
    )  # fmt: skip
    retried = runs.run_billing(services, who, PERIOD)
    # Then all three are issued, numbered 1, 2, 3 without gap, and each is a valid EN 16931 e-invoice:
    # 9.99 + 0.35 + 0.39 x 10, 11, 12 kWh = 14.24, 14.63, 15.02; VAT 2.99, 3.07, 3.15; 17.23 + 17.70 + 18.17
    assert (retried.counts.of(ItemStatus.ISSUED), retried.counts.issued_totals) == (3, {"EUR": 5310})
    assert [row[:2] for row in _numbers(container, built.operator_id)] == [
        ("issued", 1), ("issued", 2), ("issued", 3),
    ]  # fmt: skip
    for item in runs.run_items(services, who, retried.id):
        document = documents.get_document(services, who, item.invoice_id)
        assert document.seller.vat_id == "NL123456782B90"
        assert cii_problems(container.documents.render(document, "cii")) == []
        assert ubl_problems(container.documents.render(document, "ubl")) == []


class RecordingQueue:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, dict[str, str]]] = []

    def enqueue(self, job: str, payload: Mapping[str, str]) -> None:
        self.jobs.append((job, dict(payload)))


def test_a_run_with_no_cycles_is_done_with_progress_one(container: Container, database_url: str) -> None:
    built = build_contracts(database_url, contracts=1, sessions_per_contract=1, period=PERIOD)
    run = runs.run_billing(container.services, platform_actor(built.operator_id), "2025-01")
    assert (run.status, run.counts.total, run.progress) == (RunStatus.DONE, 0, 1.0)


def test_a_queued_run_whose_chunk_job_was_lost_is_enqueued_again_and_finishes(
    container: Container, database_url: str
) -> None:
    # Given a queued run of three contracts, planned, whose one chunk job was lost (a worker killed)
    built = build_contracts(database_url, contracts=3, sessions_per_contract=1, period=PERIOD)
    who, services = platform_actor(built.operator_id), container.services
    lost = RecordingQueue()
    run = runs.enqueue_run(services, who, lost, PERIOD)
    runs.plan_and_enqueue(services, who, lost, run.id)
    assert [job for job, _ in lost.jobs] == [runs.PLAN_JOB, runs.CHUNK_JOB]
    # When the worker looks for stalled runs: not yet stalled, then stalled
    queue = RecordingQueue()
    not_yet = run_recovery.requeue_stalled(services, queue, stale_after=timedelta(hours=1))
    count = run_recovery.requeue_stalled(services, queue, stale_after=timedelta(0))
    # Then the run's three pending items are enqueued again, in one chunk job, which finishes the run
    assert (not_yet, count) == (0, 3)
    [(job, payload)] = queue.jobs
    assert (job, payload) == (runs.CHUNK_JOB, lost.jobs[1][1])
    worked = RecordingQueue()
    done = runs.invoice_chunk_job(services, who, worked, payload)
    assert [item.status for item in done] == [ItemStatus.ISSUED] * 3
    # (done once its invoices went through collection at issue: the chunk's charge job, run here)
    [charge] = [payload for job, payload in worked.jobs if job == runs.CHARGE_JOB]
    assert runs.get_run(services, who, run.id).status is RunStatus.RUNNING
    gateway = SandboxGateway(services.clock.now)
    at_issue.charge_issued(services, gateway, who, charge["invoices"].split(), charge["contracts"].split())
    assert runs.get_run(services, who, run.id).status is RunStatus.DONE
    # And the lost job turning up after all, or the look again, changes nothing
    assert runs.invoice_chunk_job(services, who, None, lost.jobs[1][1]) == []
    assert run_recovery.requeue_stalled(services, RecordingQueue(), stale_after=timedelta(0)) == 0
    assert [row[:2] for row in _numbers(container, built.operator_id)] == [("issued", n) for n in (1, 2, 3)]


def test_an_items_first_outcome_stands_when_a_duplicate_job_does_it_again(
    container: Container, database_url: str
) -> None:
    built = build_contracts(database_url, contracts=2, sessions_per_contract=1, period=PERIOD)
    who, services = platform_actor(built.operator_id), container.services
    run = runs.start_run(services, who, PERIOD, queued=True)
    pending = runs.plan_run(services, who, run.id)
    runs.invoice_chunk(services, who, pending)
    # a duplicate job that read the items while they were still pending
    again = runs.invoice_chunk(services, who, pending)
    assert [item.status for item in again] == [ItemStatus.ALREADY_ISSUED] * 2
    stored = runs.get_run(services, who, run.id)
    assert (stored.counts.of(ItemStatus.ISSUED), stored.counts.of(ItemStatus.ALREADY_ISSUED)) == (2, 0)


@pytest.mark.parametrize(
    ("alive", "stale_after", "status"),
    [(False, timedelta(hours=1), RunStatus.INTERRUPTED), (True, timedelta(0), RunStatus.RUNNING),
     (None, timedelta(hours=1), RunStatus.RUNNING), (None, timedelta(0), RunStatus.INTERRUPTED)],
)  # fmt: skip
def test_a_run_in_place_whose_process_is_gone_is_marked_interrupted(
    container: Container, database_url: str, alive: bool | None, stale_after: timedelta, status: RunStatus
) -> None:
    built = build_contracts(database_url, contracts=1, sessions_per_contract=1, period=PERIOD)
    who, services = platform_actor(built.operator_id), container.services
    run = runs.start_run(services, who, PERIOD, queued=False, owner="elsewhere:123")
    runs.plan_run(services, who, run.id)
    owners: list[str] = []

    def is_alive(owner: str) -> bool | None:
        owners.append(owner)
        return alive

    marked = run_recovery.interrupt_dead(services, who, PERIOD, is_alive, stale_after=stale_after)
    other_period = run_recovery.interrupt_dead(services, who, "2026-09", lambda owner: False)

    assert owners == ["elsewhere:123"]
    assert [m.id for m in marked] == ([run.id] if status is RunStatus.INTERRUPTED else [])
    assert other_period == []
    stored = runs.get_run(services, who, run.id)
    assert (stored.status, stored.owner) == (status, "elsewhere:123")
    assert (stored.finished_at is not None) == (status is RunStatus.INTERRUPTED)
