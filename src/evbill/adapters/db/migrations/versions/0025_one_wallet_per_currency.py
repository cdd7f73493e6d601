"""One wallet per customer and currency (tester finding 6): which wallet pays is never ambiguous.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a database with two wallets of one customer in one currency refuses this: merge them first
    op.create_index(
        "uq_wallets_customer_currency", "wallets", ["operator_id", "customer_id", "currency"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_wallets_customer_currency", table_name="wallets")
