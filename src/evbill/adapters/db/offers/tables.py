"""Tables of customers and offers: customers, tokens, plans, contracts, promotions and redemptions."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from evbill.adapters.db.schema import (
    ENERGY_KWH,
    PRECISE_AMOUNT,
    VAT_PERCENT,
    belongs_to_operator,
    child_of,
    id_column,
    metadata,
    operator_id_column,
    timestamps,
    version_column,
)
from evbill.adapters.db.types import JsonDocument, UtcDateTime

customers = Table(
    "customers",
    metadata,
    id_column(),
    operator_id_column(),
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
    *timestamps(),
    version_column(),
    belongs_to_operator(),
    child_of("parent_id", "customers"),
    UniqueConstraint("operator_id", "id"),
    Index("ix_customers_parent", "operator_id", "parent_id", "id"),
)

tokens = Table(
    "tokens",
    metadata,
    id_column(),
    operator_id_column(),
    Column("customer_id", String(36), nullable=False),
    Column("uid", String(36), nullable=False),
    Column("type", String(16), nullable=False),
    Column("contract_id", String(36), nullable=False),  # the eMA id, not a contracts row
    Column("status", String(16), nullable=False),
    Column("valid_until", UtcDateTime()),
    *timestamps(),
    version_column(),
    belongs_to_operator(),
    child_of("customer_id", "customers"),
    UniqueConstraint("operator_id", "uid"),
    Index("ix_tokens_operator_id_id", "operator_id", "id"),
    Index("ix_tokens_customer", "operator_id", "customer_id", "id"),
)

plans = Table(
    "plans",
    metadata,
    id_column(),
    operator_id_column(),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("current_version", Integer, nullable=False),
    *timestamps(),
    version_column(),
    belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("operator_id", "name"),
)

plan_versions = Table(
    "plan_versions",
    metadata,
    id_column(),
    operator_id_column(),
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
    belongs_to_operator(),
    child_of("plan_id", "plans", ondelete="CASCADE"),
    UniqueConstraint("plan_id", "number"),
)

contracts = Table(
    "contracts",
    metadata,
    id_column(),
    operator_id_column(),
    Column("customer_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime()),
    Column("current_terms", Integer, nullable=False),
    *timestamps(),
    version_column(),
    belongs_to_operator(),
    child_of("customer_id", "customers"),
    UniqueConstraint("operator_id", "id"),
    Index("ix_contracts_customer", "operator_id", "customer_id", "id"),
)

contract_terms = Table(
    "contract_terms",
    metadata,
    id_column(),
    operator_id_column(),
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
    belongs_to_operator(),
    child_of("contract_id", "contracts", ondelete="CASCADE"),
    child_of("plan_id", "plans"),
    UniqueConstraint("contract_id", "number"),
    Index("ix_contract_terms_plan", "operator_id", "plan_id"),
)

promotions = Table(
    "promotions",
    metadata,
    id_column(),
    operator_id_column(),
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
    version_column(),
    belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("operator_id", "code"),  # NULLs are distinct: any number of promotions without one
)

customer_promotions = Table(
    "customer_promotions",
    metadata,
    operator_id_column(),
    Column("customer_id", String(36), primary_key=True),
    Column("promotion_id", String(36), primary_key=True),
    Column("given_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    child_of("customer_id", "customers", ondelete="CASCADE"),
    child_of("promotion_id", "promotions"),
    Index("ix_customer_promotions_promotion", "operator_id", "promotion_id"),
)

redemptions = Table(
    "redemptions",
    metadata,
    id_column(),
    operator_id_column(),
    Column("promotion_id", String(36), nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("contract_id", String(36), nullable=False),
    Column("cycle_start", UtcDateTime(), nullable=False),
    Column("discount_excl_vat", PRECISE_AMOUNT, nullable=False),
    Column("free_kwh_used", ENERGY_KWH, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    child_of("promotion_id", "promotions"),
    child_of("customer_id", "customers"),
    child_of("contract_id", "contracts"),
    UniqueConstraint("promotion_id", "contract_id", "cycle_start"),
    Index("ix_redemptions_contract", "operator_id", "contract_id", "cycle_start"),
    Index("ix_redemptions_customer", "operator_id", "customer_id", "promotion_id"),
)
