"""Billed amounts in the report facts and rollups: what each session's receipt or invoice line charged.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03

``billed_net_minor`` / ``billed_gross_minor``: the session's totals settled once, as its document shows
them (``charging_sessions.total_excl_vat_minor`` / ``total_incl_vat_minor``). The fact rows get them
from their sessions here; the rollups are let go (``report_rollup_state`` emptied), so the next report
of each operator builds them again from the facts (one GROUP BY each) and reads the facts until then.

``ix_ledger_entries_cause``: the credit notes and voids a revenue report subtracts, read by cause and
moment (``adapters.db.analytics.corrections``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("billed_net_minor", "billed_gross_minor")
SOURCES = {"billed_net_minor": "total_excl_vat_minor", "billed_gross_minor": "total_incl_vat_minor"}
TABLES = (
    "session_report_facts",
    "report_day_sums",
    "report_place_sums",
    "report_place_totals",
    "report_customer_sums",
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for name in COLUMNS:
                batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE session_report_facts SET "
        + ", ".join(
            f"{name} = COALESCE((SELECT s.{source} FROM charging_sessions s "
            f"WHERE s.id = session_report_facts.session_id), 0)"
            for name, source in SOURCES.items()
        )
    )
    op.execute("DELETE FROM report_rollup_state")
    op.create_index("ix_ledger_entries_cause", "ledger_entries", ["operator_id", "cause", "posted_at"])


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_cause", table_name="ledger_entries")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for name in COLUMNS:
                batch.drop_column(name)
    op.execute("DELETE FROM report_rollup_state")
