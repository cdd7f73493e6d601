"""Getting paid: RF payment references on invoices, bank transactions, SEPA mandates and direct debits,
cards on file, charge attempts, reminders, suspensions and collection policies.

Bank transactions, charge attempts and reminders are append-only (triggers, as in 0012).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import JsonDocument, UtcDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("bank_transactions", "charge_attempts", "payment_reminders")


def _operator_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id"], ["operators.id"], name=f"fk_{table}_operator_id", ondelete="RESTRICT"
    )


def _child_fk(table: str, column: str, parent: str, ondelete: str = "RESTRICT") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id", column],
        [f"{parent}.operator_id", f"{parent}.id"],
        name=f"fk_{table}_operator_id_{column}",
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.add_column("invoices", sa.Column("payment_reference", sa.String(25), nullable=True))
    op.create_index(
        "ix_invoices_payment_reference", "invoices", ["operator_id", "payment_reference"], unique=True
    )
    op.create_table(
        "bank_transactions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("entry_key", sa.String(100), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("counterparty_name", sa.String(140), nullable=True),
        sa.Column("counterparty_iban", sa.String(34), nullable=True),
        sa.Column("remittance", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("matched_by", sa.String(16), nullable=True),
        sa.Column("invoice_id", sa.String(36), nullable=True),
        sa.Column("customer_id", sa.String(36), nullable=True),
        sa.Column("applied_minor", sa.BigInteger(), nullable=False),
        sa.Column("excess_minor", sa.BigInteger(), nullable=False),
        sa.Column("suggested_invoice_id", sa.String(36), nullable=True),
        sa.Column("imported_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bank_transactions"),
        _operator_fk("bank_transactions"),
        sa.UniqueConstraint("operator_id", "entry_key", name="uq_bank_transactions_operator_id_entry_key"),
    )
    op.create_index("ix_bank_transactions_invoice", "bank_transactions", ["operator_id", "invoice_id"])
    op.create_table(
        "sepa_mandates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("reference", sa.String(35), nullable=False),
        sa.Column("iban", sa.String(34), nullable=False),
        sa.Column("bic", sa.String(11), nullable=True),
        sa.Column("debtor_name", sa.String(140), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("first_collected_on", sa.Date(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sepa_mandates"),
        _child_fk("sepa_mandates", "customer_id", "customers"),
        sa.UniqueConstraint("operator_id", "reference", name="uq_sepa_mandates_operator_id_reference"),
        # direct debits point at (operator_id, id)
        sa.UniqueConstraint("operator_id", "id", name="uq_sepa_mandates_operator_id_id"),
    )
    op.create_index("ix_sepa_mandates_customer", "sepa_mandates", ["operator_id", "customer_id"])
    op.create_table(
        "direct_debits",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("mandate_id", sa.String(36), nullable=False),
        sa.Column("message_id", sa.String(35), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("sequence_type", sa.String(4), nullable=False),
        sa.Column("end_to_end_id", sa.String(35), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_direct_debits"),
        _child_fk("direct_debits", "mandate_id", "sepa_mandates"),
        sa.UniqueConstraint("operator_id", "invoice_id", name="uq_direct_debits_operator_id_invoice_id"),
    )
    op.create_table(
        "charge_attempts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.String(36), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("decline_code", sa.String(64), nullable=True),
        sa.Column("attempted_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_charge_attempts"),
        _operator_fk("charge_attempts"),
        sa.UniqueConstraint(
            "operator_id", "invoice_id", "number", name="uq_charge_attempts_operator_id_invoice_id_number"
        ),
    )
    op.create_table(
        "payment_reminders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sent_to", sa.String(320), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payment_reminders"),
        _operator_fk("payment_reminders"),
        sa.UniqueConstraint(
            "operator_id", "invoice_id", "number", name="uq_payment_reminders_operator_id_invoice_id_number"
        ),
    )
    op.create_table(
        "suspensions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("token_ids", JsonDocument(), nullable=False),
        sa.Column("suspended_at", UtcDateTime(), nullable=False),
        sa.Column("lifted_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_suspensions"),
        _operator_fk("suspensions"),
    )
    op.create_index("ix_suspensions_customer", "suspensions", ["operator_id", "customer_id"])
    op.create_table(
        "collection_policies",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("document", JsonDocument(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", name="pk_collection_policies"),
        _operator_fk("collection_policies"),
    )
    for table in APPEND_ONLY:
        _forbid_changes(table)


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
    for table in (
        "collection_policies",
        "suspensions",
        "payment_reminders",
        "charge_attempts",
        "direct_debits",
        "sepa_mandates",
        "bank_transactions",
    ):
        op.drop_table(table)
    op.drop_index("ix_invoices_payment_reference", table_name="invoices")
    op.drop_column("invoices", "payment_reference")
