"""Audit entries get a random id to show and page by.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

The counter id orders the whole log, across operators: shown to an operator, the gap between two
of its entries would count other operators' changes. Entries now carry a random ``entry_id``; the
API shows it and takes it back as the page cursor. A plain ADD COLUMN keeps the append-only
triggers (a SQLite batch rebuild would drop them). Entries written before this revision get
``legacy-<counter>``: the one write the log ever allows, made with the UPDATE trigger lifted inside
this migration's transaction and put back before it commits, and only into the new column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

APPEND_ONLY_MESSAGE = "audit_log is append-only"  # as in 0001

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("entry_id", sa.String(36), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
        op.execute("UPDATE audit_log SET entry_id = 'legacy-' || id WHERE entry_id IS NULL")
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("UPDATE audit_log SET entry_id = 'legacy-' || id WHERE entry_id IS NULL")
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END;"
        )
    op.create_index("ix_audit_log_entry_id", "audit_log", ["entry_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_audit_log_entry_id", table_name="audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("audit_log", "entry_id")
    else:  # SQLite >= 3.35 drops a column in place, keeping the triggers
        op.execute("ALTER TABLE audit_log DROP COLUMN entry_id")
