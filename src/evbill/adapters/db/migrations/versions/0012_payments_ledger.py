"""The ledger (entries and postings), payments (gateway events) and prepaid wallets.

Revision ID: 0012
Revises: 0005
Create Date: 2026-12-03

Ledger entries and postings, payment events and wallet transactions are evidence of money moving:
the database refuses to change or delete them (triggers, as for the audit log). Payments and
wallets keep one head row each, which money-moving use cases lock while they decide (capture never
above the authorisation, a wallet never below its minimum).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("ledger_entries", "ledger_postings", "payment_events", "wallet_transactions")


def _counter() -> sa.Column[int]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
    )


def _operator_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id"], ["operators.id"], name=f"fk_{table}_operator_id", ondelete="RESTRICT"
    )


def _parent_fk(table: str, column: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id", column],
        [f"{parent}.operator_id", f"{parent}.id"],
        name=f"fk_{table}_operator_id_{column}",
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    _create_ledger()
    _create_payments()
    _create_wallets()
    for table in APPEND_ONLY:
        _forbid_changes(table)


def _create_ledger() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("posted_at", UtcDateTime(), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
        _operator_fk("ledger_entries"),
        sa.UniqueConstraint("operator_id", "id", name="uq_ledger_entries_operator_id_id"),
    )
    op.create_index("ix_ledger_entries_posted", "ledger_entries", ["operator_id", "posted_at", "id"])
    op.create_index("ix_ledger_entries_reference", "ledger_entries", ["operator_id", "reference"])
    op.create_table(
        "ledger_postings",
        _counter(),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("entry_id", sa.String(36), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_postings"),
        _parent_fk("ledger_postings", "entry_id", "ledger_entries"),
    )
    op.create_index("ix_ledger_postings_entry", "ledger_postings", ["operator_id", "entry_id"])
    op.create_index(
        "ix_ledger_postings_account", "ledger_postings", ["operator_id", "account", "currency", "id"]
    )


def _create_payments() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("gateway", sa.String(32), nullable=False),
        sa.Column("gateway_reference", sa.String(100), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        _operator_fk("payments"),
        sa.UniqueConstraint("operator_id", "id", name="uq_payments_operator_id_id"),
        sa.UniqueConstraint("gateway", "gateway_reference", name="uq_payments_gateway_gateway_reference"),
    )
    op.create_table(
        "payment_events",
        _counter(),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("payment_id", sa.String(36), nullable=False),
        sa.Column("gateway", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_payment_events"),
        _parent_fk("payment_events", "payment_id", "payments"),
        sa.UniqueConstraint("gateway", "event_id", name="uq_payment_events_gateway_event_id"),
    )
    op.create_index(
        "ix_payment_events_payment", "payment_events", ["operator_id", "payment_id", "occurred_at", "id"]
    )
    op.create_index("ix_payment_events_idempotency_key", "payment_events", ["operator_id", "idempotency_key"])


def _create_wallets() -> None:
    op.create_table(
        "wallets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("minimum_balance", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_wallets"),
        _operator_fk("wallets"),
        sa.UniqueConstraint("operator_id", "id", name="uq_wallets_operator_id_id"),
    )
    op.create_table(
        "wallet_transactions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("wallet_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_wallet_transactions"),
        _parent_fk("wallet_transactions", "wallet_id", "wallets"),
        sa.UniqueConstraint(
            "operator_id", "idempotency_key", name="uq_wallet_transactions_operator_id_idempotency_key"
        ),
    )
    op.create_index(
        "ix_wallet_transactions_wallet",
        "wallet_transactions",
        ["operator_id", "wallet_id", "created_at", "id"],
    )


def _forbid_changes(table: str) -> None:
    message = f"{table} is append-only"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{message}'; END; $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_change ON {table}")
            op.execute(f"DROP FUNCTION {table}_append_only()")
    for table in ("wallet_transactions", "wallets", "payment_events", "payments"):
        op.drop_table(table)
    op.drop_table("ledger_postings")
    op.drop_table("ledger_entries")
