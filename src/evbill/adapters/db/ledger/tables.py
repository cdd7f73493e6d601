"""Tables of the ledger: entries and their postings, both append-only (migration 0012's triggers).

A posting belongs to an entry of its operator, and an entry to an operator: migration 0022 checks
both with triggers once per statement (PostgreSQL; per row on SQLite) instead of foreign keys that
looked up each row, so a bulk append of millions of postings pays one check per COPY.

A posting's ``amount`` is signed integer minor units (debit positive); an entry's postings sum to zero
per currency, which ``evbill ledger check`` proves over the stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, PrimaryKeyConstraint, String, Table, Text, text

from evbill.adapters.db.schema import (
    belongs_to_operator,
    counter_column,
    id_column,
    metadata,
    operator_id_column,
)
from evbill.adapters.db.types import UtcDateTime

# The causes of the entries that correct a document (a credit note, a void), as SQL: the partial
# index's condition, and the revenue reports' (adapters.db.analytics.corrections), word for word.
CORRECTION_CAUSES = "cause IN ('credit_note_issued', 'document_voided')"

ledger_entries = Table(
    "ledger_entries",
    metadata,
    id_column(),
    operator_id_column(),
    Column("posted_at", UtcDateTime(), nullable=False),
    Column("cause", String(32), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Index("ix_ledger_entries_posted", "operator_id", "posted_at", "id"),
    # the corrections a revenue report reads, credit notes and voids of a window, and only those:
    # a partial index, which the rest of the journal costs nothing (migration 0029)
    Index(
        "ix_ledger_entries_corrections",
        "operator_id",
        "posted_at",
        postgresql_where=text(CORRECTION_CAUSES),
        sqlite_where=text(CORRECTION_CAUSES),
    ),
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    counter_column(),
    operator_id_column(),
    Column("entry_id", String(36), nullable=False),
    Column("account", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Index("ix_ledger_postings_entry", "operator_id", "entry_id"),
    Index("ix_ledger_postings_account", "operator_id", "account", "currency"),
)

# The postings on booked revenue's accounts (``domain.ledger.balances.QUARTER_SUMMED_PREFIXES``)
# summed per quarter hour of their entries' posted_at (``quarter``: UTC epoch seconds // 900), kept by
# the repository in the transaction that appends the postings (migration 0033). Every zone's local
# midnight is a whole quarter, so a local day, week or month is a range of quarters: booked revenue
# reads a year as ~35,000 rows per account instead of its million postings. Not append-only: an
# append adds to the row of its quarter. ``evbill ledger check`` proves it equals the postings.
ledger_period_sums = Table(
    "ledger_period_sums",
    metadata,
    operator_id_column(),
    Column("quarter", BigInteger, nullable=False),
    Column("account", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    # the reads' range (operator, quarter range) and the appends' upsert key
    PrimaryKeyConstraint("operator_id", "quarter", "account", "currency"),
    belongs_to_operator(),
)

APPEND_ONLY = ("ledger_entries", "ledger_postings")


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A row of ledger_entries (the domain LedgerEntry without its postings)."""

    id: str
    operator_id: str
    posted_at: datetime
    cause: str
    reference: str
    description: str


@dataclass(frozen=True, slots=True)
class PostingRow:
    """A row of ledger_postings: one posting of an entry, in the order written."""

    id: int | None
    operator_id: str
    entry_id: str
    account: str
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class PeriodSumRow:
    """A row of ledger_period_sums: an account's postings in one currency over one quarter hour."""

    operator_id: str
    quarter: int
    account: str
    currency: str
    amount: int
