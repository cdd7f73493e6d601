"""On PostgreSQL the app connects as a role that cannot lift the append-only guarantees (issue 12).

Given a database migrated by its owner and ``grant_app_role`` run for an application role, that role
reads and writes evbill's tables but cannot ``ALTER TABLE ... DISABLE TRIGGER`` on the audit log (only
an owner may alter a table), so it cannot rewrite history.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from evbill.adapters.db.migrate import grant_app_role


@pytest.fixture
def app_role(database_engine: Engine) -> Iterator[str]:
    if database_engine.dialect.name != "postgresql":
        pytest.skip("roles are a PostgreSQL matter")
    role = f"evbill_app_{secrets.token_hex(4)}"
    with database_engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
    yield role
    with database_engine.begin() as connection:
        connection.exec_driver_sql(f"DROP OWNED BY {role}")
        connection.exec_driver_sql(f"DROP ROLE {role}")


def test_the_app_role_reads_and_writes_but_cannot_disable_the_append_only_triggers(
    database_engine: Engine, app_role: str
) -> None:
    grant_app_role(database_engine, app_role)
    with database_engine.connect() as connection:
        connection.exec_driver_sql(f"SET ROLE {app_role}")
        assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0
        connection.execute(
            text("INSERT INTO operators (id, name, legal_name, country, default_currency, rounding_mode, "
                 "tax_country, created_at, updated_at, version) VALUES ('op-1', 'A', 'A', 'NL', 'EUR', "
                 "'half_up', 'NL', now(), now(), 1)")
        )  # fmt: skip
        with pytest.raises(ProgrammingError, match="must be owner of table audit_log"):
            connection.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER ALL")
        connection.rollback()


def test_a_role_name_that_is_not_plain_is_refused(database_engine: Engine) -> None:
    if database_engine.dialect.name != "postgresql":
        pytest.skip("roles are a PostgreSQL matter")
    with pytest.raises(ValueError, match="not a plain role name"):
        grant_app_role(database_engine, "app; DROP TABLE audit_log")
