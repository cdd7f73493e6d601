"""Paying for sessions: ad hoc starts at the charger (AFIR), hold amounts, cards on file, wallet reloads.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _operator_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id"], ["operators.id"], name=f"fk_{table}_operator_id", ondelete="RESTRICT"
    )


def _parent_fk(table: str, column: str, parent: str, ondelete: str = "RESTRICT") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id", column],
        [f"{parent}.operator_id", f"{parent}.id"],
        name=f"fk_{table}_operator_id_{column}",
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "adhoc_starts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("evse_id", sa.String(36), nullable=False),
        sa.Column("station_id", sa.String(36), nullable=False),
        sa.Column("idempotency_key", sa.String(150), nullable=False),
        sa.Column("id_tag", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("payment_id", sa.String(36), nullable=True),
        sa.Column("session_id", sa.String(36), nullable=True),
        sa.Column("deadline", UtcDateTime(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("captured", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_adhoc_starts"),
        _operator_fk("adhoc_starts"),
        _parent_fk("adhoc_starts", "evse_id", "evses"),
        sa.UniqueConstraint(
            "operator_id", "idempotency_key", name="uq_adhoc_starts_operator_id_idempotency_key"
        ),
        sa.UniqueConstraint("id_tag", name="uq_adhoc_starts_id_tag"),
    )
    op.create_index("ix_adhoc_starts_evse", "adhoc_starts", ["operator_id", "evse_id", "status"])
    op.create_index("ix_adhoc_starts_session", "adhoc_starts", ["operator_id", "session_id"])
    op.create_index("ix_adhoc_starts_status", "adhoc_starts", ["status", "deadline"])
    op.create_table(
        "hold_amounts",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", "location_id", name="pk_hold_amounts"),
        _operator_fk("hold_amounts"),
    )
    op.create_table(
        "cards_on_file",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("gateway", sa.String(32), server_default="sandbox", nullable=False),
        sa.Column("payment_method", sa.String(100), nullable=False),
        sa.Column("charge_sessions", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("saved_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", "customer_id", name="pk_cards_on_file"),
        _operator_fk("cards_on_file"),
        _parent_fk("cards_on_file", "customer_id", "customers", "CASCADE"),
    )
    op.create_table(
        "wallet_reloads",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("wallet_id", sa.String(36), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", "wallet_id", name="pk_wallet_reloads"),
        _operator_fk("wallet_reloads"),
        _parent_fk("wallet_reloads", "wallet_id", "wallets"),
    )


def downgrade() -> None:
    op.drop_table("wallet_reloads")
    op.drop_table("cards_on_file")
    op.drop_table("hold_amounts")
    op.drop_index("ix_adhoc_starts_status", table_name="adhoc_starts")
    op.drop_index("ix_adhoc_starts_session", table_name="adhoc_starts")
    op.drop_index("ix_adhoc_starts_evse", table_name="adhoc_starts")
    op.drop_table("adhoc_starts")
