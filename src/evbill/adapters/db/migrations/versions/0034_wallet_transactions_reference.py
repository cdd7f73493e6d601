"""Wallet transactions by what they pay: ``ix_wallet_transactions_reference`` (operator, reference).

A session's payments together take at most its price, wallet spends (``session:<id>``) included, and
the refunds into a wallet of those spends (``spend:<id>``) free what they give back: both are looked up
by reference while a payment of the session is placed, under the session's lock.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_wallet_transactions_reference", "wallet_transactions", ["operator_id", "reference"])


def downgrade() -> None:
    op.drop_index("ix_wallet_transactions_reference", table_name="wallet_transactions")
