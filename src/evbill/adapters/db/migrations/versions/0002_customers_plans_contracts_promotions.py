"""Customers and tokens, plans, contracts and their terms, promotions and redemptions; who charged.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-11

The same tables, constraints and indexes on SQLite and PostgreSQL, as in 0001. Charging sessions gain
the customer, contract, token, connector class, tariff and price rule they were priced under, and
their price split by dimension and VAT rate (``parts``, a JSON list, ``[]`` for older sessions). SQLite
cannot add a foreign key to an existing table, so the session columns are added in a batch, which
rebuilds the table there (and is a plain ALTER TABLE on PostgreSQL).

Uniqueness, per operator: a token uid, a plan name, a promotion code (several promotions without a
code are fine: both databases treat NULLs as distinct). Customer emails are deliberately not unique:
a driver may be a customer of two fleets, and a fleet manager's address may be on the business
account and on her own driver account. A redemption is stored once per (promotion, contract, cycle
start); a customer holds a promotion once.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import ExactDecimal, JsonDocument, UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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


def _precise_amount() -> ExactDecimal:
    return ExactDecimal(38, 10)


def _energy_kwh() -> ExactDecimal:
    return ExactDecimal(20, 6)


def _vat_percent() -> ExactDecimal:
    return ExactDecimal(7, 4)


def upgrade() -> None:
    _create_customers_and_tokens()
    _create_plans()
    _create_contracts()
    _create_promotions()
    _add_charging_session_columns()


def _create_customers_and_tokens() -> None:
    op.create_table(
        "customers",
        _id(),
        _operator_id(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("postal_code", sa.String(32), nullable=True),
        sa.Column("vat_id", sa.String(64), nullable=True),
        sa.Column("parent_id", sa.String(36), nullable=True),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        _operator_fk("customers"),
        _parent_fk("customers", "parent_id", "customers"),
        sa.UniqueConstraint("operator_id", "id", name="uq_customers_operator_id_id"),
    )
    op.create_index("ix_customers_parent", "customers", ["operator_id", "parent_id", "id"])
    op.create_table(
        "tokens",
        _id(),
        _operator_id(),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("contract_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid_until", UtcDateTime(), nullable=True),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_tokens"),
        _operator_fk("tokens"),
        _parent_fk("tokens", "customer_id", "customers"),
        sa.UniqueConstraint("operator_id", "uid", name="uq_tokens_operator_id_uid"),
    )
    op.create_index("ix_tokens_operator_id_id", "tokens", ["operator_id", "id"])
    op.create_index("ix_tokens_customer", "tokens", ["operator_id", "customer_id", "id"])


def _create_plans() -> None:
    op.create_table(
        "plans",
        _id(),
        _operator_id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
        _operator_fk("plans"),
        sa.UniqueConstraint("operator_id", "id", name="uq_plans_operator_id_id"),
        sa.UniqueConstraint("operator_id", "name", name="uq_plans_operator_id_name"),
    )
    op.create_table(
        "plan_versions",
        _id(),
        _operator_id(),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("effective_from", UtcDateTime(), nullable=False),
        sa.Column("fee", _precise_amount(), nullable=False),
        sa.Column("fee_vat", _vat_percent(), nullable=True),
        sa.Column("fee_cycle", sa.String(16), nullable=False),
        sa.Column("included_kwh", _energy_kwh(), nullable=True),
        sa.Column("included_minutes", sa.Integer(), nullable=True),
        sa.Column("fair_use_kwh", _energy_kwh(), nullable=True),
        sa.Column("tariffs", JsonDocument(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_plan_versions"),
        _operator_fk("plan_versions"),
        _parent_fk("plan_versions", "plan_id", "plans", ondelete="CASCADE"),
        sa.UniqueConstraint("plan_id", "number", name="uq_plan_versions_plan_id_number"),
    )


def _create_contracts() -> None:
    op.create_table(
        "contracts",
        _id(),
        _operator_id(),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start", UtcDateTime(), nullable=False),
        sa.Column("end", UtcDateTime(), nullable=True),
        sa.Column("current_terms", sa.Integer(), nullable=False),
        *_timestamps(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_contracts"),
        _operator_fk("contracts"),
        _parent_fk("contracts", "customer_id", "customers"),
        sa.UniqueConstraint("operator_id", "id", name="uq_contracts_operator_id_id"),
    )
    op.create_index("ix_contracts_customer", "contracts", ["operator_id", "customer_id", "id"])
    op.create_table(
        "contract_terms",
        _id(),
        _operator_id(),
        sa.Column("contract_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("effective_from", UtcDateTime(), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("billing_cycle", sa.String(16), nullable=False),
        sa.Column("payment_method", sa.String(32), nullable=False),
        sa.Column("payment_due_days", sa.Integer(), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("credit_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("overrides", JsonDocument(), nullable=False),
        sa.Column("services", JsonDocument(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_contract_terms"),
        _operator_fk("contract_terms"),
        _parent_fk("contract_terms", "contract_id", "contracts", ondelete="CASCADE"),
        _parent_fk("contract_terms", "plan_id", "plans"),
        sa.UniqueConstraint("contract_id", "number", name="uq_contract_terms_contract_id_number"),
    )
    op.create_index("ix_contract_terms_plan", "contract_terms", ["operator_id", "plan_id"])


def _create_promotions() -> None:
    op.create_table(
        "promotions",
        _id(),
        _operator_id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("discount_kind", sa.String(16), nullable=True),
        sa.Column("value", _precise_amount(), nullable=True),
        sa.Column("duration", sa.String(16), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=True),
        sa.Column("nth", sa.Integer(), nullable=True),
        sa.Column("cap", _precise_amount(), nullable=True),
        sa.Column("threshold_kwh", _energy_kwh(), nullable=True),
        sa.Column("price_per_kwh", _precise_amount(), nullable=True),
        sa.Column("free_kwh", _energy_kwh(), nullable=True),
        sa.Column("starts_at", UtcDateTime(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_promotions"),
        _operator_fk("promotions"),
        sa.UniqueConstraint("operator_id", "id", name="uq_promotions_operator_id_id"),
        sa.UniqueConstraint("operator_id", "code", name="uq_promotions_operator_id_code"),
    )
    op.create_table(
        "customer_promotions",
        _operator_id(),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("promotion_id", sa.String(36), nullable=False),
        sa.Column("given_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "promotion_id", name="pk_customer_promotions"),
        _operator_fk("customer_promotions"),
        _parent_fk("customer_promotions", "customer_id", "customers", ondelete="CASCADE"),
        _parent_fk("customer_promotions", "promotion_id", "promotions"),
    )
    op.create_index(
        "ix_customer_promotions_promotion", "customer_promotions", ["operator_id", "promotion_id"]
    )
    op.create_table(
        "redemptions",
        _id(),
        _operator_id(),
        sa.Column("promotion_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(36), nullable=False),
        sa.Column("cycle_start", UtcDateTime(), nullable=False),
        sa.Column("discount_excl_vat", _precise_amount(), nullable=False),
        sa.Column("free_kwh_used", _energy_kwh(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_redemptions"),
        _operator_fk("redemptions"),
        _parent_fk("redemptions", "promotion_id", "promotions"),
        _parent_fk("redemptions", "customer_id", "customers"),
        _parent_fk("redemptions", "contract_id", "contracts"),
        sa.UniqueConstraint(
            "promotion_id",
            "contract_id",
            "cycle_start",
            name="uq_redemptions_promotion_id_contract_id_cycle_start",
        ),
    )
    op.create_index("ix_redemptions_contract", "redemptions", ["operator_id", "contract_id", "cycle_start"])
    op.create_index("ix_redemptions_customer", "redemptions", ["operator_id", "customer_id", "promotion_id"])


def _add_charging_session_columns() -> None:
    with op.batch_alter_table("charging_sessions") as batch:
        batch.add_column(sa.Column("customer_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("contract_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("token_uid", sa.String(36), nullable=True))
        batch.add_column(sa.Column("connector_class", sa.String(8), nullable=True))
        batch.add_column(sa.Column("tariff_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("price_rule", sa.String(32), nullable=True))
        batch.add_column(sa.Column("price_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("parts", JsonDocument(), server_default="[]", nullable=False))
        for column, parent in (("customer_id", "customers"), ("contract_id", "contracts")):
            batch.create_foreign_key(
                f"fk_charging_sessions_operator_id_{column}",
                parent,
                ["operator_id", column],
                ["operator_id", "id"],
                ondelete="RESTRICT",
            )
        # A customer's sessions by start (billing a cycle, loyalty ordinals); deleting a contract checks
        # its sessions.
        batch.create_index(
            "ix_charging_sessions_customer", ["operator_id", "customer_id", "started_at", "id"]
        )
        batch.create_index("ix_charging_sessions_contract", ["operator_id", "contract_id"])


_SESSION_COLUMNS = (
    "customer_id",
    "contract_id",
    "token_uid",
    "connector_class",
    "tariff_id",
    "price_rule",
    "price_reason",
    "parts",
)


def downgrade() -> None:
    with op.batch_alter_table("charging_sessions") as batch:
        batch.drop_index("ix_charging_sessions_contract")
        batch.drop_index("ix_charging_sessions_customer")
        batch.drop_constraint("fk_charging_sessions_operator_id_contract_id", type_="foreignkey")
        batch.drop_constraint("fk_charging_sessions_operator_id_customer_id", type_="foreignkey")
        for column in reversed(_SESSION_COLUMNS):
            batch.drop_column(column)
    for table in (
        "redemptions",
        "customer_promotions",
        "promotions",
        "contract_terms",
        "contracts",
        "plan_versions",
        "plans",
        "tokens",
        "customers",
    ):
        op.drop_table(table)
