"""Booked revenue's rollup (``ledger_period_sums``, migration 0033) on SQLite and PostgreSQL: the
revenue and VAT postings summed per quarter hour of posting, kept by every way the ledger is appended
to, read by booked revenue, rebuilt by the migration from the postings, and held against the
postings by ``evbill ledger check``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import astuple
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text

from evbill.adapters.db import migrate
from evbill.adapters.db.ledger.periods import posting_period_sums, quarter_ranges, rollup_period_sums
from evbill.adapters.db.ledger.tables import ledger_entries, ledger_period_sums, ledger_postings
from evbill.application.access.keys import create_operator, platform_actor
from evbill.application.analytics.booked import shown_booked_revenue
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.ledger.bulk import post_in_bulk
from evbill.application.ledger.posting import Receivable, post_invoice_issued
from evbill.application.records import Services
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.analytics.booked import Period, calendar_periods
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.ledger import accounts
from evbill.domain.ledger.accounts import RevenueKind
from evbill.domain.ledger.balances import QUARTER_SUMMED_PREFIXES, quarter_of
from evbill.domain.ledger.entries import EntryCause, LedgerEntry, credit, debit, make_entry
from evbill.domain.money import SettledMoney
from tests.billing_data import SELLER

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # quarter 1995684
Q = quarter_of(AT)
ENERGY, VAT21 = accounts.revenue(RevenueKind.ENERGY), accounts.vat_payable(Decimal(21))


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    made = bootstrap(Settings(database_url=database_url))
    yield made
    made.dispose()


@pytest.fixture
def services(container: Container) -> Services:
    return container.services


@pytest.fixture
def operator_id(services: Services) -> str:
    return create_operator(
        services, name="Alpha", legal_name="Alpha B.V.", country="NL", default_currency="EUR"
    ).id


def invoice(services: Services, operator_id: str, number: str, at: datetime, net: int, vat: int) -> None:
    """An issued invoice posted through ``append``: receivable, energy revenue, VAT at 21 %."""
    with services.uow() as uow:
        post_invoice_issued(
            uow,
            services.ids,
            operator_id=operator_id,
            receivable_=Receivable("invoice", number, "cus-1", SettledMoney(net + vat, "EUR")),
            revenue_by_kind={RevenueKind.ENERGY: net},
            vat_by_rate={Decimal("21"): vat},
            at=at,
        )
        uow.commit()


def sale(operator_id: str, entry_id: str, at: datetime, net: int, currency: str = "EUR") -> LedgerEntry:
    """An entry of ``net`` energy revenue + 21 % VAT (floored) against a receivable, and a wallet
    top-up's postings beside them (not summed: neither revenue nor VAT)."""
    vat = net * 21 // 100
    return make_entry(
        entry_id=entry_id,
        operator_id=operator_id,
        posted_at=at,
        cause=EntryCause.INVOICE_ISSUED,
        reference=f"invoice:{entry_id}",
        description="sale",
        postings=(
            debit(accounts.receivable("cus-1"), net + vat, currency),
            credit(ENERGY, net, currency),
            credit(VAT21, vat, currency),
            debit(accounts.gateway_clearing("sandbox"), 5, currency),
            credit(accounts.wallet("w-1"), 5, currency),
        ),
    )


def rollup(engine: Engine, operator_id: str) -> dict[tuple[int, str, str], int]:
    r = ledger_period_sums.c
    with engine.connect() as connection:
        rows = connection.execute(
            select(r.quarter, r.account, r.currency, r.amount).where(r.operator_id == operator_id)
        )
        return {(quarter, account, currency): amount for quarter, account, currency, amount in rows}


def from_postings(engine: Engine, operator_id: str) -> dict[tuple[int, str, str], int]:
    """The same sums made here from the stored postings and their entries' times."""
    e, p = ledger_entries.c, ledger_postings.c
    sums: dict[tuple[int, str, str], int] = defaultdict(int)
    with engine.connect() as connection:
        rows = connection.execute(
            select(e.posted_at, p.account, p.currency, p.amount)
            .join(ledger_entries, (e.operator_id == p.operator_id) & (e.id == p.entry_id))
            .where(p.operator_id == operator_id)
        )
        for posted_at, account, currency, amount in rows:
            if account.startswith(QUARTER_SUMMED_PREFIXES):
                sums[(quarter_of(posted_at), account, currency)] += amount
    return dict(sums)


