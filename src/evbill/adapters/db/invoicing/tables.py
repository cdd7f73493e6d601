"""Invoicing tables.

* ``invoice_counters``: one row per (operator, series) holding the last number issued. Issuing locks
  this row (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already serialises
  writers), counts it up and numbers the document in the same transaction: a rollback returns the
  number with everything else, so numbers have no gap and no duplicate.
* ``invoices``: every document. Totals are columns (minor units) for lists and sums; the whole
  document (parties, lines with precise and shown amounts, tax breakdown) is a JSON document. The
  unique key on (operator, series, number) backs the counter; (operator, bill_id) makes a recorded
  bill an invoice at most once (credit notes have no bill).
* ``invoicing_profiles``: the seller's legal data and numbering per operator.
* ``session_receipts``: a closed session's receipt; the primary key (operator, session) makes each
  session's receipt one document, however often (or concurrently) it is asked for.
* ``document_deliveries``: every e-mail of a document: who asked, to whom, when, and the message id
  the mail server got. A row is claimed (no message id yet) before sending and completed after, so a
  retry finds it and does not send twice unless asked to (``attempt`` counts the sends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table, UniqueConstraint

from evbill.adapters.db.schema import belongs_to_operator, id_column, metadata, operator_id_column
from evbill.adapters.db.types import JsonDocument, UtcDateTime

invoice_counters = Table(
    "invoice_counters",
    metadata,
    Column("operator_id", String(36), primary_key=True),
    Column("series", String(32), primary_key=True),
    Column("last_number", BigInteger, nullable=False),
    belongs_to_operator(),
)

invoices = Table(
    "invoices",
    metadata,
    id_column(),
    operator_id_column(),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("series", String(32), nullable=False),
    Column("number", String(64)),
    Column("sequence", BigInteger),
    Column("contract_id", String(36)),
    Column("customer_id", String(36)),
    Column("bill_id", String(36)),
    Column("original_id", String(36)),
    Column("currency", String(3), nullable=False),
    Column("total_excl_vat_minor", BigInteger, nullable=False),
    Column("total_vat_minor", BigInteger, nullable=False),
    Column("total_incl_vat_minor", BigInteger, nullable=False),
    Column("paid_minor", BigInteger, nullable=False),
    Column("issue_date", Date),
    Column("due_date", Date),
    Column("period_start", Date),
    Column("document", JsonDocument(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("payment_reference", String(25)),  # ISO 11649 RF reference, matched by statement imports
    belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("operator_id", "series", "number"),
    UniqueConstraint("operator_id", "series", "sequence"),
    UniqueConstraint("operator_id", "bill_id"),
    Index("ix_invoices_listing", "operator_id", "period_start", "id"),
    Index("ix_invoices_original", "operator_id", "original_id"),
    Index("ix_invoices_payment_reference", "operator_id", "payment_reference", unique=True),
)

invoicing_profiles = Table(
    "invoicing_profiles",
    metadata,
    Column("operator_id", String(36), primary_key=True),
    Column("document", JsonDocument(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
)


@dataclass(frozen=True, slots=True)
class CounterRow:
    operator_id: str
    series: str
    last_number: int


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    id: str
    operator_id: str
    kind: str
    status: str
    series: str
    number: str | None
    sequence: int | None
    contract_id: str | None
    customer_id: str | None
    bill_id: str | None
    original_id: str | None
    currency: str
    total_excl_vat_minor: int
    total_vat_minor: int
    total_incl_vat_minor: int
    paid_minor: int
    issue_date: date | None
    due_date: date | None
    period_start: date | None
    document: dict[str, Any]
    created_at: datetime
    version: int
    payment_reference: str | None


@dataclass(frozen=True, slots=True)
class ProfileRow:
    operator_id: str
    document: dict[str, Any]
    updated_at: datetime


session_receipts = Table(
    "session_receipts",
    metadata,
    Column("operator_id", String(36), primary_key=True),
    Column("session_id", String(36), primary_key=True),
    Column("document_id", String(36), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
)

document_deliveries = Table(
    "document_deliveries",
    metadata,
    id_column(),
    operator_id_column(),
    Column("document_id", String(36), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("message_id", String(998)),
    belongs_to_operator(),
    UniqueConstraint("operator_id", "document_id", "attempt"),
)


@dataclass(frozen=True, slots=True)
class SessionReceiptRow:
    operator_id: str
    session_id: str
    document_id: str
    created_at: datetime
