"""Sessions under review and what operators decided; the last OCPP 1.6 state of each connector.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03

``session_reviews`` is append-only evidence: each row is a session sent to review (implausible data,
a price that could not be made) or an operator's decision on one (close, void, re-rate), with who,
when, why and the status before and after. ``connector_states`` keeps the last StatusNotification of
each 1.6 connector, so its meter values keep their charging state across reconnects and restarts.
Sessions gain the statuses REVIEW and VOIDED (the column is text: no change needed).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _operator_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id"], ["operators.id"], name=f"fk_{table}_operator_id", ondelete="RESTRICT"
    )


def _parent_fk(table: str, column: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id", column],
        [f"{parent}.operator_id", f"{parent}.id"],
        name=f"fk_{table}_operator_id_{column}",
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    op.create_table(
        "session_reviews",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status_before", sa.String(16), nullable=False),
        sa.Column("status_after", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_session_reviews"),
        _operator_fk("session_reviews"),
        _parent_fk("session_reviews", "session_id", "charging_sessions"),
    )
    op.create_index("ix_session_reviews_session", "session_reviews", ["operator_id", "session_id", "at"])
    op.create_table(
        "connector_states",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("station_id", sa.String(36), nullable=False),
        sa.Column("connector_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "connector_id", name="pk_connector_states"),
        _operator_fk("connector_states"),
        _parent_fk("connector_states", "station_id", "charging_stations"),
    )


def downgrade() -> None:
    op.drop_table("connector_states")
    op.drop_index("ix_session_reviews_session", table_name="session_reviews")
    op.drop_table("session_reviews")
