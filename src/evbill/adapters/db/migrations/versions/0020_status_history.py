"""Status history (every connector/EVSE status a station reported, append-only) and the fees beyond
energy: grid and demand fees per location, gateway and roaming fees per operator (issue 15).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import ExactDecimal, UtcDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "connector_status_history"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("station_id", sa.String(36), nullable=False),
        sa.Column("evse_number", sa.Integer(), nullable=False),
        sa.Column("connector_number", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error_code", sa.String(255), nullable=True),
        sa.Column("info", sa.String(255), nullable=True),
        sa.Column("reported_at", UtcDateTime(), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
        # no foreign keys: see adapters/db/charging_state/tables.py
    )
    op.create_index(f"ix_{TABLE}_station", TABLE, ["operator_id", "station_id", "received_at"])
    _forbid_changes(TABLE)
    _create_fees()


def _create_fees() -> None:
    op.create_table(
        "location_fees",
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("grid_per_kwh", ExactDecimal(24, 10), nullable=False),
        sa.Column("demand_per_kw", ExactDecimal(24, 10), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", name="pk_location_fees"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_location_fees_operator_id", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id", "location_id"],
            ["locations.operator_id", "locations.id"],
            name="fk_location_fees_operator_id_location_id",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "operator_fees",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("gateway_percent", ExactDecimal(12, 6), nullable=False),
        sa.Column("gateway_fixed", ExactDecimal(24, 10), nullable=False),
        sa.Column("roaming", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", name="pk_operator_fees"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_operator_fees_operator_id", ondelete="RESTRICT"
        ),
    )


def _forbid_changes(table: str) -> None:
    message = f"{table} is append-only"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{message}'; END; $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TABLE}_no_truncate ON {TABLE}")
        op.execute(f"DROP TRIGGER {TABLE}_no_change ON {TABLE}")
        op.execute(f"DROP FUNCTION {TABLE}_append_only()")
    op.drop_table("operator_fees")
    op.drop_table("location_fees")
    op.drop_table(TABLE)
