"""Alembic environment for evbill: run by evbill.adapters.db.migrate, never with an alembic.ini.

The database URL arrives in ``config.attributes["database_url"]`` (adapters never read settings or
the environment), or an open connection in ``config.attributes["connection"]``. The engine is the
application's own (``create_database_engine``), so migrations run with the same SQLite pragmas and
transaction handling as the application. SQLite cannot ALTER most things in place: ``render_as_batch``
makes future migrations rebuild the table instead, so one migration script serves both dialects.

Rebuilding a table on SQLite means dropping it, and with foreign keys on, dropping a parent runs an
implicit DELETE: RESTRICT children make it fail, CASCADE children (a tariff's versions) would vanish.
So migrations run with foreign keys off (SQLite's documented procedure for schema changes), and
``PRAGMA foreign_key_check`` must find nothing wrong before the migration commits.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from evbill.adapters.db.engine import create_database_engine
from evbill.adapters.db.tables import metadata


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    if sqlite:
        _sqlite_foreign_keys(connection, "OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_sqlite_foreign_keys(connection)
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, "ON")


def _sqlite_foreign_keys(connection: Connection, state: str) -> None:
    # Outside a transaction only (SQLite ignores the pragma inside one): on the driver's connection,
    # which the engine keeps in autocommit mode, so SQLAlchemy does not begin a transaction for it.
    if not connection.in_transaction():
        connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={state}")  # type: ignore[union-attr]


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise RuntimeError(f"migration left rows with dangling references in {', '.join(tables)}")


def _run_online() -> None:
    attributes = context.config.attributes
    connection = attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_database_engine(attributes["database_url"])
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


def _offline() -> bool | None:
    """Whether Alembic runs in --sql mode; None when imported outside an Alembic run (a test collector)."""
    try:
        return context.is_offline_mode()
    except NameError:  # alembic.context has no environment outside a run
        return None


offline = _offline()
if offline:
    raise RuntimeError("offline (--sql) migrations are not supported: run them against a database")
if offline is not None:
    _run_online()
