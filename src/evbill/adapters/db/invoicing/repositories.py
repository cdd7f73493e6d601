"""Invoices in the database, and the one place numbers are handed out.

``next_number`` makes sure the series' counter row exists (``INSERT ... ON CONFLICT DO NOTHING``,
so two first issuers do not collide), then locks it (``FOR UPDATE`` on PostgreSQL; on SQLite the
unit of work's ``BEGIN IMMEDIATE`` already holds the database's write lock), counts it up and returns
the new value. The caller numbers the document and commits in the same transaction: a concurrent
issuer waits at the lock until then, and a rollback takes the number back with the document, so
the numbers of a series have no gap and no duplicate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from evbill.adapters.db.invoicing.codec import document_of, plain, profile_of
from evbill.adapters.db.invoicing.tables import (
    CounterRow,
    InvoiceRow,
    ProfileRow,
    document_deliveries,
    invoice_counters,
    invoices,
    invoicing_profiles,
    session_receipts,
)
from evbill.adapters.db.repositories import ConnectionSource
from evbill.domain.errors import Conflict, StaleVersion
from evbill.domain.invoicing.deliveries import Delivery
from evbill.domain.invoicing.documents import UNPAID, Document, DocumentKind, DocumentStatus
from evbill.domain.invoicing.profiles import InvoicingProfile

FILTERS = ("status", "kind", "contract_id", "customer_id", "number")


def _row(document: Document, sequence: int | None) -> dict[str, Any]:
    totals = document.composed.totals
    return _shallow(
        InvoiceRow(
            id=document.id, operator_id=document.operator_id, kind=document.kind.value,
            status=document.status.value, series=document.series, number=document.number, sequence=sequence,
            contract_id=document.contract_id, customer_id=document.customer_id, bill_id=document.bill_id,
            original_id=document.original_id, currency=document.currency,
            total_excl_vat_minor=totals.excl_vat_minor, total_vat_minor=totals.vat_minor,
            total_incl_vat_minor=totals.incl_vat_minor, paid_minor=document.paid_minor,
            issue_date=document.issue_date, due_date=document.due_date, period_start=document.period_start,
            document=plain(document), created_at=document.created_at, version=document.version,
            payment_reference=document.payment_reference,
        )
    )  # fmt: skip


def _shallow(row: InvoiceRow) -> dict[str, Any]:
    """The row's fields as a dict, the document as it is: ``dataclasses.asdict`` would deep-copy the
    whole document (a fifth of a billing run's time)."""
    return {field.name: getattr(row, field.name) for field in dataclasses.fields(row)}


class SqlInvoiceRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def get(self, operator_id: str, document_id: str, *, lock: bool = False) -> Document | None:
        query = select(invoices.c.document).where(
            invoices.c.operator_id == operator_id, invoices.c.id == document_id
        )
        if lock:
            query = query.with_for_update()
        data = self._connection().scalar(query)
        return None if data is None else document_of(data)

    def numbers(self, operator_id: str, document_ids: Sequence[str]) -> Mapping[str, tuple[str, date | None]]:
        found: dict[str, tuple[str, date | None]] = {}
        for start in range(0, len(document_ids), 500):
            query = select(invoices.c.id, invoices.c.number, invoices.c.due_date).where(
                invoices.c.operator_id == operator_id,
                invoices.c.id.in_(document_ids[start : start + 500]),
                invoices.c.number.is_not(None),
            )
            for document_id, number, due in self._connection().execute(query):
                found[document_id] = (number, due)
        return found

    def find_by_bill(self, operator_id: str, bill_id: str) -> Document | None:
        query = select(invoices.c.document).where(
            invoices.c.operator_id == operator_id, invoices.c.bill_id == bill_id
        )
        data = self._connection().scalar(query)
        return None if data is None else document_of(data)

    def customers_of(self, operator_id: str, document_ids: Sequence[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        wanted = list(dict.fromkeys(document_ids))
        for offset in range(0, len(wanted), 500):  # bound the IN list
            query = select(invoices.c.id, invoices.c.customer_id).where(
                invoices.c.operator_id == operator_id, invoices.c.id.in_(wanted[offset : offset + 500])
            )
            found.update({row.id: row.customer_id for row in self._connection().execute(query)})
        return found

    def list(
        self, operator_id: str, *, filters: Mapping[str, object], after: str | None, limit: int
    ) -> Sequence[Document]:
        query = select(invoices.c.document).where(invoices.c.operator_id == operator_id)
        for name in FILTERS:
            if filters.get(name) is not None:
                query = query.where(invoices.c[name] == str(filters[name]))
        if filters.get("period_from") is not None:
            query = query.where(invoices.c.period_start >= filters["period_from"])
        if filters.get("period_to") is not None:
            query = query.where(invoices.c.period_start < filters["period_to"])
        if after is not None:
            query = query.where(invoices.c.id > after)
        query = query.order_by(invoices.c.id).limit(limit)
        return [document_of(data) for data in self._connection().scalars(query)]

    def find_by_payment_reference(self, operator_id: str, reference: str) -> Document | None:
        query = select(invoices.c.document).where(
            invoices.c.operator_id == operator_id, invoices.c.payment_reference == reference
        )
        data = self._connection().scalar(query)
        return None if data is None else document_of(data)

    def open_documents(self, operator_id: str, *, currency: str | None = None) -> Sequence[Document]:
        """Issued invoices and receipts with something still to pay (issued, overdue, partly paid)."""
        open_states = [s.value for s in (*UNPAID, DocumentStatus.PARTIALLY_PAID)]
        query = select(invoices.c.document).where(
            invoices.c.operator_id == operator_id,
            invoices.c.status.in_(open_states),
            invoices.c.kind != DocumentKind.CREDIT_NOTE.value,
        )
        if currency is not None:
            query = query.where(invoices.c.currency == currency)
        return [document_of(data) for data in self._connection().scalars(query.order_by(invoices.c.id))]

    def credit_notes(self, operator_id: str, original_id: str) -> Sequence[Document]:
        """The credit notes of ``original_id`` (not void), in the order issued."""
        query = select(invoices.c.document).where(
            invoices.c.operator_id == operator_id,
            invoices.c.original_id == original_id,
            invoices.c.status != DocumentStatus.VOID.value,
        )
        return [document_of(data) for data in self._connection().scalars(query.order_by(invoices.c.id))]

    def add(self, document: Document, *, sequence: int | None = None) -> None:
        try:
            # the row as parameters, not .values(row): one compiled statement, none built per document
            self._connection().execute(invoices.insert(), _row(document, sequence))
        except IntegrityError:
            raise Conflict(f"bill {document.bill_id!r} already has a document") from None

    def update(self, document: Document, *, expected_version: int, sequence: int | None = None) -> None:
        row = _row(document, sequence)
        if sequence is None:
            row.pop("sequence")
        result = self._connection().execute(
            update(invoices)
            .where(
                invoices.c.operator_id == document.operator_id,
                invoices.c.id == document.id,
                invoices.c.version == expected_version,
            )
            .values(row)
        )
        if result.rowcount != 1:
            raise Conflict(f"document {document.id!r} was changed by someone else")

    def update_many(self, changes: Sequence[tuple[Document, int]]) -> None:
        """``update`` for many documents in one statement (executemany): (document, expected version)."""
        if not changes:
            return
        rows = [_row(document, None) for document, _ in changes]
        names = [name for name in rows[0] if name != "sequence"]
        statement = (
            update(invoices)
            .where(
                invoices.c.operator_id == bindparam("w_operator_id"),
                invoices.c.id == bindparam("w_id"),
                invoices.c.version == bindparam("w_expected"),
            )
            .values({name: bindparam(f"v_{name}") for name in names})
        )
        parameters = [
            {"w_operator_id": document.operator_id, "w_id": document.id, "w_expected": expected}
            | {f"v_{name}": row[name] for name in names}
            for (document, expected), row in zip(changes, rows, strict=True)
        ]
        result = self._connection().execute(statement, parameters)
        if result.rowcount != len(changes):
            raise Conflict("a document was changed by someone else meanwhile; try again")

    def next_number(self, operator_id: str, series: str) -> int:
        return self.next_numbers(operator_id, series, 1)[0]

    def next_numbers(self, operator_id: str, series: str, count: int) -> range:
        if count < 1:
            raise ValueError("count must be at least 1")
        connection = self._connection()
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        connection.execute(
            insert(invoice_counters)
            .values(dataclasses.asdict(CounterRow(operator_id, series, 0)))
            .on_conflict_do_nothing(index_elements=["operator_id", "series"])
        )
        key = (invoice_counters.c.operator_id == operator_id, invoice_counters.c.series == series)
        last = connection.scalar(select(invoice_counters.c.last_number).where(*key).with_for_update())
        first = int(last or 0) + 1
        connection.execute(update(invoice_counters).where(*key).values(last_number=first + count - 1))
        return range(first, first + count)

    def profile(self, operator_id: str) -> InvoicingProfile | None:
        query = select(invoicing_profiles.c.document).where(invoicing_profiles.c.operator_id == operator_id)
        data = self._connection().scalar(query)
        return None if data is None else profile_of(data)

    def save_profile(
        self, profile: InvoicingProfile, at: Any, *, expected_version: int | None = None
    ) -> InvoicingProfile:
        """Store the profile as the next version (the stored one locked meanwhile); StaleVersion when
        ``expected_version`` is given and is not the stored one's (0: none stored yet)."""
        connection = self._connection()
        query = select(invoicing_profiles.c.document).where(
            invoicing_profiles.c.operator_id == profile.operator_id
        )
        data = connection.scalar(query.with_for_update())
        stored = 0 if data is None else profile_of(data).version
        if expected_version is not None and expected_version != stored:
            raise StaleVersion(
                f'the invoicing profile is at version "{stored}", not "{expected_version}"; read it again'
            )
        saved = dataclasses.replace(profile, version=stored + 1)
        row = dataclasses.asdict(ProfileRow(profile.operator_id, plain(saved), at))
        if data is None:
            try:
                connection.execute(insert(invoicing_profiles).values(row))
            except IntegrityError as error:  # saved by another request at the same moment
                raise StaleVersion("the invoicing profile was saved meanwhile; read it again") from error
        else:
            connection.execute(
                update(invoicing_profiles)
                .where(invoicing_profiles.c.operator_id == profile.operator_id)
                .values(document=row["document"], updated_at=at)
            )
        return saved

    def receipt_of_session(self, operator_id: str, session_id: str) -> Document | None:
        query = (
            select(invoices.c.document)
            .join(
                session_receipts,
                (session_receipts.c.operator_id == invoices.c.operator_id)
                & (session_receipts.c.document_id == invoices.c.id),
            )
            .where(session_receipts.c.operator_id == operator_id, session_receipts.c.session_id == session_id)
        )
        data = self._connection().scalar(query)
        return None if data is None else document_of(data)

    def add_session_receipt(self, operator_id: str, session_id: str, document_id: str, at: Any) -> None:
        row = {
            "operator_id": operator_id,
            "session_id": session_id,
            "document_id": document_id,
            "created_at": at,
        }
        try:
            self._connection().execute(session_receipts.insert(), row)
        except IntegrityError:
            raise Conflict(f"session {session_id!r} has its receipt already") from None

    def deliveries(self, operator_id: str, document_id: str) -> Sequence[Delivery]:
        query = (
            select(document_deliveries)
            .where(
                document_deliveries.c.operator_id == operator_id,
                document_deliveries.c.document_id == document_id,
            )
            .order_by(document_deliveries.c.attempt)
        )
        return [Delivery(**row._asdict()) for row in self._connection().execute(query)]

    def claim_delivery(self, delivery: Delivery) -> None:
        try:
            self._connection().execute(document_deliveries.insert().values(dataclasses.asdict(delivery)))
        except IntegrityError:
            raise Conflict(f"document {delivery.document_id!r} is being sent already") from None

    def complete_delivery(self, operator_id: str, delivery_id: str, *, sent_at: Any, message_id: str) -> None:
        self._connection().execute(
            update(document_deliveries)
            .where(document_deliveries.c.operator_id == operator_id, document_deliveries.c.id == delivery_id)
            .values(sent_at=sent_at, message_id=message_id)
        )

    def drop_delivery(self, operator_id: str, delivery_id: str) -> None:
        self._connection().execute(
            document_deliveries.delete().where(
                document_deliveries.c.operator_id == operator_id,
                document_deliveries.c.id == delivery_id,
                document_deliveries.c.message_id.is_(None),
            )
        )


__all__ = ["DocumentKind", "SqlInvoiceRepository"]
