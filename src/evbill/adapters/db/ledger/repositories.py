"""The ledger's storage: entries and postings appended in the caller's transaction, and the sums
the trial balance, statements and ``evbill ledger check`` read.

The check's sums run in the database (``GROUP BY ... HAVING``), so proving a million entries balanced
reads no rows into Python unless something is wrong. Bulk appends go in with ``COPY`` on PostgreSQL
and ``executemany`` elsewhere.

The ``COPY`` path writes the rows as COPY text built here (one string per table, escaped as COPY's
text format requires), not row by row through the driver's adapters: at a million entries the
per-value adaptation cost more than the server's insert. A queued writer sends the entries while the
postings' text is built, so the client's work overlaps the server's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC
from typing import Any

from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection, case, distinct, func, insert, literal, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from evbill.adapters.db.ledger.periods import SqlLedgerPeriods
from evbill.adapters.db.ledger.tables import ledger_entries, ledger_period_sums, ledger_postings
from evbill.adapters.db.repositories import ConnectionSource, check_limit
from evbill.application.ports import Imbalance
from evbill.domain.ledger.balances import AccountBalance, StatementLine, quarter_sums
from evbill.domain.ledger.entries import EntryCause, LedgerEntry, Posting

CHECK_WORK_MEM = "256MB"
ENTRY_COLUMNS = "id, operator_id, posted_at, cause, reference, description"
POSTING_COLUMNS = "operator_id, entry_id, account, currency, amount"
# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


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


class SqlLedgerRepository(SqlLedgerPeriods):
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection
        self._held: list[LedgerEntry] | None = None

    @contextmanager
    def batched(self) -> Iterator[None]:
        if self._held is not None:  # already batching: the outer one writes
            yield
            return
        self._held = []
        try:
            yield
            held = self._held
        finally:
            self._held = None
        self.append_many(held)

    def append(self, entry: LedgerEntry) -> None:
        if self._held is not None:
            self._held.append(entry)
            return
        connection = self._connection()
        connection.execute(insert(ledger_entries), [_entry_row(entry)])
        connection.execute(insert(ledger_postings), list(_posting_rows(entry)))
        _add_period_sums(connection, [entry])

    def append_many(self, entries: Sequence[LedgerEntry]) -> None:
        if not entries:
            return
        connection = self._connection()
        if connection.dialect.name == "postgresql":
            if not connection.in_transaction():
                # COPY goes through the driver: SQLAlchemy must have begun the transaction, or the
                # unit of work's commit() would commit nothing and the rows would roll back.
                connection.begin()
            _copy(connection, entries)
        else:
            connection.execute(insert(ledger_entries), [_entry_row(entry) for entry in entries])
            connection.execute(
                insert(ledger_postings), [row for entry in entries for row in _posting_rows(entry)]
            )
        _add_period_sums(connection, entries)

    def period_sum_totals(self, operator_id: str) -> Mapping[tuple[str, str], int]:
        p = ledger_period_sums.c
        query = (
            select(p.account, p.currency, func.sum(p.amount))
            .where(p.operator_id == operator_id)
            .group_by(p.account, p.currency)
        )
        return {
            (account, currency): int(total) for account, currency, total in self._connection().execute(query)
        }

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
        if connection.dialect.name == "postgresql":
            # A group per entry: at a million entries the default 4 MB spilled the hash to disk and
            # doubled the check's time. For the rest of this transaction only.
            connection.exec_driver_sql(f"SET LOCAL work_mem = '{CHECK_WORK_MEM}'")
        if self._plainly_sound(connection, operator_id):
            return []
        return self._named_imbalances(connection, operator_id)

    def _plainly_sound(self, connection: Connection, operator_id: str) -> bool:
        """One pass over the operator's postings, a group per entry: whether every entry with
        postings has at least two, in one currency, summing to zero, and as many entries have
        postings as there are entries. Postings always belong to an existing entry (the database
        refuses any other, migration 0022), so equal counts mean no entry is without postings.
        An entry in several currencies is not decided here: it is looked at by currency after."""
        amount = ledger_postings.c.amount
        per_entry = (
            select(
                case(
                    (
                        (func.count(distinct(ledger_postings.c.currency)) == 1)
                        & (func.sum(amount) == 0)
                        & (func.count() >= 2),
                        0,
                    ),
                    else_=1,
                ).label("doubtful")
            )
            .where(ledger_postings.c.operator_id == operator_id)
            .group_by(ledger_postings.c.entry_id)
            .subquery()
        )
        with_postings, doubtful = connection.execute(
            select(func.count(), func.coalesce(func.sum(per_entry.c.doubtful), 0))
        ).one()
        return int(doubtful) == 0 and int(with_postings) == self.count(operator_id)

    def _named_imbalances(self, connection: Connection, operator_id: str) -> list[Imbalance]:
        """Every entry that does not balance per currency, or has fewer than two postings in one,
        or none at all: read only when the single pass found something to name."""
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

    def sums_by_reference(
        self, operator_id: str, account_prefix: str, *, reference_prefix: str | tuple[str, ...] = ""
    ) -> Mapping[tuple[str, str], int]:
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
        prefixes = (reference_prefix,) if isinstance(reference_prefix, str) else reference_prefix
        if any(prefixes):
            # the entries named first (a scan of the journal's references), their postings after by
            # the entry index: a reconciliation reads its records' postings, not every posting of the
            # account family (two thirds of a million-entry ledger are on receivables)
            query = query.where(
                or_(*(ledger_entries.c.reference.startswith(prefix, autoescape=True) for prefix in prefixes))
            )
        return {
            (reference, currency): int(total)
            for reference, currency, total in self._connection().execute(query)
        }


def _add_period_sums(connection: Connection, entries: Sequence[LedgerEntry]) -> None:
    """Add the entries' postings on booked revenue's accounts to ``ledger_period_sums``, in the
    transaction that appended them: summed here per (operator, quarter, account, currency), then one
    upsert of those rows in key order, so two writers appending at once lock shared rows in the same
    order (one waits for the other, neither deadlocks). After the entries' insert, which refuses a
    naive ``posted_at`` with its own message."""
    rows = [
        {"operator_id": operator_id, "quarter": quarter, "account": account, "currency": currency,
         "amount": amount}
        for operator_id, quarter, account, currency, amount in quarter_sums(entries)
    ]  # fmt: skip
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(ledger_period_sums)
    statement = upsert.on_conflict_do_update(
        index_elements=["operator_id", "quarter", "account", "currency"],
        set_={"amount": ledger_period_sums.c.amount + upsert.excluded.amount},
    )
    # executemany: one row per statement, in the order given (psycopg pipelines them)
    connection.execute(statement, rows)


def _copy(connection: Connection, entries: Sequence[LedgerEntry]) -> None:
    """PostgreSQL (psycopg): the entries in one COPY, then their postings in another, inside the
    connection's transaction. The entries' rows are sent by psycopg's writer thread while this one
    builds the postings' text."""
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(
            f"COPY {ledger_entries.name} ({ENTRY_COLUMNS}) FROM STDIN", writer=QueuedLibpqWriter(cursor)
        ) as copy:
            copy.write(_entries_text(entries))
            postings = _postings_text(entries)
        with cursor.copy(f"COPY {ledger_postings.name} ({POSTING_COLUMNS}) FROM STDIN") as copy:
            copy.write(postings)


