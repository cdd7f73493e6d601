"""The ledger at volume (issue 14): the same guarantees, checked once per statement instead of per row.

A million entries (three million postings) went in at ~40 us of server time per row, most of it in
work done row by row that the ledger does not need row by row:

- The foreign keys (posting -> its entry, entry -> its operator) ran one lookup per row. They become
  statement-level triggers on PostgreSQL that check every row of the statement in one query over its
  transition table, raising ``foreign_key_violation`` (23503) as the foreign key did; the entry's
  trigger locks the operators it names ``FOR KEY SHARE`` as the foreign key did, and an operator with
  ledger entries still cannot be deleted (a trigger on ``operators``). SQLite gets the same checks
  as row triggers (it has no statement-level triggers).
- With no foreign key pointing at it, the unique (operator_id, id) of ledger_entries is redundant
  with its primary key (id): dropped.
- ``ix_ledger_entries_reference`` served no query (``sums_by_reference`` sums over every entry of
  an operator): dropped.
- ``ix_ledger_postings_account`` loses its trailing ``id``: (operator_id, account, currency) still
  finds an account's postings (statements, balances), and without a unique tail PostgreSQL
  deduplicates the index, which makes it several times smaller and cheaper to append to.

Entries and postings stay append-only (migration 0012's UPDATE/DELETE/TRUNCATE triggers are kept).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("ledger_entries", "ledger_postings")

_PG_CHECKS = (
    # Every posting of the statement belongs to an entry of the same operator. The entries are looked
    # up in the id range the statement names (ids are UUIDv7, so a batch's entries are one narrow
    # range of the primary key) and hashed: the cost stays that of the batch, not of the ledger.
    # EXECUTE plans it with the range's actual bounds every time.
    """
    CREATE FUNCTION ledger_postings_have_entries() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE low text; high text; orphans bigint; orphan record;
    BEGIN
        SELECT min(entry_id), max(entry_id) INTO low, high FROM new_postings;
        EXECUTE 'SELECT count(*) FROM new_postings n LEFT JOIN ('
            ' SELECT id, operator_id FROM ledger_entries WHERE id BETWEEN $1 AND $2'
            ') e ON e.id = n.entry_id AND e.operator_id = n.operator_id WHERE e.id IS NULL'
            INTO orphans USING low, high;
        IF orphans > 0 THEN
            SELECT n.operator_id, n.entry_id INTO orphan FROM new_postings n
            WHERE NOT EXISTS (
                SELECT 1 FROM ledger_entries e WHERE e.id = n.entry_id AND e.operator_id = n.operator_id
            )
            LIMIT 1;
            RAISE EXCEPTION 'ledger posting of entry % (operator %) has no such entry',
                orphan.entry_id, orphan.operator_id
                USING ERRCODE = 'foreign_key_violation', TABLE = 'ledger_postings';
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER ledger_postings_have_entries AFTER INSERT ON ledger_postings "
    "REFERENCING NEW TABLE AS new_postings "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_have_entries()",
    # Every entry of the statement belongs to an operator, which stays while it has entries.
    """
    CREATE FUNCTION ledger_entries_have_operators() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE wanted text[]; found_count integer;
    BEGIN
        SELECT array_agg(DISTINCT operator_id) INTO wanted FROM new_entries;
        SELECT count(*) INTO found_count
        FROM (SELECT 1 FROM operators WHERE id = ANY (wanted) FOR KEY SHARE) AS locked;
        IF found_count <> coalesce(array_length(wanted, 1), 0) THEN
            RAISE EXCEPTION 'ledger entry of an operator that does not exist'
                USING ERRCODE = 'foreign_key_violation', TABLE = 'ledger_entries';
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER ledger_entries_have_operators AFTER INSERT ON ledger_entries "
    "REFERENCING NEW TABLE AS new_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_have_operators()",
    """
    CREATE FUNCTION operators_keep_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM ledger_entries WHERE operator_id = OLD.id) THEN
            RAISE EXCEPTION 'operator % is still referenced by ledger entries', OLD.id
                USING ERRCODE = 'foreign_key_violation', TABLE = 'ledger_entries';
        END IF;
        RETURN OLD;
    END $$
    """,
    "CREATE TRIGGER operators_keep_ledger BEFORE DELETE ON operators "
    "FOR EACH ROW EXECUTE FUNCTION operators_keep_ledger()",
)

_SQLITE_CHECKS = (
    "CREATE TRIGGER ledger_postings_have_entries BEFORE INSERT ON ledger_postings "
    "WHEN NOT EXISTS (SELECT 1 FROM ledger_entries e "
    "WHERE e.id = NEW.entry_id AND e.operator_id = NEW.operator_id) "
    "BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END",
    "CREATE TRIGGER ledger_entries_have_operators BEFORE INSERT ON ledger_entries "
    "WHEN NOT EXISTS (SELECT 1 FROM operators o WHERE o.id = NEW.operator_id) "
    "BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END",
    "CREATE TRIGGER operators_keep_ledger BEFORE DELETE ON operators "
    "WHEN EXISTS (SELECT 1 FROM ledger_entries e WHERE e.operator_id = OLD.id) "
    "BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END",
)


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    postgresql = _postgresql()
    if not postgresql:
        # SQLite rebuilds the tables to drop a constraint; the rebuilt tables lose their triggers.
        _drop_sqlite_append_only()
    with op.batch_alter_table("ledger_postings") as batch:
        batch.drop_constraint("fk_ledger_postings_operator_id_entry_id", type_="foreignkey")
        batch.drop_index("ix_ledger_postings_account")
        batch.create_index("ix_ledger_postings_account", ["operator_id", "account", "currency"])
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_constraint("fk_ledger_entries_operator_id", type_="foreignkey")
        batch.drop_constraint("uq_ledger_entries_operator_id_id", type_="unique")
        batch.drop_index("ix_ledger_entries_reference")
    if postgresql:
        for statement in _PG_CHECKS:
            op.execute(statement)
        return
    _create_sqlite_append_only()
    for statement in _SQLITE_CHECKS:
        op.execute(statement)


def downgrade() -> None:
    postgresql = _postgresql()
    for trigger, table in (
        ("ledger_postings_have_entries", "ledger_postings"),
        ("ledger_entries_have_operators", "ledger_entries"),
        ("operators_keep_ledger", "operators"),
    ):
        if postgresql:
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
            op.execute(f"DROP FUNCTION {trigger}()")
        else:
            op.execute(f"DROP TRIGGER {trigger}")
    if not postgresql:
        _drop_sqlite_append_only()
    with op.batch_alter_table("ledger_entries") as batch:
        batch.create_index("ix_ledger_entries_reference", ["operator_id", "reference"])
        batch.create_unique_constraint("uq_ledger_entries_operator_id_id", ["operator_id", "id"])
        batch.create_foreign_key(
            "fk_ledger_entries_operator_id", "operators", ["operator_id"], ["id"], ondelete="RESTRICT"
        )
    with op.batch_alter_table("ledger_postings") as batch:
        batch.drop_index("ix_ledger_postings_account")
        batch.create_index("ix_ledger_postings_account", ["operator_id", "account", "currency", "id"])
        batch.create_foreign_key(
            "fk_ledger_postings_operator_id_entry_id",
            "ledger_entries",
            ["operator_id", "entry_id"],
            ["operator_id", "id"],
            ondelete="RESTRICT",
        )
    if not postgresql:
        _create_sqlite_append_only()


def _drop_sqlite_append_only() -> None:
    for table in APPEND_ONLY:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")


def _create_sqlite_append_only() -> None:
    """Migration 0012's append-only triggers, as SQLite has them."""
    for table in APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
            )