def test_every_way_of_appending_adds_its_revenue_and_vat_postings_to_their_quarter_hour(
    services, operator_id, database_engine
):
    # Given two invoices in one quarter hour through append (09:00 and 09:14:59.999999) and one in
    # the next (09:15)
    invoice(services, operator_id, "inv-1", AT, 1000, 210)
    invoice(services, operator_id, "inv-2", AT + timedelta(minutes=15, microseconds=-1), 500, 105)
    invoice(services, operator_id, "inv-3", AT + timedelta(minutes=15), 300, 63)
    # and entries appended at once (COPY on PostgreSQL), one in USD in the first quarter
    with services.uow() as uow:
        uow.ledger.append_many(
            [sale(operator_id, "many-1", AT + timedelta(minutes=1), 2000),
             sale(operator_id, "many-2", AT + timedelta(minutes=2), 700, "USD")]
        )  # fmt: skip
        uow.commit()
    # and entries held by a batch (a billing run's chunk) and written when it ends
    with services.uow() as uow:
        with uow.ledger.batched():
            uow.ledger.append(sale(operator_id, "held-1", AT + timedelta(minutes=3), 100))
            uow.ledger.append(sale(operator_id, "held-2", AT + timedelta(hours=1), 100))
        uow.commit()
    # and 40 entries posted in bulk, 7 minutes apart, in batches of 3 by two writers at once (the
    # batches share quarter hours, and the first ones those of the entries above)
    posted = post_in_bulk(
        services,
        (sale(operator_id, f"bulk-{n}", AT + timedelta(minutes=7 * n), 10 + n) for n in range(40)),
        batch_size=3,
        writers=2,
    )
    assert posted.entries == 40

    # Then each quarter hour holds exactly its postings' sums
    summed = rollup(database_engine, operator_id)
    assert summed == from_postings(database_engine, operator_id)
    # by hand: the first quarter has inv-1, inv-2, many-1, held-1 and bulk-0, -1, -2 (0, 7, 14 min)
    assert summed[(Q, ENERGY.code, "EUR")] == -(1000 + 500 + 2000 + 100 + 10 + 11 + 12)
    assert summed[(Q, VAT21.code, "EUR")] == -(210 + 105 + 420 + 21 + 2 + 2 + 2)
    assert summed[(Q, ENERGY.code, "USD")] == -700
    assert summed[(Q + 1, ENERGY.code, "EUR")] == -(300 + 13 + 14)  # inv-3, bulk-3 (21), bulk-4 (28)
    # and only revenue and VAT accounts are summed
    assert {account for _, account, _ in summed} == {ENERGY.code, VAT21.code}
    # and the rollup's answer to booked revenue is the postings' (by day: one period)
    periods = [(AT, AT + timedelta(days=1))]
    with database_engine.connect() as connection:
        ranges = quarter_ranges(periods)
        assert ranges == [(Q, Q + 96)]
        from_rollup = rollup_period_sums(connection, operator_id, ranges, QUARTER_SUMMED_PREFIXES)
        read = posting_period_sums(connection, operator_id, periods, QUARTER_SUMMED_PREFIXES)
    assert (
        sorted(map(astuple, from_rollup))
        == sorted(map(astuple, read))
        == [
            (0, ENERGY.code, "EUR", -(1800 + 2000 + 200 + sum(range(10, 50)))),  # invoices, many, held, bulk
            (0, ENERGY.code, "USD", -700),
            (
                0,
                VAT21.code,
                "EUR",
                -(210 + 105 + 63 + 420 + 21 + 21 + sum(n * 21 // 100 for n in range(10, 50))),
            ),
            (0, VAT21.code, "USD", -147),
        ]
    )


def test_a_bound_that_is_not_a_whole_quarter_hour_is_not_read_from_the_rollup():
    # Amsterdam's local mean time (+00:19:32 before 1937) puts midnight inside a quarter hour
    odd = datetime(1930, 1, 1, 23, 40, 28, tzinfo=UTC)
    assert quarter_ranges([(odd, odd + timedelta(days=1))]) is None
    assert quarter_ranges([(AT, AT + timedelta(minutes=30))]) == [(Q, Q + 2)]


def test_a_kathmandu_day_begins_at_18_15_utc_and_booked_revenue_splits_there(
    container, services, operator_id, database_engine
):
    # Given an operator dating its documents in Asia/Kathmandu (UTC+05:45)
    who = platform_actor(operator_id)
    with services.uow() as uow:
        uow.invoices.save_profile(
            InvoicingProfile(operator_id, SELLER, time_zone="Asia/Kathmandu"), services.clock.now()
        )
        uow.commit()
    # and invoices at 23:59:59 local on 30 November and at midnight and 00:14 local on 1 December
    last_moment = datetime(2026, 11, 30, 18, 14, 59, tzinfo=UTC)
    invoice(services, operator_id, "inv-late", last_moment, 1000, 210)
    invoice(services, operator_id, "inv-midnight", datetime(2026, 11, 30, 18, 15, tzinfo=UTC), 200, 42)
    invoice(services, operator_id, "inv-early", datetime(2026, 11, 30, 18, 29, tzinfo=UTC), 100, 21)

    # When booked revenue is read by day and by month
    by_day = shown_booked_revenue(services, who, first=None, end=None, period=Period.DAY)
    by_month = shown_booked_revenue(
        services, who, first=date(2026, 11, 1), end=date(2027, 1, 1), period=Period.MONTH
    )

    # Then 30 November has the first invoice only, 1 December the other two
    figures = ("key", "energy_net", "vat", "gross")
    assert by_day["time_zone"] == "Asia/Kathmandu"
    assert [tuple(row[name] for name in figures) for row in by_day["rows"]] == [  # type: ignore[attr-defined]
        ("2026-11-30", "10.00", "2.10", "12.10"),
        ("2026-12-01", "3.00", "0.63", "3.63"),
    ]
    assert [tuple(row[name] for name in figures) for row in by_month["rows"]] == [  # type: ignore[attr-defined]
        ("2026-11", "10.00", "2.10", "12.10"),
        ("2026-12", "3.00", "0.63", "3.63"),
    ]
    # and the day's boundary is a quarter hour's: 23:59:59 local is in the quarter before it
    kathmandu = calendar_periods(date(2026, 12, 1), date(2026, 12, 2), Period.DAY, ZoneInfo("Asia/Kathmandu"))
    assert quarter_ranges([(p.starts, p.ends) for p in kathmandu]) == [
        (quarter_of(last_moment) + 1, quarter_of(last_moment) + 97)
    ]


def test_the_migration_sums_the_postings_already_stored(services, operator_id, database_url, database_engine):
    # Given entries stored before 0033: a quarter's last microsecond, the next quarter's first, another
    # currency, and one half a second before the epoch (quarter -1)
    invoice(services, operator_id, "inv-1", AT, 1000, 210)
    invoice(services, operator_id, "inv-2", AT + timedelta(minutes=15, microseconds=-1), 500, 105)
    invoice(services, operator_id, "inv-3", AT + timedelta(minutes=15), 300, 63)
    with services.uow() as uow:
        uow.ledger.append_many(
            [sale(operator_id, "usd-1", AT + timedelta(days=40), 700, "USD"),
             sale(operator_id, "old-1", datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), 100)]
        )  # fmt: skip
        uow.commit()
    kept = rollup(database_engine, operator_id)
    migrate.downgrade(database_url, "0032")

    # When the database is migrated to 0033
    migrate.upgrade(database_url)

    # Then the rollup holds the postings' sums again, as the appends had kept them
    rebuilt = rollup(database_engine, operator_id)
    assert rebuilt == kept == from_postings(database_engine, operator_id)
    assert rebuilt[(Q, ENERGY.code, "EUR")] == -1500
    assert rebuilt[(Q + 1, VAT21.code, "EUR")] == -63
    assert rebuilt[(-1, ENERGY.code, "EUR")] == -100
    assert len(rebuilt) == 8  # (Q, Q + 1, USD's, -1) x (energy, VAT)


def test_ledger_check_names_a_rollup_row_that_disagrees_with_the_postings(
    services, operator_id, database_engine
):
    # Given a sound ledger, checked sound
    invoice(services, operator_id, "inv-1", AT, 1000, 210)
    invoice(services, operator_id, "inv-2", AT + timedelta(hours=2), 500, 105)
    assert check_all_books(services).findings == ()
    # When one quarter's energy revenue is changed by hand and another's VAT row deleted
    with database_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE ledger_period_sums SET amount = amount - 5 "
                "WHERE operator_id = :op AND quarter = :q AND account = 'revenue:energy'"
            ),
            {"op": operator_id, "q": Q},
        )
        connection.execute(
            text(
                "DELETE FROM ledger_period_sums "
                "WHERE operator_id = :op AND quarter = :q AND account = 'vat_payable:21'"
            ),
            {"op": operator_id, "q": Q + 8},
        )

    # Then the check names both accounts with both sums, and nothing else
    assert [str(finding) for finding in check_all_books(services).findings] == [
        f"operator {operator_id}: quarter-hour sums of revenue:energy EUR: "
        "sum to -1505, the account's postings to -1500",
        f"operator {operator_id}: quarter-hour sums of vat_payable:21 EUR: "
        "sum to -210, the account's postings to -315",
    ]
