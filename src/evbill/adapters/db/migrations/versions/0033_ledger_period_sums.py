"""Booked revenue's postings summed per quarter hour: ``ledger_period_sums``, one row per operator,
quarter (UTC epoch seconds // 900 of the entry's posted_at), account and currency, keyed for the reads'
"operator, quarter range".

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04

Filled here from the postings already stored (one INSERT ... SELECT ... GROUP BY, SQLite and
PostgreSQL); kept since by the ledger repository in the transaction that appends the postings
(``adapters.db.ledger.repositories``), and proved equal to them by ``evbill ledger check``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The accounts summed, as they are at this migration (``domain.ledger.balances.QUARTER_SUMMED_PREFIXES``
# today): a migration never follows later edits of the domain's lists.
PREFIXES = ("revenue:", "vat_payable:")


def _quarter(dialect: str) -> str:
    """The entry's quarter hour, floored, as SQL: PostgreSQL's epoch is exact (numeric). SQLite keeps
    the instant as ISO text (``2026-12-01T09:14:59.999999Z``), whose fraction strftime would round to
    milliseconds (to the next second, there): the whole seconds are read from the text's first 19
    characters (UTC), which floors, below zero too."""
    if dialect == "postgresql":
        return "CAST(floor(extract(epoch FROM e.posted_at) / 900) AS BIGINT)"
    seconds = "CAST(strftime('%s', substr(e.posted_at, 1, 19)) AS INTEGER)"
    return f"(({seconds}) - ((({seconds}) % 900) + 900) % 900) / 900"


def upgrade() -> None:
    op.create_table(
        "ledger_period_sums",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("quarter", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "operator_id", "quarter", "account", "currency", name="pk_ledger_period_sums"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_ledger_period_sums_operator_id", ondelete="RESTRICT"
        ),
    )
    # substr, not LIKE: '_' in vat_payable would be a wildcard
    accounts = " OR ".join(f"substr(p.account, 1, {len(prefix)}) = '{prefix}'" for prefix in PREFIXES)
    quarter = _quarter(op.get_bind().dialect.name)
    op.execute(
        "INSERT INTO ledger_period_sums (operator_id, quarter, account, currency, amount) "
        f"SELECT p.operator_id, {quarter}, p.account, p.currency, sum(p.amount) "
        "FROM ledger_postings p JOIN ledger_entries e ON e.operator_id = p.operator_id AND e.id = p.entry_id "
        f"WHERE {accounts} "
        f"GROUP BY p.operator_id, {quarter}, p.account, p.currency"
    )


def downgrade() -> None:
    op.drop_table("ledger_period_sums")
