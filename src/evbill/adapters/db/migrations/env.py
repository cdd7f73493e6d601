"""Alembic environment for evbill: run by evbill.adapters.db.migrate, never with an alembic.ini.

The database URL arrives in ``config.attributes["database_url"]`` (adapters never read settings or
the environment), or an open connection in ``config.attributes["connection"]``. The engine is the
application's own (``create_database_engine``), so migrations run with the same SQLite pragmas and
transaction handling as the application. SQLite cannot ALTER most things in place: ``render_as_batch``
makes future migrations rebuild the table instead, so one migration script serves both dialects.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from evbill.adapters.db.engine import create_database_engine
from evbill.adapters.db.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


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
