"""OCPP: frames, meter samples, session evidence, 1.6 transaction numbers; sessions know their transaction.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Every frame a charger sends or receives is kept in ``ocpp_frames`` and every meter sample as sent in
``meter_samples``: both are evidence for disputes, so the database itself refuses to change or delete
them (triggers, as for the audit log). A session's evidence (anomalies, signed meter values, price
explanation, OCPI CDR) is one JSON document in ``session_evidence``, together with the key that finds
a resent OCPP 1.6 StartTransaction. ``ocpp_transaction_numbers`` hands out 1.6's integer
transactionIds. Sessions gain the charger's ``transaction_id`` (unique per station) and the time
spent charging.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import ExactDecimal, JsonDocument, UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("ocpp_frames", "meter_samples")


def _counter() -> sa.Column[int]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
    )


def _operator_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id"], ["operators.id"], name=f"fk_{table}_operator_id", ondelete="RESTRICT"
    )


def _parent_fk(table: str, column: str, parent: str, ondelete: str = "RESTRICT") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id", column],
        [f"{parent}.operator_id", f"{parent}.id"],
        name=f"fk_{table}_operator_id_{column}",
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "ocpp_frames",
        _counter(),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("station_id", sa.String(36), nullable=False),
        sa.Column("charge_point_id", sa.String(48), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("message_type", sa.Integer(), nullable=True),
        sa.Column("unique_id", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ocpp_frames"),
        _operator_fk("ocpp_frames"),
        _parent_fk("ocpp_frames", "station_id", "charging_stations"),
    )
    op.create_index("ix_ocpp_frames_station", "ocpp_frames", ["operator_id", "station_id", "id"])
    _add_session_columns()
    op.create_table(
        "meter_samples",
        _counter(),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("timestamp", UtcDateTime(), nullable=False),
        sa.Column("energy", ExactDecimal(38, 10), nullable=True),
        sa.Column("energy_unit", sa.String(8), nullable=False),
        sa.Column("multiplier", sa.Integer(), nullable=False),
        sa.Column("power", ExactDecimal(38, 10), nullable=True),
        sa.Column("power_unit", sa.String(8), nullable=False),
        sa.Column("current", ExactDecimal(38, 10), nullable=True),
        sa.Column("state", sa.String(16), nullable=True),
        sa.Column("seq_no", sa.Integer(), nullable=True),
        sa.Column("context", sa.String(32), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("signed_data", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_meter_samples"),
        _operator_fk("meter_samples"),
        _parent_fk("meter_samples", "session_id", "charging_sessions"),
    )
    op.create_index("ix_meter_samples_session", "meter_samples", ["operator_id", "session_id", "id"])
    op.create_table(
        "session_evidence",
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("start_key", sa.String(200), nullable=True),
        sa.Column("details", JsonDocument(), nullable=True),
        sa.PrimaryKeyConstraint("session_id", name="pk_session_evidence"),
        _operator_fk("session_evidence"),
        _parent_fk("session_evidence", "session_id", "charging_sessions", ondelete="CASCADE"),
        sa.UniqueConstraint("start_key", name="uq_session_evidence_start_key"),
    )
    op.create_table(
        "ocpp_transaction_numbers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ocpp_transaction_numbers"),
    )
    for table in APPEND_ONLY:
        _forbid_changes(table)


def _add_session_columns() -> None:
    with op.batch_alter_table("charging_sessions") as batch:
        batch.add_column(sa.Column("transaction_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("charging_s", ExactDecimal(20, 3), nullable=True))
        batch.create_unique_constraint(
            "uq_charging_sessions_station_id_transaction_id", ["station_id", "transaction_id"]
        )
        # samples and evidence point at (operator_id, id), as every other child does at its parent
        batch.create_unique_constraint("uq_charging_sessions_operator_id_id", ["operator_id", "id"])
        batch.create_index("ix_charging_sessions_token", ["operator_id", "token_uid", "status"])


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
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_no_change ON {table}")
            op.execute(f"DROP FUNCTION {table}_append_only()")
    for table in ("ocpp_transaction_numbers", "session_evidence", "meter_samples"):
        op.drop_table(table)
    with op.batch_alter_table("charging_sessions") as batch:
        batch.drop_index("ix_charging_sessions_token")
        batch.drop_constraint("uq_charging_sessions_operator_id_id", type_="unique")
        batch.drop_constraint("uq_charging_sessions_station_id_transaction_id", type_="unique")
        batch.drop_column("charging_s")
        batch.drop_column("transaction_id")
    op.drop_table("ocpp_frames")
