"""Documents a customer receives: a session's receipt (once per session) and every e-mail of a document.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _operator(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id"], ["operators.id"], name=f"fk_{table}_operator_id", ondelete="RESTRICT"
    )


def upgrade() -> None:
    op.create_table(
        "session_receipts",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", "session_id", name="pk_session_receipts"),
        _operator("session_receipts"),
    )
    op.create_table(
        "document_deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("claimed_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("message_id", sa.String(998), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_document_deliveries"),
        _operator("document_deliveries"),
        sa.UniqueConstraint(
            "operator_id",
            "document_id",
            "attempt",
            name="uq_document_deliveries_operator_id_document_id_attempt",
        ),
    )


def downgrade() -> None:
    op.drop_table("document_deliveries")
    op.drop_table("session_receipts")
