"""The tables, as SQLAlchemy Core metadata: one row shape per domain record, mapped by hand.

Every business table carries ``operator_id`` (the tenant) and references the operators table. Parent
links include the operator too: a station points at ``(operator_id, location_id)`` of a location, so
the database itself refuses a station of operator B under a location of operator A. Parents are
deleted only when nothing references them (``ON DELETE RESTRICT``); a tariff's versions go with it
unless a charging session was priced by one of them.

Versions follow the same rule: a plan's versions, and a contract's terms, go with it, but a plan
named by any contract's terms stays. A customer with tokens, contracts, fleet drivers or sessions
stays too; the promotions given to a customer go with the customer.

Ids are UUIDv7 text (``String(36)``), which sort by creation: lists page by ``(operator_id, id)``.
The audit log's id is a database counter instead, giving the order entries were written in.
Settled money is integer minor units (``BigInteger``); precise amounts, energy and coordinates are
``ExactDecimal``; times are ``UtcDateTime``; documents, and the small structured values inside a
record (tariff per connector class, service fees, a session's price parts), are ``JsonDocument``.
Charging sessions are listed newest first, so each way of filtering them has an index ending in
``(started_at, id)``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from evbill.adapters.db.types import ExactDecimal, JsonDocument, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

PRECISE_AMOUNT = ExactDecimal(38, 10)  # money.PRECISE_PLACES = 10
ENERGY_WH = ExactDecimal(20, 3)  # metering.ENERGY_QUANTUM = 0.001 Wh
ENERGY_KWH = ExactDecimal(20, 6)  # the same quantum, in kWh (allowances, caps, free kWh)
VAT_PERCENT = ExactDecimal(7, 4)  # a VAT rate in percent, e.g. 21 or 5.5
COORDINATE = ExactDecimal(10, 7)  # OCPI GeoLocation: up to 7 decimal places


def _id() -> Column[str]:
    return Column("id", String(36), primary_key=True)


def _operator_id() -> Column[str]:
    return Column("operator_id", String(36), nullable=False)


def _belongs_to_operator() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["operator_id"], ["operators.id"], ondelete="RESTRICT")


def _child_of(column: str, parent: str, *, ondelete: str = "RESTRICT") -> ForeignKeyConstraint:
    """A parent link within one operator: (operator_id, column) -> parent (operator_id, id)."""
    return ForeignKeyConstraint(
        ["operator_id", column], [f"{parent}.operator_id", f"{parent}.id"], ondelete=ondelete
    )


def _timestamps() -> tuple[Column[object], ...]:
    return (
        Column("created_at", UtcDateTime(), nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
    )


def _version() -> Column[int]:
    return Column("version", Integer, nullable=False)


operators = Table(
    "operators",
    metadata,
    _id(),
    Column("name", Text, nullable=False),
    Column("legal_name", Text, nullable=False),
    Column("country", String(2), nullable=False),
    Column("default_currency", String(3), nullable=False),
    Column("rounding_mode", String(16), nullable=False),
    Column("tax_country", String(2), nullable=False),
    Column("vat_id", String(64)),
    *_timestamps(),
    _version(),
)

locations = Table(
    "locations",
    metadata,
    _id(),
    _operator_id(),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("city", Text, nullable=False),
    Column("postal_code", String(32)),
    Column("country", String(2), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("latitude", COORDINATE, nullable=False),
    Column("longitude", COORDINATE, nullable=False),
    Column("opening_hours", JsonDocument()),
    *_timestamps(),
    _version(),
    _belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
)

charging_stations = Table(
    "charging_stations",
    metadata,
    _id(),
    _operator_id(),
    Column("location_id", String(36), nullable=False),
    Column("charge_point_id", String(64), nullable=False),
    Column("vendor", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("ocpp_version", String(8), nullable=False),
    Column("security_profile", Integer, nullable=False),
    Column("password_hash", Text),
    *_timestamps(),
    _version(),
    _belongs_to_operator(),
    _child_of("location_id", "locations"),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("charge_point_id"),  # global: it is the OCPP websocket path
    Index("ix_charging_stations_location", "operator_id", "location_id", "id"),
)

evses = Table(
    "evses",
    metadata,
    _id(),
    _operator_id(),
    Column("station_id", String(36), nullable=False),
    Column("evse_id", String(48), nullable=False),
    Column("ocpp_evse_id", Integer, nullable=False),
    *_timestamps(),
    _version(),
    _belongs_to_operator(),
    _child_of("station_id", "charging_stations"),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("station_id", "ocpp_evse_id"),
    UniqueConstraint("operator_id", "evse_id"),
)

connectors = Table(
    "connectors",
    metadata,
    _id(),
    _operator_id(),
    Column("evse_id", String(36), nullable=False),
    Column("connector_number", Integer, nullable=False),
    Column("standard", String(32), nullable=False),
    Column("format", String(16), nullable=False),
    Column("power_type", String(32), nullable=False),
    Column("max_voltage", Integer, nullable=False),
    Column("max_amperage", Integer, nullable=False),
    Column("max_electric_power", Integer),
    *_timestamps(),
    _version(),
    _belongs_to_operator(),
    _child_of("evse_id", "evses"),
    UniqueConstraint("evse_id", "connector_number"),
    Index("ix_connectors_operator_id_id", "operator_id", "id"),
)

tariffs = Table(
    "tariffs",
    metadata,
    _id(),
    _operator_id(),
    Column("ocpi_id", String(36), nullable=False),
    Column("name", Text, nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    *_timestamps(),
    _version(),
    _belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("operator_id", "ocpi_id"),
)

tariff_versions = Table(
    "tariff_versions",
    metadata,
    _id(),
    _operator_id(),
    Column("tariff_id", String(36), nullable=False),
    Column("number", Integer, nullable=False),
    Column("document", JsonDocument(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", Text, nullable=False),
    _belongs_to_operator(),
    _child_of("tariff_id", "tariffs", ondelete="CASCADE"),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("tariff_id", "number"),
)

tariff_assignments = Table(
    "tariff_assignments",
    metadata,
    _id(),
    _operator_id(),
    Column("scope", String(16), nullable=False),
    Column("scope_id", String(36)),
    Column("tariff_id", String(36), nullable=False),
    _belongs_to_operator(),
    _child_of("tariff_id", "tariffs"),
    Index("ix_tariff_assignments_operator_id_id", "operator_id", "id"),
    Index("ix_tariff_assignments_tariff", "operator_id", "tariff_id"),
)

customers = Table(
    "customers",
    metadata,
    _id(),
    _operator_id(),
    Column("kind", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("email", String(254)),  # not unique: one person may be a customer of two fleets
    Column("language", String(8), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("country", String(2), nullable=False),
    Column("address", Text),
    Column("city", Text),
    Column("postal_code", String(32)),
    Column("vat_id", String(64)),
    Column("parent_id", String(36)),
    *_timestamps(),
    _version(),
    _belongs_to_operator(),
    _child_of("parent_id", "customers"),
    UniqueConstraint("operator_id", "id"),
    Index("ix_customers_parent", "operator_id", "parent_id", "id"),
)

tokens = Table(
    "tokens",
    metadata,
    _id(),
    _operator_id(),
    Column("customer_id", String(36), nullable=False),
    Column("uid", String(36), nullable=False),
    Column("type", String(16), nullable=False),
    Column("contract_id", String(36), nullable=False),  # the eMA id, not a contracts row
    Column("status", String(16), nullable=False),
    Column("valid_until", UtcDateTime()),
    *_timestamps(),
    _version(),
    _belongs_to_operator(),
    _child_of("customer_id", "customers"),
    UniqueConstraint("operator_id", "uid"),
    Index("ix_tokens_operator_id_id", "operator_id", "id"),
    Index("ix_tokens_customer", "operator_id", "customer_id", "id"),
)

plans = Table(
    "plans",
    metadata,
    _id(),
    _operator_id(),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("current_version", Integer, nullable=False),
    *_timestamps(),
    _version(),
    _belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("operator_id", "name"),
)

plan_versions = Table(
    "plan_versions",
    metadata,
    _id(),
    _operator_id(),
    Column("plan_id", String(36), nullable=False),
    Column("number", Integer, nullable=False),
    Column("effective_from", UtcDateTime(), nullable=False),
    Column("fee", PRECISE_AMOUNT, nullable=False),
    Column("fee_vat", VAT_PERCENT),
    Column("fee_cycle", String(16), nullable=False),
    Column("included_kwh", ENERGY_KWH),
    Column("included_minutes", Integer),
    Column("fair_use_kwh", ENERGY_KWH),
    Column("tariffs", JsonDocument(), nullable=False),  # {"AC": tariff id, ...}
    Column("created_at", UtcDateTime()),
    _belongs_to_operator(),
    _child_of("plan_id", "plans", ondelete="CASCADE"),
    UniqueConstraint("plan_id", "number"),
)

contracts = Table(
    "contracts",
    metadata,
    _id(),
    _operator_id(),
    Column("customer_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime()),
    Column("current_terms", Integer, nullable=False),
    *_timestamps(),
    _version(),
    _belongs_to_operator(),
    _child_of("customer_id", "customers"),
    UniqueConstraint("operator_id", "id"),
    Index("ix_contracts_customer", "operator_id", "customer_id", "id"),
)

contract_terms = Table(
    "contract_terms",
    metadata,
    _id(),
    _operator_id(),
    Column("contract_id", String(36), nullable=False),
    Column("number", Integer, nullable=False),
    Column("effective_from", UtcDateTime(), nullable=False),
    Column("plan_id", String(36), nullable=False),
    Column("billing_cycle", String(16), nullable=False),
    Column("payment_method", String(32), nullable=False),
    Column("payment_due_days", Integer, nullable=False),
    Column("grace_days", Integer, nullable=False),
    Column("credit_limit_minor", BigInteger),
    Column("overrides", JsonDocument(), nullable=False),  # {"DC": tariff id, ...}
    Column("services", JsonDocument(), nullable=False),  # [{kind, description, amount, vat, recurrence}]
    Column("created_at", UtcDateTime()),
    _belongs_to_operator(),
    _child_of("contract_id", "contracts", ondelete="CASCADE"),
    _child_of("plan_id", "plans"),
    UniqueConstraint("contract_id", "number"),
    Index("ix_contract_terms_plan", "operator_id", "plan_id"),
)

promotions = Table(
    "promotions",
    metadata,
    _id(),
    _operator_id(),
    Column("name", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("code", String(64)),
    Column("discount_kind", String(16)),
    Column("value", PRECISE_AMOUNT),
    Column("duration", String(16), nullable=False),
    Column("cycles", Integer),
    Column("nth", Integer),
    Column("cap", PRECISE_AMOUNT),
    Column("threshold_kwh", ENERGY_KWH),
    Column("price_per_kwh", PRECISE_AMOUNT),
    Column("free_kwh", ENERGY_KWH),
    Column("starts_at", UtcDateTime()),
    Column("expires_at", UtcDateTime()),
    Column("max_redemptions", Integer),
    Column("per_customer_limit", Integer),
    Column("priority", Integer, nullable=False),
    Column("exclusive", Boolean, nullable=False),
    Column("created_at", UtcDateTime()),
    Column("updated_at", UtcDateTime()),
    _version(),
    _belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("operator_id", "code"),  # NULLs are distinct: any number of promotions without one
)

customer_promotions = Table(
    "customer_promotions",
    metadata,
    _operator_id(),
    Column("customer_id", String(36), primary_key=True),
    Column("promotion_id", String(36), primary_key=True),
    Column("given_at", UtcDateTime(), nullable=False),
    _belongs_to_operator(),
    _child_of("customer_id", "customers", ondelete="CASCADE"),
    _child_of("promotion_id", "promotions"),
    Index("ix_customer_promotions_promotion", "operator_id", "promotion_id"),
)

redemptions = Table(
    "redemptions",
    metadata,
    _id(),
    _operator_id(),
    Column("promotion_id", String(36), nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("contract_id", String(36), nullable=False),
    Column("cycle_start", UtcDateTime(), nullable=False),
    Column("discount_excl_vat", PRECISE_AMOUNT, nullable=False),
    Column("free_kwh_used", ENERGY_KWH, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    _belongs_to_operator(),
    _child_of("promotion_id", "promotions"),
    _child_of("customer_id", "customers"),
    _child_of("contract_id", "contracts"),
    UniqueConstraint("promotion_id", "contract_id", "cycle_start"),
    Index("ix_redemptions_contract", "operator_id", "contract_id", "cycle_start"),
    Index("ix_redemptions_customer", "operator_id", "customer_id", "promotion_id"),
)

charging_sessions = Table(
    "charging_sessions",
    metadata,
    _id(),
    _operator_id(),
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
    _belongs_to_operator(),
    _child_of("location_id", "locations"),
    _child_of("station_id", "charging_stations"),
    _child_of("evse_id", "evses"),
    _child_of("tariff_version_id", "tariff_versions"),
    _child_of("customer_id", "customers"),
    _child_of("contract_id", "contracts"),
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

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    _operator_id(),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("secret_hash", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    _belongs_to_operator(),
    UniqueConstraint("prefix"),
    Index("ix_api_keys_operator_id_id", "operator_id", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    # INTEGER on SQLite so the column is the rowid (SQLite counts only an INTEGER PRIMARY KEY).
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    _operator_id(),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(16), nullable=False),
    Column("entity_type", String(64), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("before", JsonDocument()),
    Column("after", JsonDocument()),
    Column("entry_id", String(36)),  # migration 0005: the id shown, random (see AuditEntry)
    _belongs_to_operator(),
    Index("ix_audit_log_operator_id_id", "operator_id", "id"),
    Index("ix_audit_log_entry_id", "entry_id", unique=True),
    Index("ix_audit_log_entity", "operator_id", "entity_type", "entity_id", "id"),
)

METER_VALUE = ExactDecimal(38, 10)  # a register or power as the charger reported it, in its own unit


def _counter() -> Column[int]:
    # INTEGER on SQLite so the column is the rowid (SQLite counts only an INTEGER PRIMARY KEY).
    return Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)


# OCPP (migration 0003): every frame in and out, every meter sample as sent, and each session's
# evidence. Frames and samples are append-only evidence, ordered by their counter id.
ocpp_frames = Table(
    "ocpp_frames",
    metadata,
    _counter(),
    _operator_id(),
    Column("station_id", String(36), nullable=False),
    Column("charge_point_id", String(48), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("message_type", Integer),
    Column("unique_id", String(64)),
    Column("action", String(64)),
    Column("raw", Text, nullable=False),
    _belongs_to_operator(),
    _child_of("station_id", "charging_stations"),
    Index("ix_ocpp_frames_station", "operator_id", "station_id", "id"),
)

meter_samples = Table(
    "meter_samples",
    metadata,
    _counter(),
    _operator_id(),
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
    _belongs_to_operator(),
    _child_of("session_id", "charging_sessions"),
    Index("ix_meter_samples_session", "operator_id", "session_id", "id"),
)

session_evidence = Table(
    "session_evidence",
    metadata,
    Column("session_id", String(36), primary_key=True),
    _operator_id(),
    Column(
        "start_key", String(200)
    ),  # OCPP 1.6: station|connector|token|time|meter start, finds a resent start
    Column("details", JsonDocument()),  # anomalies, signed meter values, explanation, OCPI CDR
    _belongs_to_operator(),
    _child_of("session_id", "charging_sessions", ondelete="CASCADE"),
    UniqueConstraint("start_key"),
)

ocpp_transaction_numbers = Table(
    "ocpp_transaction_numbers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(36), nullable=False),
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

# How messages name a table's records: (one, many), e.g. "still referenced by charging stations".
NOUNS: dict[str, tuple[str, str]] = {
    "operators": ("operator", "operators"),
    "locations": ("location", "locations"),
    "charging_stations": ("charging station", "charging stations"),
    "evses": ("EVSE", "EVSEs"),
    "connectors": ("connector", "connectors"),
    "tariffs": ("tariff", "tariffs"),
    "tariff_versions": ("tariff version", "tariff versions"),
    "tariff_assignments": ("tariff assignment", "tariff assignments"),
    "charging_sessions": ("charging session", "charging sessions"),
    "api_keys": ("API key", "API keys"),
    "audit_log": ("audit entry", "audit entries"),
    "customers": ("customer", "customers"),
    "tokens": ("token", "tokens"),
    "plans": ("plan", "plans"),
    "plan_versions": ("plan version", "plan versions"),
    "contracts": ("contract", "contracts"),
    "contract_terms": ("contract terms version", "contract terms versions"),
    "promotions": ("promotion", "promotions"),
    "customer_promotions": ("customer promotion", "customer promotions"),
    "redemptions": ("redemption", "redemptions"),
    "ocpp_frames": ("OCPP frame", "OCPP frames"),
    "meter_samples": ("meter sample", "meter samples"),
    "session_evidence": ("session evidence", "session evidence"),
    "ocpp_transaction_numbers": ("transaction number", "transaction numbers"),
    "station_requests": ("station request", "station requests"),
}
