"""Payments and cards on file (payfix):

* what an invoice payment's capture paid of its invoice (``payments.invoice_applied``): a refund of
  the payment takes from the excess left as credit first, then reopens the invoice by the rest.
  Captures stored before this migration have none (NULL): a refund of one reopens the invoice by up
  to the whole capture (what the invoice shows paid at most);
* ``card_setups``: the cards customers are saving at the gateway (SetupIntents), whose each is;
* ``payments_in_flight``: a capture sent to the gateway and not yet recorded, one per payment
  (committed before the gateway is called; a crash leaves it for the retry with the same key).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("invoice_applied", sa.BigInteger(), nullable=True))
    op.create_table(
        "card_setups",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("gateway", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("charge_sessions", sa.Boolean(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("saved_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("gateway", "reference", name="pk_card_setups"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_card_setups_operator_id", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id", "customer_id"],
            ["customers.operator_id", "customers.id"],
            name="fk_card_setups_operator_id_customer_id",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "payments_in_flight",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("payment_id", sa.String(36), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name="pk_payments_in_flight"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_payments_in_flight_operator_id", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id", "payment_id"],
            ["payments.operator_id", "payments.id"],
            name="fk_payments_in_flight_operator_id_payment_id",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("payments_in_flight")
    op.drop_table("card_setups")
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy of the table would break the triggers that
    # name it (payment_events_report_insert)
    op.execute("ALTER TABLE payments DROP COLUMN invoice_applied")
