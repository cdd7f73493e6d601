"""The recorded bills table: one row per (contract, cycle start), the bill's lines as a document.

The unique key on (operator, contract, cycle start) is what makes "a cycle is billed once" hold even
when two runs record the same cycle at the same moment: the second insert fails and reads the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, Index, String, Table, UniqueConstraint

from evbill.adapters.db.schema import belongs_to_operator, child_of, id_column, metadata, operator_id_column
from evbill.adapters.db.types import JsonDocument, UtcDateTime

bills = Table(
    "bills",
    metadata,
    id_column(),
    operator_id_column(),
    Column("contract_id", String(36), nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("cycle_start", Date, nullable=False),
    Column("cycle_end", Date, nullable=False),
    Column("state", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("document", JsonDocument(), nullable=False),  # lines, categories, promotions, notes
    Column("invoice_id", String(36)),
    Column("recorded_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    child_of("contract_id", "contracts"),
    child_of("customer_id", "customers"),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("operator_id", "contract_id", "cycle_start"),
    Index("ix_bills_state", "operator_id", "state", "cycle_start"),
)


@dataclass(frozen=True, slots=True)
class BillRow:
    """A row of bills (the repository turns it into a ``RecordedBill``)."""

    id: str
    operator_id: str
    contract_id: str
    customer_id: str
    cycle_start: date
    cycle_end: date
    state: str
    currency: str
    document: dict[str, Any]
    invoice_id: str | None
    recorded_at: datetime
