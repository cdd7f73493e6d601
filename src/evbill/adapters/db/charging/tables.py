"""Tables of charging: sessions, and the OCPP evidence (frames, meter samples, session evidence).

Frames and samples are append-only evidence, ordered by their counter id."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from evbill.adapters.db.schema import (
    ENERGY_WH,
    METER_VALUE,
    PRECISE_AMOUNT,
    belongs_to_operator,
    child_of,
    counter_column,
    id_column,
    metadata,
    operator_id_column,
)
from evbill.adapters.db.types import JsonDocument, UtcDateTime

charging_sessions = Table(
    "charging_sessions",
    metadata,
    id_column(),
    operator_id_column(),
    Column("location_id", String(36), nullable=False),
    Column("station_id", String(36), nullable=False),
    Column("evse_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime()),
    Column("energy_wh", ENERGY_WH, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tariff_version_id", String(36)),
    Column("total_excl_vat", PRECISE_AMOUNT),
    Column("total_incl_vat", PRECISE_AMOUNT),
    Column("total_excl_vat_minor", BigInteger),
    Column("total_incl_vat_minor", BigInteger),
    Column("created_at", UtcDateTime(), nullable=False),
    # Who charged and why this price (migration 0002; empty on sessions recorded before it):
    Column("customer_id", String(36)),
    Column("contract_id", String(36)),
    Column("token_uid", String(36)),
    Column("connector_class", String(8)),
    Column("tariff_id", String(36)),
    Column("price_rule", String(32)),
    Column("price_reason", Text),
    Column("parts", JsonDocument(), nullable=False, server_default="[]"),  # [{dimension, vat, excl_vat}]
    # The charger's transaction and the time spent charging (migration 0003):
    Column("transaction_id", String(64)),
    Column("charging_s", ENERGY_WH),
    belongs_to_operator(),
    child_of("location_id", "locations"),
    child_of("station_id", "charging_stations"),
    child_of("evse_id", "evses"),
    child_of("tariff_version_id", "tariff_versions"),
    child_of("customer_id", "customers"),
    child_of("contract_id", "contracts"),
    Index("ix_charging_sessions_started", "operator_id", "started_at", "id"),
    Index("ix_charging_sessions_location", "operator_id", "location_id", "started_at", "id"),
    Index("ix_charging_sessions_station", "operator_id", "station_id", "started_at", "id"),
    Index("ix_charging_sessions_evse", "operator_id", "evse_id", "started_at", "id"),
    Index("ix_charging_sessions_status", "operator_id", "status", "started_at", "id"),
    Index("ix_charging_sessions_tariff_version", "operator_id", "tariff_version_id"),
    Index("ix_charging_sessions_customer", "operator_id", "customer_id", "started_at", "id"),
    Index("ix_charging_sessions_contract", "operator_id", "contract_id"),
    UniqueConstraint("station_id", "transaction_id"),
    UniqueConstraint("operator_id", "id"),  # samples and evidence point at (operator_id, id)
    Index("ix_charging_sessions_token", "operator_id", "token_uid", "status"),
)

# OCPP (migration 0003): every frame in and out, every meter sample as sent, and each session's
# evidence. Frames and samples are append-only evidence, ordered by their counter id.
ocpp_frames = Table(
    "ocpp_frames",
    metadata,
    counter_column(),
    operator_id_column(),
    Column("station_id", String(36), nullable=False),
    Column("charge_point_id", String(48), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("message_type", Integer),
    Column("unique_id", String(64)),
    Column("action", String(64)),
    Column("raw", Text, nullable=False),
    # The session the frame is about (migration 0006): kept as its evidence past the retention period.
    Column("session_id", String(36)),
    belongs_to_operator(),
    child_of("station_id", "charging_stations"),
    Index("ix_ocpp_frames_station", "operator_id", "station_id", "id"),
)

meter_samples = Table(
    "meter_samples",
    metadata,
    counter_column(),
    operator_id_column(),
    Column("session_id", String(36), nullable=False),
    Column("timestamp", UtcDateTime(), nullable=False),
    Column("energy", METER_VALUE),
    Column("energy_unit", String(8), nullable=False),
    Column("multiplier", Integer, nullable=False),
    Column("power", METER_VALUE),
    Column("power_unit", String(8), nullable=False),
    Column("current", METER_VALUE),
    Column("state", String(16)),
    Column("seq_no", Integer),
    Column("context", String(32)),
    Column("offline", Boolean, nullable=False),
    Column("signed_data", Text),
    # The frame that carried the sample (migration 0006; no foreign key: the journal writes both in
    # one statement each, and frames of sessions are never purged).
    Column("frame_id", BigInteger),
    belongs_to_operator(),
    child_of("session_id", "charging_sessions"),
    Index("ix_meter_samples_session", "operator_id", "session_id", "id"),
)

session_evidence = Table(
    "session_evidence",
    metadata,
    Column("session_id", String(36), primary_key=True),
    operator_id_column(),
    Column(
        "start_key", String(200)
    ),  # OCPP 1.6: station|connector|token|time|meter start, finds a resent start
    Column("details", JsonDocument()),  # anomalies, signed meter values, explanation, OCPI CDR
    belongs_to_operator(),
    child_of("session_id", "charging_sessions", ondelete="CASCADE"),
    UniqueConstraint("start_key"),
)

# Frames refused unread (migration 0006): one row per station, reason and window, with the count.
ocpp_refused_frames = Table(
    "ocpp_refused_frames",
    metadata,
    counter_column(),
    operator_id_column(),
    Column("station_id", String(36), nullable=False),
    Column("charge_point_id", String(48), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("window_seconds", Integer, nullable=False),
    Column("frames", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("first_at", UtcDateTime(), nullable=False),
    Column("last_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    child_of("station_id", "charging_stations"),
    UniqueConstraint("station_id", "reason", "window_start"),
)

# Runs of the retention command (migration 0006), platform-wide. While a run is open, inside its own
# transaction, the append-only trigger of ocpp_frames lets it delete the frames older than its
# cutoff that belong to no session; nothing else may delete a frame.
ocpp_frame_purges = Table(
    "ocpp_frame_purges",
    metadata,
    counter_column(),
    Column("at", UtcDateTime(), nullable=False),
    Column("cutoff", UtcDateTime(), nullable=False),
    Column("open", Boolean, nullable=False),
    Column("frames", BigInteger, nullable=False),
    Column("archive", Text),
)

# Unknown stations that asked to connect (migration 0004): platform-wide, they belong to no operator.
station_requests = Table(
    "station_requests",
    metadata,
    Column("charge_point_id", String(48), primary_key=True),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("subprotocol", String(16), nullable=False),
    Column("vendor", String(100)),
    Column("model", String(100)),
    Column("serial_number", String(100)),
    Column("firmware_version", String(100)),
)
