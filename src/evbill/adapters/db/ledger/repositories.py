"""The ledger's storage: entries and postings appended in the caller's transaction, and the sums
the trial balance, statements and ``evbill ledger check`` read.

The check's sums run in the database (``GROUP BY ... HAVING``), so proving a million entries balanced
reads no rows into Python unless something is wrong. Bulk appends go in with ``COPY`` on PostgreSQL
and ``executemany`` elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, insert, literal, or_, select, tuple_

from evbill.adapters.db.ledger.tables import ledger_entries, ledger_postings
from evbill.adapters.db.repositories import ConnectionSource, check_limit
from evbill.application.ports import Imbalance
from evbill.domain.ledger.balances import AccountBalance, StatementLine
from evbill.domain.ledger.entries import EntryCause, LedgerEntry, Posting

COPY_BATCH = 50_000


def _entry_row(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "operator_id": entry.operator_id,
        "posted_at": entry.posted_at,
        "cause": entry.cause.value,
        "reference": entry.reference,
        "description": entry.description,
    }


def _posting_rows(entry: LedgerEntry) -> Iterator[dict[str, Any]]:
    for posting in entry.postings:
        yield {
            "operator_id": entry.operator_id,
            "entry_id": entry.id,
            "account": posting.account,
            "currency": posting.currency,
            "amount": posting.amount,
        }


def _posting_id(cursor: str) -> int | None:
    return int(cursor) if cursor.isascii() and cursor.isdecimal() and len(cursor) <= 18 else None


class SqlLedgerRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def append(self, entry: LedgerEntry) -> None:
        connection = self._connection()
        connection.execute(insert(ledger_entries), [_entry_row(entry)])
        connection.execute(insert(ledger_postings), list(_posting_rows(entry)))

    def append_many(self, entries: Sequence[LedgerEntry]) -> None:
        if not entries:
            return
        connection = self._connection()
        entry_rows = [_entry_row(entry) for entry in entries]
        posting_rows = [row for entry in entries for row in _posting_rows(entry)]
        if connection.dialect.name == "postgresql":
            if not connection.in_transaction():
                # COPY goes through the driver: SQLAlchemy must have begun the transaction, or the
                # unit of work's commit() would commit nothing and the rows would roll back.
                connection.begin()
            _copy(connection, ledger_entries, entry_rows)
            _copy(connection, ledger_postings, posting_rows)
            return
        connection.execute(insert(ledger_entries), entry_rows)
        connection.execute(insert(ledger_postings), posting_rows)

    def entries(self, operator_id: str, *, after: str | None, limit: int) -> Sequence[LedgerEntry]:
        check_limit(limit)
        connection = self._connection()
        query = select(ledger_entries).where(ledger_entries.c.operator_id == operator_id)
        if after is not None:
            mark = connection.execute(
                select(ledger_entries.c.posted_at, ledger_entries.c.id).where(
                    ledger_entries.c.operator_id == operator_id, ledger_entries.c.id == after
                )
            ).first()
            if mark is not None:
                query = query.where(
                    tuple_(ledger_entries.c.posted_at, ledger_entries.c.id)
                    > tuple_(
                        literal(mark[0], ledger_entries.c.posted_at.type),
                        literal(mark[1], ledger_entries.c.id.type),
                    )
                )
        query = query.order_by(ledger_entries.c.posted_at, ledger_entries.c.id).limit(limit)
        heads = connection.execute(query).mappings().all()
        if not heads:
            return []
        postings: dict[str, list[Posting]] = {row["id"]: [] for row in heads}
        rows = connection.execute(
            select(ledger_postings)
            .where(
                ledger_postings.c.operator_id == operator_id,
                ledger_postings.c.entry_id.in_(list(postings)),
            )
            .order_by(ledger_postings.c.id)
        ).mappings()
        for row in rows:
            postings[row["entry_id"]].append(Posting(row["account"], row["amount"], row["currency"]))
        return [
            LedgerEntry(
                row["id"],
                row["operator_id"],
                row["posted_at"],
                EntryCause(row["cause"]),
                row["reference"],
                row["description"],
                tuple(postings[row["id"]]),
            )
            for row in heads
        ]

    def balances(self, operator_id: str) -> Sequence[AccountBalance]:
        amount = ledger_postings.c.amount
        debit = func.coalesce(func.sum(amount).filter(amount > 0), 0)
        credit = func.coalesce(-func.sum(amount).filter(amount < 0), 0)
        query = (
            select(ledger_postings.c.account, ledger_postings.c.currency, debit, credit)
            .where(ledger_postings.c.operator_id == operator_id)
            .group_by(ledger_postings.c.account, ledger_postings.c.currency)
            .order_by(ledger_postings.c.account, ledger_postings.c.currency)
        )
        return [
            AccountBalance(account, currency, int(debits), int(credits), int(debits) - int(credits))
            for account, currency, debits, credits in self._connection().execute(query)
        ]

    def statement(
        self,
        operator_id: str,
        account: str,
        currency: str,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> Sequence[StatementLine]:
        joined = ledger_postings.join(
            ledger_entries,
            (ledger_entries.c.operator_id == ledger_postings.c.operator_id)
            & (ledger_entries.c.id == ledger_postings.c.entry_id),
        )
        mine = (
            ledger_postings.c.operator_id == operator_id,
            ledger_postings.c.account == account,
            ledger_postings.c.currency == currency,
        )
        place = tuple_(ledger_entries.c.posted_at, ledger_entries.c.id, ledger_postings.c.id)
        query = (
            select(
                ledger_postings.c.id,
                ledger_entries.c.id,
                ledger_entries.c.posted_at,
                ledger_entries.c.cause,
                ledger_entries.c.reference,
                ledger_entries.c.description,
                ledger_postings.c.amount,
            )
            .select_from(joined)
            .where(*mine)
            .order_by(ledger_entries.c.posted_at, ledger_entries.c.id, ledger_postings.c.id)
        )
        connection = self._connection()
        running = 0
        if after is not None:
            mark = (
                connection.execute(
                    select(ledger_entries.c.posted_at, ledger_entries.c.id, ledger_postings.c.id)
                    .select_from(joined)
                    .where(*mine, ledger_postings.c.id == _posting_id(after))
                ).first()
                if _posting_id(after) is not None
                else None
            )
            if mark is None:
                return []  # not a line of this statement: nothing after it
            bound = tuple_(  # typed, so the moment is bound as stored (SQLite keeps it as text)
                literal(mark[0], ledger_entries.c.posted_at.type),
                literal(mark[1], ledger_entries.c.id.type),
                literal(mark[2], ledger_postings.c.id.type),
            )
            opening = select(func.coalesce(func.sum(ledger_postings.c.amount), 0)).select_from(joined)
            running = int(connection.scalar(opening.where(*mine, place <= bound)) or 0)
            query = query.where(place > bound)
        if limit is not None:
            check_limit(limit)
            query = query.limit(limit)
        lines: list[StatementLine] = []
        for posting_id, entry_id, posted_at, cause, reference, description, amount in connection.execute(
            query
        ):
            running += amount
            lines.append(
                StatementLine(
                    entry_id, posted_at, cause, reference, description, amount, running, str(posting_id)
                )
            )
        return lines

    def imbalances(self, operator_id: str) -> Sequence[Imbalance]:
        connection = self._connection()
        total = func.sum(ledger_postings.c.amount)
        count = func.count()
        unbalanced = (
            select(ledger_postings.c.entry_id, ledger_postings.c.currency, total, count)
            .where(ledger_postings.c.operator_id == operator_id)
            .group_by(ledger_postings.c.entry_id, ledger_postings.c.currency)
            .having(or_(total != 0, count < 2))
        )
        found = [
            Imbalance(entry_id, currency, int(sum_), n)
            for entry_id, currency, sum_, n in connection.execute(unbalanced)
        ]
        without_postings = select(ledger_entries.c.id).where(
            ledger_entries.c.operator_id == operator_id,
            ~select(literal(1))
            .where(
                ledger_postings.c.operator_id == ledger_entries.c.operator_id,
                ledger_postings.c.entry_id == ledger_entries.c.id,
            )
            .exists(),
        )
        found.extend(Imbalance(entry_id, "", 0, 0) for (entry_id,) in connection.execute(without_postings))
        return sorted(found, key=lambda imbalance: (imbalance.entry_id, imbalance.currency))

    def count(self, operator_id: str) -> int:
        query = (
            select(func.count())
            .select_from(ledger_entries)
            .where(ledger_entries.c.operator_id == operator_id)
        )
        return int(self._connection().execute(query).scalar_one())

    def sums_by_reference(self, operator_id: str, account_prefix: str) -> Mapping[tuple[str, str], int]:
        query = (
            select(ledger_entries.c.reference, ledger_postings.c.currency, func.sum(ledger_postings.c.amount))
            .join(
                ledger_entries,
                (ledger_entries.c.operator_id == ledger_postings.c.operator_id)
                & (ledger_entries.c.id == ledger_postings.c.entry_id),
            )
            .where(
                ledger_postings.c.operator_id == operator_id,
                ledger_postings.c.account.startswith(account_prefix, autoescape=True),
            )
            .group_by(ledger_entries.c.reference, ledger_postings.c.currency)
        )
        return {
            (reference, currency): int(total)
            for reference, currency, total in self._connection().execute(query)
        }


def _copy(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL (psycopg): rows in one COPY per batch, inside the connection's transaction."""
    columns = [column for column in table.columns if column.key in rows[0]]
    process = [column.type._cached_bind_processor(connection.dialect) for column in columns]
    names = ", ".join(column.name for column in columns)
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        for start in range(0, len(rows), COPY_BATCH):
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows[start : start + COPY_BATCH]:
                    copy.write_row(
                        [
                            row[column.key] if processor is None else processor(row[column.key])
                            for column, processor in zip(columns, process, strict=True)
                        ]
                    )
