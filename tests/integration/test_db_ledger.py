"""The ledger on SQLite and PostgreSQL: append-only, posted in the caller's transaction, checked by sums."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from evbill.application.access.keys import create_operator, platform_actor
from evbill.application.ledger import queries
from evbill.application.ledger.bulk import (
    BulkPosting,
    BulkPostingFailed,
    collector_paused,
    post_in_bulk,
)
from evbill.application.ledger.check import check_ledger
from evbill.application.ledger.posting import Receivable, post, post_invoice_issued
from evbill.application.records import Services
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.ledger import accounts
from evbill.domain.ledger.accounts import RevenueKind
from evbill.domain.ledger.entries import (
    EntryCause,
    LedgerEntry,
    UnbalancedEntry,
    credit,
    debit,
    make_entry,
)
from evbill.domain.money import SettledMoney

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    container = bootstrap(Settings(database_url=database_url))
    yield container.services
    container.dispose()


@pytest.fixture
def operator_id(services: Services) -> str:
    return create_operator(
        services, name="Alpha", legal_name="Alpha B.V.", country="NL", default_currency="EUR"
    ).id


def invoice(services: Services, operator_id: str, invoice_id: str, at: datetime = AT) -> None:
    """Given an issued invoice of 12.10 EUR: 10.00 energy + 2.10 VAT at 21 %."""
    with services.uow() as uow:
        post_invoice_issued(
            uow,
            services.ids,
            operator_id=operator_id,
            receivable_=Receivable("invoice", invoice_id, "cus-1", SettledMoney(1210, "EUR")),
            revenue_by_kind={RevenueKind.ENERGY: 1000},
            vat_by_rate={Decimal("21"): 210},
            at=at,
        )
        uow.commit()


def test_an_issued_invoice_posts_receivable_revenue_and_vat(services, operator_id):
    invoice(services, operator_id, "inv-1")

    balance = queries.trial_balance(services, platform_actor(operator_id))

    assert [(b.account, b.currency, b.debit, b.credit, b.balance) for b in balance.accounts] == [
        ("receivable:cus-1", "EUR", 1210, 0, 1210),
        ("revenue:energy", "EUR", 0, 1000, -1000),
        ("vat_payable:21", "EUR", 0, 210, -210),
    ]
    assert balance.totals == {"EUR": 0}


def test_a_statement_lists_an_accounts_postings_with_the_running_balance(services, operator_id):
    invoice(services, operator_id, "inv-1")
    invoice(services, operator_id, "inv-2", AT + timedelta(days=1))

    lines = queries.account_statement(services, platform_actor(operator_id), "receivable:cus-1", "EUR")

    assert [(line.reference, line.amount, line.running_balance) for line in lines] == [
        ("invoice:inv-1", 1210, 1210),
        ("invoice:inv-2", 1210, 2420),
    ]


def test_an_entry_is_posted_with_its_event_or_not_at_all(services, operator_id):
    # given a transaction that posts an entry and then fails before commit
    with services.uow() as uow:
        post(
            uow,
            services.ids,
            operator_id=operator_id,
            at=AT,
            cause=EntryCause.PAYOUT,
            reference="payout-1",
            description="payout",
            postings=(debit(accounts.BANK, 500, "EUR"), credit(accounts.gateway_clearing("s"), 500, "EUR")),
        )
    # then nothing was stored
    assert queries.trial_balance(services, platform_actor(operator_id)).accounts == []


def test_an_unbalanced_entry_never_reaches_the_database(services, operator_id):
    with services.uow() as uow, pytest.raises(UnbalancedEntry):
        post(
            uow,
            services.ids,
            operator_id=operator_id,
            at=AT,
            cause=EntryCause.PAYOUT,
            reference="payout-1",
            description="payout",
            postings=(debit(accounts.BANK, 500, "EUR"), credit(accounts.gateway_clearing("s"), 499, "EUR")),
        )

    assert check_ledger(services).entries_checked == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_postings SET amount = amount + 1",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_entries SET description = 'changed'",
        "DELETE FROM ledger_entries",
    ],
)
def test_the_database_refuses_to_change_the_ledger(services, operator_id, database_engine, statement):
    invoice(services, operator_id, "inv-1")

    with database_engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text(statement))


def test_the_check_passes_on_a_sound_ledger(services, operator_id):
    invoice(services, operator_id, "inv-1")

    report = check_ledger(services)

    assert report.ok
    assert (report.operators, report.entries_checked) == (1, 1)


def test_the_check_names_an_entry_written_around_the_domain_that_does_not_balance(
    services, operator_id, database_engine
):
    # given an entry whose postings were inserted by hand, one cent off, and one with no postings
    invoice(services, operator_id, "inv-1")
    with database_engine.begin() as connection:
        for entry_id in ("bad-1", "bad-2"):
            connection.execute(
                text(
                    "INSERT INTO ledger_entries (id, operator_id, posted_at, cause, reference, description) "
                    "VALUES (:id, :op, :at, 'adjustment', 'x', 'by hand')"
                ),
                {"id": entry_id, "op": operator_id, "at": "2026-12-01T10:00:00.000000Z"},
            )
        connection.execute(
            text(
                "INSERT INTO ledger_postings (operator_id, entry_id, account, currency, amount) VALUES "
                "(:op, 'bad-1', 'bank', 'EUR', 1000), (:op, 'bad-1', 'receivable:c', 'EUR', -999)"
            ),
            {"op": operator_id},
        )

    report = check_ledger(services)

    assert [str(finding) for finding in report.findings] == [
        f"operator {operator_id}: entry bad-1: EUR postings sum to 1, not 0",
        f"operator {operator_id}: entry bad-2: has no postings",
        f"operator {operator_id}: trial balance EUR: sums to 1, not 0",
    ]


def test_entries_appended_in_bulk_are_stored_with_the_unit_of_work_commit(services, operator_id):
    # given three entries appended at once (COPY on PostgreSQL) as the only work of a transaction
    made = [
        make_entry(
            entry_id=f"bulk-{index}",
            operator_id=operator_id,
            posted_at=AT + timedelta(minutes=index),
            cause=EntryCause.WALLET_TOPPED_UP,
            reference=f"topup-{index}",
            description="top-up",
            postings=(
                debit(accounts.gateway_clearing("sandbox"), 500 + index, "EUR"),
                credit(accounts.wallet("w-1"), 500 + index, "EUR"),
            ),
        )
        for index in range(3)
    ]
    with services.uow() as uow:
        uow.ledger.append_many(made)
        uow.commit()

    # then all three are there, postings in order, and the wallet owes 15.03
    assert list(queries.journal(services, platform_actor(operator_id), after=None, limit=10)) == made
    balances = queries.trial_balance(services, platform_actor(operator_id)).accounts
    assert [(b.account, b.balance) for b in balances] == [
        ("gateway_clearing:sandbox", 1503),
        ("wallet:w-1", -1503),
    ]


def test_text_that_copy_would_misread_is_stored_as_written(services, operator_id):
    # given an entry whose texts hold a tab, a newline, a backslash, COPY's NULL marker and non-ASCII
    odd = "tab\there\nline 2 \\ back\\slash \\N é€"
    made = make_entry(
        entry_id="odd-1",
        operator_id=operator_id,
        posted_at=AT,
        cause=EntryCause.ADJUSTMENT,
        reference="ref\t\\N",
        description=odd,
        postings=(debit(accounts.wallet("w\\1\tx"), 7, "EUR"), credit(accounts.BANK, 7, "EUR")),
    )

    # when it is appended in bulk (COPY text on PostgreSQL)
    with services.uow() as uow:
        uow.ledger.append_many([made])
        uow.commit()

    # then it reads back exactly
    assert list(queries.journal(services, platform_actor(operator_id), after=None, limit=10)) == [made]


@pytest.mark.parametrize(
    "statement",
    [
        # a posting of an entry that does not exist
        "INSERT INTO ledger_postings (operator_id, entry_id, account, currency, amount) "
        "VALUES (:op, 'no-such-entry', 'bank', 'EUR', 1)",
        # a posting of an entry of another operator
        "INSERT INTO ledger_postings (operator_id, entry_id, account, currency, amount) "
        "VALUES ('another-operator', :entry, 'bank', 'EUR', 1)",
        # an entry of an operator that does not exist
        "INSERT INTO ledger_entries (id, operator_id, posted_at, cause, reference, description) "
        "VALUES ('e-x', 'no-such-operator', '2026-12-01T10:00:00.000000Z', 'adjustment', 'x', 'x')",
        # an operator that still has ledger entries
        "DELETE FROM operators WHERE id = :op",
    ],
)
def test_the_database_refuses_postings_and_entries_that_belong_to_nothing(
    services, operator_id, database_engine, statement
):
    invoice(services, operator_id, "inv-1")
    with database_engine.connect() as connection:
        entry = connection.execute(text("SELECT id FROM ledger_entries")).scalar_one()

    with database_engine.connect() as connection, pytest.raises(DBAPIError) as refused:
        connection.execute(text(statement), {"op": operator_id, "entry": entry})

    assert refused.value.orig is not None
    assert "FOREIGN KEY" in str(refused.value.orig) or getattr(refused.value.orig, "sqlstate", "") == "23503"


def topup(operator_id: str, index: int) -> LedgerEntry:
    return make_entry(
        entry_id=f"bulk-{index:02d}",
        operator_id=operator_id,
        posted_at=AT + timedelta(minutes=index),
        cause=EntryCause.WALLET_TOPPED_UP,
        reference=f"topup-{index}",
        description="top-up",
        postings=(
            debit(accounts.gateway_clearing("sandbox"), 100 + index, "EUR"),
            credit(accounts.wallet("w-1"), 100 + index, "EUR"),
        ),
    )


def test_entries_posted_in_bulk_are_written_batch_by_batch_and_the_collector_resumes(services, operator_id):
    # given five entries, taken lazily, in batches of two
    made = [topup(operator_id, index) for index in range(5)]

    posted = post_in_bulk(services, iter(made), batch_size=2)

    # then three batches held all five, stored as made; the wallet owes 1.00+1.01+...+1.04 = 5.10
    assert posted == BulkPosting(entries=5, batches=3)
    assert list(queries.journal(services, platform_actor(operator_id), after=None, limit=10)) == made
    balances = queries.trial_balance(services, platform_actor(operator_id)).accounts
    assert [(b.account, b.balance) for b in balances] == [
        ("gateway_clearing:sandbox", 510),
        ("wallet:w-1", -510),
    ]
    assert gc.isenabled()
    assert check_ledger(services).ok


def journal_ids(services: Services, operator_id: str) -> list[str]:
    return [e.id for e in queries.journal(services, platform_actor(operator_id), after=None, limit=20)]


def refused_by_the_database(failed: BulkPostingFailed) -> bool:
    cause = failed.__cause__
    return "FOREIGN KEY" in str(cause) or getattr(cause, "sqlstate", "") == "23503"


def test_a_bulk_batch_the_database_refuses_stops_the_import_and_keeps_the_batches_before(
    services, operator_id
):
    # given two good entries, then a batch holding an entry of an operator that does not exist
    made = [topup(operator_id, 0), topup(operator_id, 1), topup(operator_id, 2), topup("no-such-op", 3)]

    with pytest.raises(BulkPostingFailed) as refused:
        post_in_bulk(services, iter(made), batch_size=2)

    # then the error names the refused batch (1) and the one committed (0, written at the same time)
    assert refused_by_the_database(refused.value)
    assert (refused.value.batch, refused.value.committed, refused.value.committed_entries) == (1, (0,), 2)
    # the first batch is stored, nothing of the refused one, and the collector is back on
    assert journal_ids(services, operator_id) == ["bulk-00", "bulk-01"]
    assert gc.isenabled()


def test_a_refused_bulk_batch_reports_exactly_the_batches_committed_around_it(services, operator_id):
    # given batches of two: good, refused (an unknown operator), good, good
    made = [topup(operator_id, i) for i in range(3)] + [topup("no-such-op", 3)]
    made += [topup(operator_id, i) for i in range(4, 8)]

    with pytest.raises(BulkPostingFailed) as refused:
        post_in_bulk(services, iter(made), batch_size=2, writers=2)

    # then batch 0 is committed and 1 is not; batches 2 and 3, written while 1 was, may have committed
    # before the refusal was known: what is stored is exactly what the error says was committed
    failed = refused.value
    assert refused_by_the_database(failed)
    assert failed.batch == 1
    assert failed.committed in ((0,), (0, 2), (0, 3), (0, 2, 3))
    assert failed.committed_entries == 2 * len(failed.committed)
    stored = [made[2 * n + i].id for n in failed.committed for i in (0, 1)]
    assert journal_ids(services, operator_id) == stored
    assert gc.isenabled()


def test_a_refused_bulk_batch_with_one_writer_keeps_only_the_batches_before(services, operator_id):
    # given batches of two: good, refused, good, written one after the other
    made = [topup(operator_id, 0), topup(operator_id, 1), topup(operator_id, 2), topup("no-such-op", 3)]
    made += [topup(operator_id, 4), topup(operator_id, 5)]

    with pytest.raises(BulkPostingFailed) as refused:
        post_in_bulk(services, iter(made), batch_size=2, writers=1)

    # then only batch 0 is committed
    assert (refused.value.batch, refused.value.committed) == (1, (0,))
    assert journal_ids(services, operator_id) == ["bulk-00", "bulk-01"]


def test_the_collector_pauses_while_any_pause_runs_and_resumes_as_it_was():
    assert gc.isenabled()
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still runs
    assert gc.isenabled()

    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def insert_by_hand(
    database_engine, operator_id: str, entry_id: str, postings: list[tuple[str, str, int]]
) -> None:
    """An entry written around the domain, with the postings given as (account, currency, amount)."""
    with database_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ledger_entries (id, operator_id, posted_at, cause, reference, description) "
                "VALUES (:id, :op, :at, 'adjustment', 'x', 'by hand')"
            ),
            {"id": entry_id, "op": operator_id, "at": "2026-12-01T10:00:00.000000Z"},
        )
        for account, currency, amount in postings:
            connection.execute(
                text(
                    "INSERT INTO ledger_postings (operator_id, entry_id, account, currency, amount) "
                    "VALUES (:op, :entry, :account, :currency, :amount)"
                ),
                {
                    "op": operator_id,
                    "entry": entry_id,
                    "account": account,
                    "currency": currency,
                    "amount": amount,
                },
            )


def test_the_check_names_an_entry_without_postings_when_every_other_entry_balances(
    services, operator_id, database_engine
):
    # given sound entries and one entry with no postings at all (nothing else is wrong)
    invoice(services, operator_id, "inv-1")
    invoice(services, operator_id, "inv-2")
    insert_by_hand(database_engine, operator_id, "bare-1", [])

    report = check_ledger(services)

    assert [str(finding) for finding in report.findings] == [
        f"operator {operator_id}: entry bare-1: has no postings",
    ]
    assert report.entries_checked == 3


def test_the_check_weighs_an_entry_in_two_currencies_by_currency(services, operator_id, database_engine):
    # given an entry balanced in EUR and in USD, and one balanced in EUR whose USD is 1 cent off
    invoice(services, operator_id, "inv-1")
    insert_by_hand(
        database_engine,
        operator_id,
        "fx-1",
        [("bank", "EUR", 500), ("suspense", "EUR", -500), ("bank", "USD", 700), ("suspense", "USD", -700)],
    )
    assert check_ledger(services).ok
    insert_by_hand(
        database_engine,
        operator_id,
        "fx-2",
        [("bank", "EUR", 500), ("suspense", "EUR", -500), ("bank", "USD", 700), ("suspense", "USD", -699)],
    )

    report = check_ledger(services)

    assert [str(finding) for finding in report.findings] == [
        f"operator {operator_id}: entry fx-2: USD postings sum to 1, not 0",
        f"operator {operator_id}: trial balance USD: sums to 1, not 0",
    ]


def test_the_check_names_an_entry_with_a_single_posting_of_nothing(services, operator_id, database_engine):
    # given an entry of one posting of 0 EUR: it sums to zero, yet is not a double entry
    invoice(services, operator_id, "inv-1")
    insert_by_hand(database_engine, operator_id, "one-1", [("bank", "EUR", 0)])

    report = check_ledger(services)

    assert [str(finding) for finding in report.findings] == [
        f"operator {operator_id}: entry one-1: only one EUR posting",
    ]
