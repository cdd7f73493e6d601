"""Report rollups: sums per UTC day, per 28-day period and EVSE, per customer, the heatmap's quarter
hours and distinct customers per key, kept by the reports' refresh (``analytics.rollups``).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03

Nothing is filled here: an operator without a ``report_rollup_state`` row has its rollups built from
its fact rows by the next report (one GROUP BY each), and reports read the facts until then.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

# The measures as they were when this migration was written (0029 adds the billed ones): a migration
# never follows later edits of the domain's lists.
_COMPONENTS = ("energy", "time", "idle", "fees")
MEASURES = (
    "duration_us", "charged_us", "energy_mwh", "net_u", "gross_u",
    *(f"{component}_{unit}" for component in _COMPONENTS for unit in ("net_u", "tax_u")),
    "refunded_minor", "disputed_minor", "charged_back_minor",
)  # fmt: skip
PRESENCE = tuple(f"{component}_parts" for component in _COMPONENTS)

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FACT_INDEXES = (
    ("station", ["operator_id", "station_id", "started_at"]),
    ("evse", ["operator_id", "evse_id", "started_at"]),
    ("local_day", ["operator_id", "local_day"]),
    ("local_week", ["operator_id", "local_week"]),
)


def _sums() -> list[sa.Column[int]]:
    return [
        sa.Column("sessions", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in MEASURES),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in PRESENCE),
    ]


def _operator(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id"], ["operators.id"], name=f"fk_{table}_operator_id", ondelete="RESTRICT"
    )


def _string(name: str, length: int, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "report_day_sums",
        _string("operator_id", 36),
        sa.Column("day", sa.Integer(), nullable=False),
        _string("local_day", 10),
        _string("local_week", 8),
        _string("currency", 3),
        _string("connector_class", 8, nullable=True),
        _string("tariff_id", 36, nullable=True),
        _string("plan_id", 36, nullable=True),
        _string("segment", 16, nullable=True),
        _string("payment_method", 32),
        *_sums(),
        _operator("report_day_sums"),
    )
    op.create_index("ix_report_day_sums_day", "report_day_sums", ["operator_id", "day"])
    op.create_table(
        "report_place_sums",
        _string("operator_id", 36),
        sa.Column("period", sa.Integer(), nullable=False),
        _string("currency", 3),
        _string("location_id", 36),
        _string("station_id", 36),
        _string("evse_id", 36),
        _string("connector_class", 8, nullable=True),
        _string("tariff_id", 36, nullable=True),
        *_sums(),
        _operator("report_place_sums"),
    )
    op.create_index("ix_report_place_sums_period", "report_place_sums", ["operator_id", "period"])
    op.create_index("ix_report_place_sums_evse", "report_place_sums", ["operator_id", "evse_id", "period"])
    op.create_table(
        "report_place_totals",
        _string("operator_id", 36),
        _string("currency", 3),
        _string("location_id", 36),
        _string("station_id", 36),
        _string("evse_id", 36),
        _string("connector_class", 8, nullable=True),
        _string("tariff_id", 36, nullable=True),
        *_sums(),
        _operator("report_place_totals"),
    )
    op.create_index("ix_report_place_totals_evse", "report_place_totals", ["operator_id", "evse_id"])
    op.create_table(
        "report_customer_sums",
        _string("operator_id", 36),
        _string("customer_id", 36),
        _string("currency", 3),
        _string("connector_class", 8, nullable=True),
        _string("tariff_id", 36, nullable=True),
        _string("plan_id", 36, nullable=True),
        _string("segment", 16, nullable=True),
        _string("payment_method", 32),
        sa.Column("first_started_at", UtcDateTime(), nullable=False),
        sa.Column("last_started_at", UtcDateTime(), nullable=False),
        sa.Column("customer_first_at", UtcDateTime(), nullable=True),
        *_sums(),
        _operator("report_customer_sums"),
    )
    op.create_index(
        "ix_report_customer_sums_customer", "report_customer_sums", ["operator_id", "customer_id"]
    )
    op.create_table(
        "report_heat_sums",
        _string("operator_id", 36),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        _string("connector_class", 8, nullable=True),
        _string("tariff_id", 36, nullable=True),
        sa.Column("starts", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        _operator("report_heat_sums"),
    )
    op.create_index("ix_report_heat_sums_day", "report_heat_sums", ["operator_id", "day"])
    op.create_table(
        "report_key_customers",
        _string("operator_id", 36),
        _string("kind", 16),
        _string("key", 36),
        _string("currency", 3),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("new_customers", sa.Integer(), nullable=False),
        _operator("report_key_customers"),
    )
    op.create_index("ix_report_key_customers_key", "report_key_customers", ["operator_id", "kind", "key"])
    op.create_table(
        "report_rollup_state",
        _string("operator_id", 36),
        sa.Column("built_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", name="pk_report_rollup_state"),
        _operator("report_rollup_state"),
    )
    for name, columns in _FACT_INDEXES:
        op.create_index(f"ix_session_report_facts_{name}", "session_report_facts", columns)


def downgrade() -> None:
    for name, _ in _FACT_INDEXES:
        op.drop_index(f"ix_session_report_facts_{name}", "session_report_facts")
    for table in (
        "report_rollup_state", "report_key_customers", "report_heat_sums", "report_customer_sums",
        "report_place_totals", "report_place_sums", "report_day_sums",
    ):  # fmt: skip
        op.drop_table(table)
