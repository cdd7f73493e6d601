"""The schema: migrations build exactly the tables the code expects, on SQLite and PostgreSQL alike,
and the audit log cannot be rewritten, not even by hand-typed SQL."""

from __future__ import annotations

import dataclasses
import shutil
import time

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from evbill.adapters.db import migrate
from evbill.adapters.db.engine import create_database_engine
from evbill.adapters.db.records import TABLE_OF
from evbill.adapters.db.tables import metadata
from evbill.domain.errors import Conflict
from tests.integration.db_records import (
    a_tariff,
    a_tariff_version,
    an_assignment,
    an_audit_entry,
    an_operator,
)

TABLES = {
    "operators",
    "locations",
    "charging_stations",
    "evses",
    "connectors",
    "tariffs",
    "tariff_versions",
    "tariff_assignments",
    "charging_sessions",
    "api_keys",
    "audit_log",
}


@pytest.fixture
def empty_engine(empty_database_url: str):
    engine = create_database_engine(empty_database_url)
    yield engine
    engine.dispose()


def test_upgrade_creates_every_table_and_marks_the_database_current(empty_database_url, empty_engine):
    # given an empty database
    assert migrate.current_revision(empty_engine) is None
    assert migrate.is_up_to_date(empty_engine) is False

    # when it is migrated
    migrate.upgrade(empty_database_url)

    # then every table is there and the database is at the newest revision
    assert set(inspect(empty_engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    assert TABLES <= set(metadata.tables)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert migrate.is_up_to_date(empty_engine) is True


def test_an_older_revision_is_not_up_to_date(empty_database_url, empty_engine):
    migrate.upgrade(empty_database_url, "0001")

    assert migrate.current_revision(empty_engine) == "0001"
    assert TABLES | {"alembic_version"} <= set(inspect(empty_engine).get_table_names())
    assert migrate.is_up_to_date(empty_engine) is (migrate.head_revision() == "0001")


def test_migrations_build_exactly_the_tables_the_code_declares(database_engine: Engine):
    # given a migrated database, when Alembic compares it with tables.py, then nothing differs
    with database_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)

    assert differences == []


def test_indexes_for_listing_sessions_exist(database_engine: Engine):
    listing = {
        "ix_charging_sessions_started": ["operator_id", "started_at", "id"],
        "ix_charging_sessions_location": ["operator_id", "location_id", "started_at", "id"],
        "ix_charging_sessions_station": ["operator_id", "station_id", "started_at", "id"],
        "ix_charging_sessions_evse": ["operator_id", "evse_id", "started_at", "id"],
        "ix_charging_sessions_status": ["operator_id", "status", "started_at", "id"],
        "ix_charging_sessions_tariff_version": ["operator_id", "tariff_version_id"],
    }

    indexes = {
        index["name"]: index["column_names"]
        for index in inspect(database_engine).get_indexes("charging_sessions")
    }

    assert {name: indexes.get(name) for name in listing} == listing


def test_downgrade_to_base_removes_every_table(database_url: str, database_engine: Engine):
    migrate.downgrade(database_url, "base")

    assert inspect(database_engine).get_table_names() == ["alembic_version"]
    assert migrate.current_revision(database_engine) is None


def test_every_table_holds_exactly_the_fields_of_its_record():
    for name, (table, mapping) in TABLE_OF.items():
        fields = [field.name for field in dataclasses.fields(mapping.record_type)]
        assert [column.name for column in table.columns] == fields, name
    assert set(TABLE_OF) == set(metadata.tables)


def test_constraint_and_index_names_fit_postgresql_identifiers():
    names = [constraint.name for table in metadata.tables.values() for constraint in table.constraints]
    names += [index.name for table in metadata.tables.values() for index in table.indexes]

    assert all(isinstance(name, str) and len(name) <= 63 for name in names)
    assert len(set(names)) == len(names)


def _one_audit_entry(database_engine: Engine) -> None:
    from evbill.adapters.db.uow import SqlAlchemyUnitOfWork

    operator = an_operator()
    with SqlAlchemyUnitOfWork(database_engine) as uow:
        uow.operators.add(operator)
        uow.audit.append(an_audit_entry(operator.id))
        uow.commit()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_the_audit_log(database_engine: Engine, statement: str):
    # given an audit entry
    _one_audit_entry(database_engine)

    # when someone rewrites it with plain SQL, then the database itself refuses
    with database_engine.connect() as connection, pytest.raises(DBAPIError, match="audit_log is append-only"):
        connection.execute(text(statement))

    # and the entry is unchanged
    with database_engine.connect() as connection:
        rows = connection.execute(text("SELECT actor FROM audit_log")).all()
    assert rows == [("Ops key (admin, key k1)",)]


def test_entries_written_before_0005_get_a_legacy_id_and_the_log_stays_append_only(
    empty_database_url, empty_engine
):
    # given a log at revision 0004 with two entries (no entry_id column yet)
    migrate.upgrade(empty_database_url, "0004")
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO operators (id, name, legal_name, country, default_currency, rounding_mode, "
                "tax_country, created_at, updated_at, version) VALUES ('op-1', 'Old', 'Old BV', 'NL', "
                "'EUR', 'half_even', 'NL', '2026-01-01 10:00:00', '2026-01-01 10:00:00', 1)"
            )
        )
        for actor in ("first", "second"):
            connection.execute(
                text(
                    "INSERT INTO audit_log (operator_id, at, actor, action, entity_type, entity_id) "
                    "VALUES ('op-1', '2026-01-01 10:00:00', :actor, 'create', 'location', 'loc-1')"
                ),
                {"actor": actor},
            )

    # when it is migrated to the newest revision
    migrate.upgrade(empty_database_url)

    # then the old entries carry legacy-<counter> ids, and the log still refuses changes
    with empty_engine.connect() as connection:
        rows = connection.execute(text("SELECT id, entry_id FROM audit_log ORDER BY id")).all()
        assert [entry_id for _, entry_id in rows] == [f"legacy-{number}" for number, _ in rows]
        with pytest.raises(DBAPIError, match="audit_log is append-only"):
            connection.execute(text("UPDATE audit_log SET entry_id = 'mine'"))


