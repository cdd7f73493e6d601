"""Fast reports: a fact row per finished session, a refresh queue, and the triggers that fill it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

Every existing finished session is queued, so the first report after the upgrade builds its facts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from evbill.adapters.db.types import UtcDateTime

# The measures as they were when this migration was written (0029 adds the billed ones): a migration
# never follows later edits of the domain's lists.
_COMPONENTS = ("energy", "time", "idle", "fees")
MEASURES = (
    "duration_us", "charged_us", "energy_mwh", "net_u", "gross_u",
    *(f"{component}_{unit}" for component in _COMPONENTS for unit in ("net_u", "tax_u")),
    "refunded_minor", "disputed_minor", "charged_back_minor",
)  # fmt: skip
PRESENCE = tuple(f"{component}_parts" for component in _COMPONENTS)

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUEUE = "INSERT INTO report_refresh_queue (operator_id, session_id)"
_SESSION_OF_PAYMENT = "CASE WHEN p.subject LIKE 'session:%' THEN substr(p.subject, 9) ELSE p.subject END"
# (trigger name, event and table, condition, what it queues) — the same on PostgreSQL and SQLite.
# A session payment's subject names its session as "<id>" or "session:<id>"; an ad hoc payment's
# ("adhoc:<start id>") names its start, which has no session yet when the hold is placed.
_NAMES_A_SESSION = "({p}.subject NOT LIKE '%:%' OR {p}.subject LIKE 'session:%')"
TRIGGERS = (
    ("charging_sessions_report_insert", "INSERT ON charging_sessions", "NEW.status = 'COMPLETED'",
     f"{_QUEUE} VALUES (NEW.operator_id, NEW.id)"),
    ("charging_sessions_report_update", "UPDATE ON charging_sessions",
     "NEW.status = 'COMPLETED' OR OLD.status = 'COMPLETED'", f"{_QUEUE} VALUES (NEW.operator_id, NEW.id)"),
    ("payments_report_insert", "INSERT ON payments",
     f"NEW.purpose = 'session' AND {_NAMES_A_SESSION.format(p='NEW')}",
     f"{_QUEUE} SELECT p.operator_id, {_SESSION_OF_PAYMENT} FROM payments p WHERE p.id = NEW.id"),
    ("payment_events_report_insert", "INSERT ON payment_events", None,
     f"{_QUEUE} SELECT p.operator_id, {_SESSION_OF_PAYMENT} FROM payments p"
     f" WHERE p.id = NEW.payment_id AND p.purpose = 'session' AND {_NAMES_A_SESSION.format(p='p')}"),
    ("customers_report_update", "UPDATE OF kind ON customers", None,
     f"{_QUEUE} SELECT s.operator_id, s.id FROM charging_sessions s"
     " WHERE s.operator_id = NEW.operator_id AND s.customer_id = NEW.id AND s.status = 'COMPLETED'"),
    ("contract_terms_report_insert", "INSERT ON contract_terms", None,
     f"{_QUEUE} SELECT s.operator_id, s.id FROM charging_sessions s WHERE s.operator_id = NEW.operator_id"
     " AND s.contract_id = NEW.contract_id AND s.started_at >= NEW.effective_from"
     " AND s.status = 'COMPLETED'"),
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "session_report_facts",
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("station_id", sa.String(36), nullable=False),
        sa.Column("evse_id", sa.String(36), nullable=False),
        sa.Column("connector_class", sa.String(8), nullable=True),
        sa.Column("tariff_id", sa.String(36), nullable=True),
        sa.Column("plan_id", sa.String(36), nullable=True),
        sa.Column("customer_id", sa.String(36), nullable=True),
        sa.Column("segment", sa.String(16), nullable=True),
        sa.Column("payment_method", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("customer_first_at", UtcDateTime(), nullable=True),
        sa.Column("local_day", sa.String(10), nullable=False),
        sa.Column("local_week", sa.String(8), nullable=False),
        sa.Column("local_hour", sa.SmallInteger(), nullable=False),
        sa.Column("start_s", sa.BigInteger(), nullable=False),
        sa.Column("end_s", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in MEASURES),
        *(sa.Column(name, sa.SmallInteger(), nullable=False) for name in PRESENCE),
        sa.PrimaryKeyConstraint("session_id", name="pk_session_report_facts"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_session_report_facts_operator_id", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id", "session_id"],
            ["charging_sessions.operator_id", "charging_sessions.id"],
            name="fk_session_report_facts_operator_id_session_id",
            ondelete="CASCADE",
        ),
    )
    for name, columns in (
        ("started", ["operator_id", "started_at"]),
        ("location", ["operator_id", "location_id", "started_at"]),
        ("customer", ["operator_id", "customer_id", "started_at"]),
    ):
        op.create_index(f"ix_session_report_facts_{name}", "session_report_facts", columns)
    op.create_table(
        "report_refresh_queue",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_refresh_queue"),
    )
    op.create_index("ix_report_refresh_queue_operator", "report_refresh_queue", ["operator_id", "id"])
    op.create_index("ix_payments_subject", "payments", ["operator_id", "purpose", "subject"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, event, condition, action in TRIGGERS:
        when = f" WHEN ({condition})" if condition else ""
        if postgresql:
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {action}; RETURN NULL; END; $$"
            )
            op.execute(f"CREATE TRIGGER {name} AFTER {event} FOR EACH ROW{when} EXECUTE FUNCTION {name}()")
        else:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} FOR EACH ROW{when} BEGIN {action}; END;")
    op.execute(
        f"{_QUEUE} SELECT operator_id, id FROM charging_sessions WHERE status = 'COMPLETED'"
        " ORDER BY started_at"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, event, _, _ in TRIGGERS:
        if postgresql:
            op.execute(f"DROP TRIGGER {name} ON {event.split(' ON ')[1]}")
            op.execute(f"DROP FUNCTION {name}()")
        else:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_payments_subject", "payments")
    op.drop_table("report_refresh_queue")
    op.drop_table("session_report_facts")
