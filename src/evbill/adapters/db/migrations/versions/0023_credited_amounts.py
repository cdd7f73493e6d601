"""Invoices remember what credit notes took from them (``credited_minor`` in the document) and their
status follows: an invoice that credit notes took in full is ``credited``, one whose payments and
credit notes cover it ``paid``. Before, a credited invoice stayed open for its whole total.

No column changes: the amount lives in the JSON document (read with a default of 0).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import JsonDocument

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVOICES = sa.table(
    "invoices",
    sa.column("operator_id", sa.String()),
    sa.column("id", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("status", sa.String()),
    sa.column("original_id", sa.String()),
    sa.column("total_incl_vat_minor", sa.BigInteger()),
    sa.column("paid_minor", sa.BigInteger()),
    sa.column("document", JsonDocument()),
)
SETTLING = ("issued", "overdue", "partially_paid", "paid")


def upgrade() -> None:
    connection = op.get_bind()
    c = INVOICES.c
    taken = connection.execute(
        sa.select(c.operator_id, c.original_id, sa.func.sum(c.total_incl_vat_minor))
        .where(c.kind == "credit_note", c.status != "void", c.original_id.is_not(None))
        .group_by(c.operator_id, c.original_id)
    ).all()
    for operator_id, original_id, credited in taken:
        key = (c.operator_id == operator_id, c.id == original_id)
        row = connection.execute(sa.select(c.status, c.paid_minor, c.document).where(*key)).first()
        if row is None:
            continue
        document = dict(row.document)
        document["credited_minor"] = int(credited)
        status = row.status
        if status in SETTLING:
            total = int(document["composed"]["totals"]["payable_minor"])
            if total - int(row.paid_minor) - int(credited) <= 0:
                status = "credited" if int(credited) >= total else "paid"
        document["status"] = status
        connection.execute(sa.update(INVOICES).where(*key).values(status=status, document=document))


def downgrade() -> None:
    connection = op.get_bind()
    c = INVOICES.c
    rows = connection.execute(sa.select(c.operator_id, c.id, c.document).where(c.status == "credited")).all()
    for operator_id, document_id, data in rows:  # the old code knows no "credited": paid, nothing open
        document = {**data, "status": "paid"}
        connection.execute(
            sa.update(INVOICES)
            .where(c.operator_id == operator_id, c.id == document_id)
            .values(status="paid", document=document)
        )