def _entries_text(entries: Sequence[LedgerEntry]) -> str:
    for entry in entries:
        if entry.posted_at.utcoffset() is None:  # as UtcDateTime refuses it on every other path
            raise ValueError(
                f"naive datetime {entry.posted_at.isoformat()} refused: times are stored as aware UTC"
            )
    text = "".join(
        [
            f"{entry.id}\t{entry.operator_id}\t{entry.posted_at.astimezone(UTC).isoformat()}\t"
            f"{entry.cause}\t{entry.reference}\t{entry.description}\n"
            for entry in entries
        ]
    )
    if _plain(text, rows=len(entries), columns=6):
        return text
    return "".join(
        [
            f"{_escaped(entry.id)}\t{_escaped(entry.operator_id)}\t"
            f"{entry.posted_at.astimezone(UTC).isoformat()}\t{_escaped(entry.cause)}\t"
            f"{_escaped(entry.reference)}\t{_escaped(entry.description)}\n"
            for entry in entries
        ]
    )


def _postings_text(entries: Sequence[LedgerEntry]) -> str:
    text = "".join(
        [
            f"{entry.operator_id}\t{entry.id}\t{posting.account}\t{posting.currency}\t{posting.amount:d}\n"
            for entry in entries
            for posting in entry.postings
        ]
    )
    if _plain(text, rows=sum(len(entry.postings) for entry in entries), columns=5):
        return text
    return "".join(
        [
            f"{_escaped(entry.operator_id)}\t{_escaped(entry.id)}\t{_escaped(posting.account)}\t"
            f"{_escaped(posting.currency)}\t{posting.amount:d}\n"
            for entry in entries
            for posting in entry.postings
        ]
    )


def _plain(text: str, *, rows: int, columns: int) -> bool:
    """Whether no value in the COPY text needed escaping: exactly the separators written, no
    backslash, no carriage return (a value holding any of them is escaped instead)."""
    return (
        text.count("\t") == rows * (columns - 1)
        and text.count("\n") == rows
        and "\\" not in text
        and "\r" not in text
    )


def _escaped(value: str) -> str:
    return value.translate(_COPY_ESCAPES)
