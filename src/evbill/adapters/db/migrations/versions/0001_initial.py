"""Initial schema: operators, sites, tariffs, sessions, API keys and the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-05-04

The same tables, constraints and indexes on SQLite and PostgreSQL (the column types adapt themselves:
ExactDecimal is TEXT on SQLite and NUMERIC on PostgreSQL, UtcDateTime fixed-width ISO text or
TIMESTAMP WITH TIME ZONE). The audit log refuses UPDATE and DELETE in the database itself, with a
trigger on each dialect, so no code path (nor a hand-typed statement) can rewrite history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import ExactDecimal, JsonDocument, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_MESSAGE = "audit_log is append-only"


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(36), nullable=False)


def _operator_id() -> sa.Column[str]:
    return sa.Column("operator_id", sa.String(36), nullable=False)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _version() -> sa.Column[int]:
    return sa.Column("version", sa.Integer(), nullable=False)


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
        "operators",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("legal_name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("default_currency", sa.String(3), nullable=False),
        sa.Column("rounding_mode", sa.String(16), nullable=False),
        sa.Column("tax_country", sa.String(2), nullable=False),
        sa.Column("vat_id", sa.String(64), nullable=True),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_operators"),
    )
    op.create_table(
        "locations",
        _id(),
        _operator_id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("city", sa.Text(), nullable=False),
        sa.Column("postal_code", sa.String(32), nullable=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("latitude", ExactDecimal(10, 7), nullable=False),
        sa.Column("longitude", ExactDecimal(10, 7), nullable=False),
        sa.Column("opening_hours", JsonDocument(), nullable=True),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_locations"),
        _operator_fk("locations"),
        sa.UniqueConstraint("operator_id", "id", name="uq_locations_operator_id_id"),
    )
    op.create_table(
        "charging_stations",
        _id(),
        _operator_id(),
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("charge_point_id", sa.String(64), nullable=False),
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("ocpp_version", sa.String(8), nullable=False),
        sa.Column("security_profile", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_charging_stations"),
        _operator_fk("charging_stations"),
        _parent_fk("charging_stations", "location_id", "locations"),
        sa.UniqueConstraint("operator_id", "id", name="uq_charging_stations_operator_id_id"),
        sa.UniqueConstraint("charge_point_id", name="uq_charging_stations_charge_point_id"),
    )
    op.create_index(
        "ix_charging_stations_location", "charging_stations", ["operator_id", "location_id", "id"]
    )
    op.create_table(
        "evses",
        _id(),
        _operator_id(),
        sa.Column("station_id", sa.String(36), nullable=False),
        sa.Column("evse_id", sa.String(48), nullable=False),
        sa.Column("ocpp_evse_id", sa.Integer(), nullable=False),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_evses"),
        _operator_fk("evses"),
        _parent_fk("evses", "station_id", "charging_stations"),
        sa.UniqueConstraint("operator_id", "id", name="uq_evses_operator_id_id"),
        sa.UniqueConstraint("station_id", "ocpp_evse_id", name="uq_evses_station_id_ocpp_evse_id"),
        sa.UniqueConstraint("operator_id", "evse_id", name="uq_evses_operator_id_evse_id"),
    )
    op.create_table(
        "connectors",
        _id(),
        _operator_id(),
        sa.Column("evse_id", sa.String(36), nullable=False),
        sa.Column("connector_number", sa.Integer(), nullable=False),
        sa.Column("standard", sa.String(32), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("power_type", sa.String(32), nullable=False),
        sa.Column("max_voltage", sa.Integer(), nullable=False),
        sa.Column("max_amperage", sa.Integer(), nullable=False),
        sa.Column("max_electric_power", sa.Integer(), nullable=True),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_connectors"),
        _operator_fk("connectors"),
        _parent_fk("connectors", "evse_id", "evses"),
        sa.UniqueConstraint("evse_id", "connector_number", name="uq_connectors_evse_id_connector_number"),
    )
    op.create_index("ix_connectors_operator_id_id", "connectors", ["operator_id", "id"])
    op.create_table(
        "tariffs",
        _id(),
        _operator_id(),
        sa.Column("ocpi_id", sa.String(36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_tariffs"),
        _operator_fk("tariffs"),
        sa.UniqueConstraint("operator_id", "id", name="uq_tariffs_operator_id_id"),
        sa.UniqueConstraint("operator_id", "ocpi_id", name="uq_tariffs_operator_id_ocpi_id"),
    )
    op.create_table(
        "tariff_versions",
        _id(),
        _operator_id(),
        sa.Column("tariff_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("document", JsonDocument(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tariff_versions"),
        _operator_fk("tariff_versions"),
        _parent_fk("tariff_versions", "tariff_id", "tariffs", ondelete="CASCADE"),
        sa.UniqueConstraint("operator_id", "id", name="uq_tariff_versions_operator_id_id"),
        sa.UniqueConstraint("tariff_id", "number", name="uq_tariff_versions_tariff_id_number"),
    )
    op.create_table(
        "tariff_assignments",
        _id(),
        _operator_id(),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("scope_id", sa.String(36), nullable=True),
        sa.Column("tariff_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tariff_assignments"),
        _operator_fk("tariff_assignments"),
        _parent_fk("tariff_assignments", "tariff_id", "tariffs"),
    )
    op.create_index("ix_tariff_assignments_operator_id_id", "tariff_assignments", ["operator_id", "id"])
    op.create_index("ix_tariff_assignments_tariff", "tariff_assignments", ["operator_id", "tariff_id"])
    _create_charging_sessions()
    op.create_table(
        "api_keys",
        _id(),
        _operator_id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        _operator_fk("api_keys"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_index("ix_api_keys_operator_id_id", "api_keys", ["operator_id", "id"])
    _create_audit_log()


def _create_charging_sessions() -> None:
    op.create_table(
        "charging_sessions",
        _id(),
        _operator_id(),
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("station_id", sa.String(36), nullable=False),
        sa.Column("evse_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("energy_wh", ExactDecimal(20, 3), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("tariff_version_id", sa.String(36), nullable=True),
        sa.Column("total_excl_vat", ExactDecimal(38, 10), nullable=True),
        sa.Column("total_incl_vat", ExactDecimal(38, 10), nullable=True),
        sa.Column("total_excl_vat_minor", sa.BigInteger(), nullable=True),
        sa.Column("total_incl_vat_minor", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_charging_sessions"),
        _operator_fk("charging_sessions"),
        _parent_fk("charging_sessions", "location_id", "locations"),
        _parent_fk("charging_sessions", "station_id", "charging_stations"),
        _parent_fk("charging_sessions", "evse_id", "evses"),
        _parent_fk("charging_sessions", "tariff_version_id", "tariff_versions"),
    )
    # Newest-first listing, each filter with its own index ending in (started_at, id).
    for name, columns in (
        ("ix_charging_sessions_started", ["operator_id", "started_at", "id"]),
        ("ix_charging_sessions_location", ["operator_id", "location_id", "started_at", "id"]),
        ("ix_charging_sessions_station", ["operator_id", "station_id", "started_at", "id"]),
        ("ix_charging_sessions_evse", ["operator_id", "evse_id", "started_at", "id"]),
        ("ix_charging_sessions_status", ["operator_id", "status", "started_at", "id"]),
        ("ix_charging_sessions_tariff_version", ["operator_id", "tariff_version_id"]),
    ):
        op.create_index(name, "charging_sessions", columns)


def _create_audit_log() -> None:
    op.create_table(
        "audit_log",
        # INTEGER on SQLite so the column is the rowid (SQLite counts only an INTEGER PRIMARY KEY).
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        _operator_id(),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("before", JsonDocument(), nullable=True),
        sa.Column("after", JsonDocument(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        _operator_fk("audit_log"),
    )
    op.create_index("ix_audit_log_operator_id_id", "audit_log", ["operator_id", "id"])
    op.create_index("ix_audit_log_entity", "audit_log", ["operator_id", "entity_type", "entity_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        _forbid_audit_changes_on_postgresql()
    else:
        _forbid_audit_changes_on_sqlite()


def _forbid_audit_changes_on_sqlite() -> None:
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END;"
        )


def _forbid_audit_changes_on_postgresql() -> None:
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END; $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")
    for table in (
        "audit_log",
        "api_keys",
        "charging_sessions",
        "tariff_assignments",
        "tariff_versions",
        "tariffs",
        "connectors",
        "evses",
        "charging_stations",
        "locations",
        "operators",
    ):
        op.drop_table(table)