def test_postgresql_refuses_to_truncate_the_audit_log(database_engine: Engine):
    if database_engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's (SQLite has none)")
    _one_audit_entry(database_engine)

    with database_engine.connect() as connection, pytest.raises(DBAPIError, match="audit_log is append-only"):
        connection.execute(text("TRUNCATE audit_log"))


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(database_engine: Engine):
    if database_engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with database_engine.connect() as connection:
        settings = [
            connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        ]

    assert settings == ["wal", 1, 5000]


def test_a_postgresql_connection_the_server_dropped_is_replaced_not_handed_out(
    database_url: str, database_engine: Engine
):
    if database_engine.dialect.name != "postgresql":
        pytest.skip("a server that drops connections (a restart, an idle timeout) is PostgreSQL's")
    with database_engine.connect() as connection:  # given a pooled, idle connection
        dropped = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    other = create_database_engine(database_url)
    try:
        with other.connect() as admin:  # when the server ends its backend
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(dropped)})")
            admin.commit()
            for _ in range(100):
                gone = admin.exec_driver_sql(
                    f"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = {int(dropped)}"
                ).scalar()
                admin.rollback()
                if gone:
                    break
                time.sleep(0.02)
    finally:
        other.dispose()

    with database_engine.connect() as connection:  # then the next unit of work gets a live connection
        replacement = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    assert replacement != dropped


def test_an_unsupported_database_is_refused():
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        create_database_engine("mysql://localhost/evbill")


REBUILD_TARIFFS = """
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tariffs") as batch:  # SQLite: copy, drop and rename the table
        batch.alter_column("name", type_=sa.String(300), existing_type=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    pass
"""


def test_a_later_migration_can_rebuild_a_parent_table_without_touching_its_children(
    database_url: str, uow_factory, tmp_path
):
    # given a tariff with a version (ON DELETE CASCADE) and an assignment (RESTRICT)
    operator = an_operator()
    tariff = a_tariff(operator.id)
    version = a_tariff_version(operator.id, tariff.id)
    with uow_factory() as uow:
        uow.operators.add(operator)
        uow.tariffs.add(tariff)
        uow.tariff_versions.add(version)
        uow.assignments.add(an_assignment(operator.id, tariff.id))
        uow.commit()
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_rebuild_tariffs.py").write_text(
        REBUILD_TARIFFS.format(head=migrate.head_revision())
    )

    # when a migration rebuilds the tariffs table (SQLite drops and recreates it in batch mode)
    config = migrate.alembic_config(database_url)
    config.set_main_option("script_location", str(scripts))
    command.upgrade(config, "head")

    # then the children are all still there, and foreign keys are enforced again
    with uow_factory() as uow:
        assert uow.tariff_versions.of_tariff(operator.id, tariff.id) == [version]
        assert len(uow.assignments.list(operator.id)) == 1
        with pytest.raises(Conflict, match="still referenced by tariff assignments"):
            uow.tariffs.delete(operator.id, tariff.id, expected_version=None)
