"""The ledger's index of corrections holds only corrections: ``ix_ledger_entries_cause`` (0026) indexed
every entry by cause, so posting a million entries kept a third index of entries up to date for the few
credit notes and voids a revenue report reads. ``ix_ledger_entries_corrections`` is partial: the entries
of cause ``credit_note_issued`` or ``document_voided`` only, by (operator, moment); every other entry
costs it nothing (``adapters.db.analytics.corrections`` names the same causes, as constants, so the
planner can use it).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CORRECTIONS = "cause IN ('credit_note_issued', 'document_voided')"


def upgrade() -> None:
    op.drop_index("ix_ledger_entries_cause", table_name="ledger_entries")
    op.create_index(
        "ix_ledger_entries_corrections",
        "ledger_entries",
        ["operator_id", "posted_at"],
        postgresql_where=sa.text(CORRECTIONS),
        sqlite_where=sa.text(CORRECTIONS),
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_corrections", table_name="ledger_entries")
    op.create_index("ix_ledger_entries_cause", "ledger_entries", ["operator_id", "cause", "posted_at"])
