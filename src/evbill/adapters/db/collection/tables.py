"""Tables of getting paid: bank transactions (append-only), SEPA mandates and direct debits, cards on
file, charge attempts and reminders (append-only), suspensions, and each operator's policy.

The unique keys are what make imports and collection runs idempotent: a statement entry is stored
once per (operator, bank reference), an invoice is in at most one direct debit, and a charge attempt
or a reminder is made once per (invoice, number).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from evbill.adapters.db.schema import belongs_to_operator, child_of, id_column, metadata, operator_id_column
from evbill.adapters.db.types import JsonDocument, UtcDateTime

APPEND_ONLY = ("bank_transactions", "charge_attempts", "payment_reminders")

# cards being saved by their customers at the gateway (migration 0027): whose each setup is
card_setups = Table(
    "card_setups",
    metadata,
    operator_id_column(),
    Column("customer_id", String(36), nullable=False),
    Column("gateway", String(32), primary_key=True),
    Column("reference", String(100), primary_key=True),
    Column("charge_sessions", Boolean, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("saved_at", UtcDateTime()),
    belongs_to_operator(),
    child_of("customer_id", "customers", ondelete="CASCADE"),
)

bank_transactions = Table(
    "bank_transactions",
    metadata,
    id_column(),
    operator_id_column(),
    Column("entry_key", String(100), nullable=False),
    Column("booked_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("counterparty_name", String(140)),
    Column("counterparty_iban", String(34)),
    Column("remittance", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("matched_by", String(16)),
    Column("invoice_id", String(36)),
    Column("customer_id", String(36)),
    Column("applied_minor", BigInteger, nullable=False),
    Column("excess_minor", BigInteger, nullable=False),
    Column("suggested_invoice_id", String(36)),
    Column("imported_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    UniqueConstraint("operator_id", "entry_key"),
    Index("ix_bank_transactions_invoice", "operator_id", "invoice_id"),
)

sepa_mandates = Table(
    "sepa_mandates",
    metadata,
    id_column(),
    operator_id_column(),
    Column("customer_id", String(36), nullable=False),
    Column("reference", String(35), nullable=False),
    Column("iban", String(34), nullable=False),
    Column("bic", String(11)),
    Column("debtor_name", String(140), nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("first_collected_on", Date),
    Column("revoked_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    child_of("customer_id", "customers"),
    UniqueConstraint("operator_id", "reference"),
    UniqueConstraint("operator_id", "id"),  # direct debits point at (operator_id, id)
    Index("ix_sepa_mandates_customer", "operator_id", "customer_id"),
)

direct_debits = Table(
    "direct_debits",
    metadata,
    id_column(),
    operator_id_column(),
    Column("invoice_id", String(36), nullable=False),
    Column("mandate_id", String(36), nullable=False),
    Column("message_id", String(35), nullable=False),
    Column("collection_date", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("sequence_type", String(4), nullable=False),
    Column("end_to_end_id", String(35), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    child_of("mandate_id", "sepa_mandates"),
    UniqueConstraint("operator_id", "invoice_id"),
)

charge_attempts = Table(
    "charge_attempts",
    metadata,
    id_column(),
    operator_id_column(),
    Column("invoice_id", String(36), nullable=False),
    Column("number", Integer, nullable=False),
    Column("payment_id", String(36)),
    Column("succeeded", Boolean, nullable=False),
    Column("decline_code", String(64)),
    Column("attempted_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    UniqueConstraint("operator_id", "invoice_id", "number"),
)

payment_reminders = Table(
    "payment_reminders",
    metadata,
    id_column(),
    operator_id_column(),
    Column("invoice_id", String(36), nullable=False),
    Column("number", Integer, nullable=False),
    Column("sent_to", String(320), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    UniqueConstraint("operator_id", "invoice_id", "number"),
)

suspensions = Table(
    "suspensions",
    metadata,
    id_column(),
    operator_id_column(),
    Column("customer_id", String(36), nullable=False),
    Column("invoice_id", String(36), nullable=False),
    Column("token_ids", JsonDocument(), nullable=False),
    Column("suspended_at", UtcDateTime(), nullable=False),
    Column("lifted_at", UtcDateTime()),
    belongs_to_operator(),
    Index("ix_suspensions_customer", "operator_id", "customer_id"),
)

collection_policies = Table(
    "collection_policies",
    metadata,
    Column("operator_id", String(36), primary_key=True),
    Column("document", JsonDocument(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
)


@dataclass(frozen=True, slots=True)
class PolicyRow:
    operator_id: str
    document: dict[str, Any]
    updated_at: datetime
