"""Billing runs wait for their invoices' collection: a run that collects at issue (``collects``: the
card on file charged, a direct debit marked, by `evbill worker`'s charge job or after each chunk in
place) is done only once each of its items with an invoice has been through it (``collected_at``, set
in the transaction that records the charge). Runs before this one collected nothing they waited for.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_runs") as table:
        table.add_column(sa.Column("collects", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("billing_run_items") as table:
        table.add_column(sa.Column("collected_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_run_items") as table:
        table.drop_column("collected_at")
    with op.batch_alter_table("billing_runs") as table:
        table.drop_column("collects")
