"""Schema migrations, driven from code: no alembic.ini, the URL passed in by the caller.

The migration scripts ship inside the package (``evbill/adapters/db/migrations``), so an installed
evbill can bring any database up to date:

    upgrade("sqlite:///var/evbill.sqlite3")          # to the newest revision
    is_up_to_date(engine)                            # True once it has run

The Alembic configuration is built here; ``env.py`` reads the URL (or an open connection) from its
attributes, never from the environment.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the packaged scripts (and at ``url``, when given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # An attribute, not a main option: ConfigParser would read '%' in a URL as interpolation.
        config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (the newest by default)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` ("base" removes every table)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts found in {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def grant_app_role(engine: Engine, role: str) -> None:
    """Let ``role`` (an existing PostgreSQL role) read and write evbill's tables, and nothing more.

    The tables belong to the role that ran the migrations; only an owner (or a superuser) may ALTER a
    table, so an application connecting as ``role`` cannot ``DISABLE TRIGGER`` on the append-only
    tables (the audit log, the OCPP frames), drop them or change the schema. Run it after every
    ``upgrade``, as the owner: new tables get the same grants.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError("app roles are a PostgreSQL matter; SQLite has no roles")
    if not role.replace("_", "").isalnum() or not role[0].isalpha():
        raise ValueError(f"{role!r} is not a plain role name (letters, digits, _)")
    with engine.begin() as connection:
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
        for statement in (
            f'GRANT USAGE ON SCHEMA "{schema}" TO {role}',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {role}',
            f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "{schema}" TO {role}',
        ):
            connection.exec_driver_sql(statement)
