"""Per-customer totals of all time: ``report_customer_sums`` added up over its low-cardinality keys, one
row per customer and currency, with an index on the gross revenue (a report by customer reads its
top 1,000 rows by that index, every row by a plain scan, no hash aggregate of every (customer, key)).

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-04

Filled here from ``report_customer_sums`` for the operators whose rollups are built, so they stay
built; kept since by the reports' refresh with the customers it touches (``analytics.rollups``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0032"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The measures as they are at this migration (0021's and 0026's billed ones): a migration never follows
# later edits of the domain's lists.
_COMPONENTS = ("energy", "time", "idle", "fees")
MEASURES = (
    "duration_us", "charged_us", "energy_mwh", "net_u", "gross_u",
    *(f"{component}_{unit}" for component in _COMPONENTS for unit in ("net_u", "tax_u")),
    "refunded_minor", "disputed_minor", "charged_back_minor", "billed_net_minor", "billed_gross_minor",
)  # fmt: skip
PRESENCE = tuple(f"{component}_parts" for component in _COMPONENTS)


def upgrade() -> None:
    op.create_table(
        "report_customer_totals",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("customer_first_at", UtcDateTime(), nullable=True),
        sa.Column("sessions", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in MEASURES),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in PRESENCE),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name="fk_report_customer_totals_operator_id",
            ondelete="RESTRICT",
        ),  # fmt: skip
    )
    op.create_index(
        "ix_report_customer_totals_customer", "report_customer_totals", ["operator_id", "customer_id"]
    )
    op.create_index("ix_report_customer_totals_gross", "report_customer_totals", ["operator_id", "gross_u"])
    summed = ", ".join(f"sum({name})" for name in ("sessions", *MEASURES, *PRESENCE))
    names = ", ".join(("sessions", *MEASURES, *PRESENCE))
    op.execute(
        "INSERT INTO report_customer_totals (operator_id, customer_id, currency, customer_first_at, "
        f"{names}) "
        f"SELECT operator_id, customer_id, currency, max(customer_first_at), {summed} "
        "FROM report_customer_sums GROUP BY operator_id, customer_id, currency"
    )


def downgrade() -> None:
    op.drop_index("ix_report_customer_totals_gross", table_name="report_customer_totals")
    op.drop_index("ix_report_customer_totals_customer", table_name="report_customer_totals")
    op.drop_table("report_customer_totals")
