"""Tables of payments and wallets: payment heads, their append-only gateway events, wallets and their
append-only transactions (migration 0012's triggers refuse changes to the events and transactions).

A payment's state and a wallet's balance are never stored: they are derived from the events and
transactions. A gateway event is stored once per (gateway, event id), so a resent webhook or a
retried call changes nothing. Gateway webhooks are kept as received (``gateway_webhooks``, migration
0016), once per (gateway, event id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, Index, String, Table, Text, UniqueConstraint, false

from evbill.adapters.db.schema import (
    belongs_to_operator,
    child_of,
    counter_column,
    id_column,
    metadata,
    operator_id_column,
)
from evbill.adapters.db.types import UtcDateTime

payments = Table(
    "payments",
    metadata,
    id_column(),
    operator_id_column(),
    Column("customer_id", String(36)),
    Column("purpose", String(16), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("gateway", String(32), nullable=False),
    Column("gateway_reference", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # what an invoice payment's capture paid of the invoice (migration 0027): refunds reopen that
    Column("invoice_applied", BigInteger),
    belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("gateway", "gateway_reference"),
    # Reports find a session's payments by subject (migration 0019).
    Index("ix_payments_subject", "operator_id", "purpose", "subject"),
)

payment_events = Table(
    "payment_events",
    metadata,
    counter_column(),
    operator_id_column(),
    Column("payment_id", String(36), nullable=False),
    Column("gateway", String(32), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("idempotency_key", String(200)),
    Column("detail", Text),
    child_of("payment_id", "payments"),
    UniqueConstraint("gateway", "event_id"),
    Index("ix_payment_events_payment", "operator_id", "payment_id", "occurred_at", "id"),
    Index("ix_payment_events_idempotency_key", "operator_id", "idempotency_key"),
)

# a money move sent to the gateway and not yet recorded, one per payment (migration 0027)
payments_in_flight = Table(
    "payments_in_flight",
    metadata,
    operator_id_column(),
    Column("payment_id", String(36), primary_key=True),
    Column("idempotency_key", String(200), nullable=False),
    Column("operation", String(16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    child_of("payment_id", "payments", ondelete="CASCADE"),
)

wallets = Table(
    "wallets",
    metadata,
    id_column(),
    operator_id_column(),
    Column("customer_id", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("minimum_balance", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
    # one wallet per customer and currency: which wallet pays is never ambiguous (migration 0025)
    Index("uq_wallets_customer_currency", "operator_id", "customer_id", "currency", unique=True),
)

wallet_transactions = Table(
    "wallet_transactions",
    metadata,
    id_column(),
    operator_id_column(),
    Column("wallet_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reference", String(100), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    child_of("wallet_id", "wallets"),
    UniqueConstraint("operator_id", "idempotency_key"),
    Index("ix_wallet_transactions_wallet", "operator_id", "wallet_id", "created_at", "id"),
    Index("ix_wallet_transactions_reference", "operator_id", "reference"),  # 0034
)

# Every webhook a gateway sent, signature checked, once per (gateway, event id): the resent ones are
# recognised by it. Not every webhook concerns a payment evbill knows, so the operator may be empty.
gateway_webhooks = Table(
    "gateway_webhooks",
    metadata,
    counter_column(),
    Column("gateway", String(32), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("operator_id", String(36)),
    Column("payment_id", String(36)),
    Column("outcome", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    UniqueConstraint("gateway", "event_id"),
    Index("ix_gateway_webhooks_payment", "operator_id", "payment_id"),
)

APPEND_ONLY = ("payment_events", "wallet_transactions", "gateway_webhooks")


@dataclass(frozen=True, slots=True)
class PaymentEventRow:
    """A row of payment_events: a domain PaymentEvent with its payment, gateway and place in the log."""

    id: int | None
    operator_id: str
    payment_id: str
    gateway: str
    event_id: str
    kind: str
    amount: int
    currency: str
    occurred_at: datetime
    recorded_at: datetime
    idempotency_key: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class WebhookRow:
    """A row of gateway_webhooks: an ``application.ports.ReceivedWebhook`` with its place in the log."""

    id: int | None
    gateway: str
    event_id: str
    event_type: str
    operator_id: str | None
    payment_id: str | None
    outcome: str
    payload: str
    received_at: datetime


# A customer's saved payment method (a gateway token, never card data), one per customer: invoices
# are charged to it (collection) and, with ``charge_sessions``, each session too (session payments).
cards_on_file = Table(
    "cards_on_file",
    metadata,
    Column("operator_id", String(36), primary_key=True),
    Column("customer_id", String(36), primary_key=True),
    Column("gateway", String(32), nullable=False, server_default="sandbox"),
    Column("payment_method", String(100), nullable=False),
    Column("charge_sessions", Boolean, nullable=False, server_default=false()),
    Column("saved_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    child_of("customer_id", "customers", ondelete="CASCADE"),
)


@dataclass(frozen=True, slots=True)
class CardOnFileRow:
    operator_id: str
    customer_id: str
    gateway: str
    payment_method: str
    charge_sessions: bool
    saved_at: datetime
