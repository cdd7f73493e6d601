"""OCPP evidence that links up, refused floods counted, and a retention policy for raw frames.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

* ``ocpp_frames.session_id``: the charging session a frame is about. Those frames are the session's
  evidence and are never purged; the others (heartbeats, status, boot...) may be, after the legal
  period, by ``evbill frames retain``.
* ``meter_samples.frame_id``: the frame that carried the sample, so a session's evidence shows each
  sample next to the frame it came in.
* ``ocpp_refused_frames``: frames refused unread (over the rate limit, over the size limit) are
  counted per station, reason and window instead of being stored one by one.
* ``ocpp_frame_purges``: the runs of the retention command. The append-only trigger of
  ``ocpp_frames`` now lets a DELETE through only while a run is open in the same transaction, and only
  for a frame older than the run's cutoff that belongs to no session; UPDATE stays refused, and so does
  every other DELETE. (A run is opened and closed inside one transaction, so no other transaction ever
  sees it open.)
* ``ocpp_transaction_numbers`` goes: OCPP 1.6 transaction ids are now random per station, not one
  counter for the whole platform (which told every driver how busy the platform was).

Plain ADD COLUMNs keep the append-only triggers (a SQLite batch rebuild would drop them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "ocpp_frames is append-only"  # as in 0003
# A frame may be deleted only by an open retention run, only if it is older than the run's cutoff
# and about no session.
PURGING = (
    "EXISTS (SELECT 1 FROM ocpp_frame_purges AS purge "
    "WHERE purge.open AND OLD.at < purge.cutoff AND OLD.session_id IS NULL)"
)


def _counter() -> sa.Column[int]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
    )


def upgrade() -> None:
    op.add_column("ocpp_frames", sa.Column("session_id", sa.String(36), nullable=True))
    op.add_column("meter_samples", sa.Column("frame_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "ocpp_refused_frames",
        _counter(),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("station_id", sa.String(36), nullable=False),
        sa.Column("charge_point_id", sa.String(48), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("window_start", UtcDateTime(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("frames", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("first_at", UtcDateTime(), nullable=False),
        sa.Column("last_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ocpp_refused_frames"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_ocpp_refused_frames_operator_id", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id", "station_id"],
            ["charging_stations.operator_id", "charging_stations.id"],
            name="fk_ocpp_refused_frames_operator_id_station_id",
            ondelete="RESTRICT",
        ),
        sa.UniqueConstraint(
            "station_id",
            "reason",
            "window_start",
            name="uq_ocpp_refused_frames_station_id_reason_window_start",
        ),
    )
    op.create_table(
        "ocpp_frame_purges",
        _counter(),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("cutoff", UtcDateTime(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("frames", sa.BigInteger(), nullable=False),
        sa.Column("archive", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ocpp_frame_purges"),
    )
    _frames_deletable_by_a_purge()
    op.drop_table("ocpp_transaction_numbers")


def _frames_deletable_by_a_purge() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION ocpp_frames_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP = 'DELETE' AND {PURGING} THEN RETURN OLD; END IF; "
            f"RAISE EXCEPTION '{MESSAGE}'; END; $$"
        )
        return
    op.execute("DROP TRIGGER ocpp_frames_no_delete")
    op.execute(
        f"CREATE TRIGGER ocpp_frames_no_delete BEFORE DELETE ON ocpp_frames WHEN NOT {PURGING} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    )


def _frames_never_deletable() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION ocpp_frames_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$"
        )
        return
    op.execute("DROP TRIGGER ocpp_frames_no_delete")
    op.execute(
        "CREATE TRIGGER ocpp_frames_no_delete BEFORE DELETE ON ocpp_frames "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    )


def downgrade() -> None:
    op.create_table(
        "ocpp_transaction_numbers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ocpp_transaction_numbers"),
    )
    _frames_never_deletable()
    op.drop_table("ocpp_frame_purges")
    op.drop_table("ocpp_refused_frames")
    op.drop_column("meter_samples", "frame_id")  # plain DROP COLUMNs: the triggers stay
    op.drop_column("ocpp_frames", "session_id")
