"""Tables of billing runs and of rendered documents.

* ``billing_runs``: one row per run (operator, period), its state and when it was planned / finished.
* ``billing_run_items``: one row per (run, contract, cycle start): the outcome of that cycle in that
  run, and (``collected_at``) when its invoice went through collection at issue, for a run that
  ``collects``. Counts and progress are read from these rows (``GROUP BY``), never kept as counters.
  What makes a cycle invoiced once is not this table but the unique keys on ``bills``
  (operator, contract, cycle start) and ``invoices`` (operator, bill): two runs at once both have
  an item for the cycle, one says issued, the other already issued.
* ``document_files``: a document rendered once (PDF, Factur-X ...), kept so downloads do not render
  it again; one row per (operator, document, format), written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    false,
)

from evbill.adapters.db.schema import belongs_to_operator, id_column, metadata, operator_id_column
from evbill.adapters.db.types import UtcDateTime

billing_runs = Table(
    "billing_runs",
    metadata,
    id_column(),
    operator_id_column(),
    Column("period", String(7), nullable=False),
    Column("status", String(16), nullable=False),
    Column("queued", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("planned_at", UtcDateTime()),
    Column("finished_at", UtcDateTime()),
    Column("owner", String(100)),  # "host:pid" of the command working the run in place; None if queued
    # the run collects its invoices at issue (card charged ...): done only once each is collected
    Column("collects", Boolean, nullable=False, server_default=false()),
    belongs_to_operator(),
    Index("ix_billing_runs_listing", "operator_id", "id"),
)

billing_run_items = Table(
    "billing_run_items",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("contract_id", String(36), primary_key=True),
    Column("cycle_start", Date, primary_key=True),
    operator_id_column(),
    Column("cycle_end", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("bill_id", String(36)),
    Column("invoice_id", String(36)),
    Column("currency", String(3)),
    Column("total_incl_vat_minor", BigInteger),
    Column("updated_at", UtcDateTime()),
    Column("collected_at", UtcDateTime()),  # its invoice went through collection at issue (0030)
    belongs_to_operator(),
    ForeignKeyConstraint(["run_id"], ["billing_runs.id"], ondelete="CASCADE"),
    Index("ix_billing_run_items_status", "run_id", "status"),
)

document_files = Table(
    "document_files",
    metadata,
    Column("operator_id", String(36), primary_key=True),
    Column("document_id", String(36), primary_key=True),
    Column("format", String(16), primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("rendered_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
)


@dataclass(frozen=True, slots=True)
class RunRow:
    id: str
    operator_id: str
    period: str
    status: str
    queued: bool
    created_at: datetime
    planned_at: datetime | None
    finished_at: datetime | None
    owner: str | None
    collects: bool


@dataclass(frozen=True, slots=True)
class RunItemRow:
    run_id: str
    contract_id: str
    cycle_start: date
    operator_id: str
    cycle_end: date
    status: str
    reason: str | None
    bill_id: str | None
    invoice_id: str | None
    currency: str | None
    total_incl_vat_minor: int | None
    updated_at: datetime | None
    collected_at: datetime | None


@dataclass(frozen=True, slots=True)
class DocumentFileRow:
    operator_id: str
    document_id: str
    format: str
    content: bytes
    rendered_at: datetime
