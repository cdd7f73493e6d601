"""The schema's shared parts: the metadata, the naming convention, column helpers and exact types.

Each capability declares its own tables in ``<capability>/tables.py`` on this one ``metadata``;
``evbill.adapters.db.tables`` imports them all, so the metadata is whole (Alembic, schema tests).

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
    Column,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
)

from evbill.adapters.db.types import ExactDecimal, UtcDateTime

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


def id_column() -> Column[str]:
    return Column("id", String(36), primary_key=True)


def operator_id_column() -> Column[str]:
    return Column("operator_id", String(36), nullable=False)


def belongs_to_operator() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["operator_id"], ["operators.id"], ondelete="RESTRICT")


def child_of(column: str, parent: str, *, ondelete: str = "RESTRICT") -> ForeignKeyConstraint:
    """A parent link within one operator: (operator_id, column) -> parent (operator_id, id)."""
    return ForeignKeyConstraint(
        ["operator_id", column], [f"{parent}.operator_id", f"{parent}.id"], ondelete=ondelete
    )


def timestamps() -> tuple[Column[object], ...]:
    return (
        Column("created_at", UtcDateTime(), nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
    )


def version_column() -> Column[int]:
    return Column("version", Integer, nullable=False)


METER_VALUE = ExactDecimal(38, 10)  # a register or power as the charger reported it, in its own unit


def counter_column() -> Column[int]:
    # INTEGER on SQLite so the column is the rowid (SQLite counts only an INTEGER PRIMARY KEY).
    return Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)


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
    "ocpp_refused_frames": ("count of refused frames", "counts of refused frames"),
    "ocpp_frame_purges": ("frame purge", "frame purges"),
    "station_requests": ("station request", "station requests"),
    "session_reviews": ("session review event", "session review events"),
    "connector_states": ("connector state", "connector states"),
    "idempotency_keys": ("idempotency key", "idempotency keys"),
    "ledger_entries": ("ledger entry", "ledger entries"),
    "ledger_postings": ("ledger posting", "ledger postings"),
    "ledger_period_sums": ("quarter-hour ledger sum", "quarter-hour ledger sums"),
    "payments": ("payment", "payments"),
    "payment_events": ("payment event", "payment events"),
    "wallets": ("wallet", "wallets"),
    "wallet_transactions": ("wallet transaction", "wallet transactions"),
    "bills": ("bill", "bills"),
    "invoices": ("invoice", "invoices"),
    "invoice_counters": ("invoice counter", "invoice counters"),
    "invoicing_profiles": ("invoicing profile", "invoicing profiles"),
    "adhoc_starts": ("ad hoc start", "ad hoc starts"),
    "hold_amounts": ("hold amount", "hold amounts"),
    "cards_on_file": ("card on file", "cards on file"),
    "wallet_reloads": ("wallet reload rule", "wallet reload rules"),
    "session_receipts": ("session receipt", "session receipts"),
    "document_deliveries": ("document delivery", "document deliveries"),
    "bank_transactions": ("bank transaction", "bank transactions"),
    "sepa_mandates": ("SEPA mandate", "SEPA mandates"),
    "direct_debits": ("direct debit", "direct debits"),
    "charge_attempts": ("charge attempt", "charge attempts"),
    "payment_reminders": ("payment reminder", "payment reminders"),
    "suspensions": ("suspension", "suspensions"),
    "collection_policies": ("collection policy", "collection policies"),
}
