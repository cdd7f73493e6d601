"""Test session setup shared by every test.

When ``EVBILL_TEST_POSTGRES_URL`` is set (CI sets it), PostgreSQL is expected: the session stops at
once with a clear message if it cannot be reached, instead of quietly testing SQLite only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine

    from evbill.application.ports import UnitOfWorkFactory

POSTGRES_URL_VARIABLE = "EVBILL_TEST_POSTGRES_URL"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def _libpq_url(url: str) -> str:
    """SQLAlchemy's 'postgresql+psycopg://' as libpq's 'postgresql://'."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.split('+')[0]}://{rest}"


def pytest_sessionstart(session: pytest.Session) -> None:
    url = postgres_url()
    if url is None:
        return
    import psycopg

    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except Exception as error:
        message = f"PostgreSQL expected ({POSTGRES_URL_VARIABLE}={url}) but not reachable: {error}"
        pytest.exit(message, returncode=3)


# --- Database fixtures: every test gets a freshly migrated, isolated database on each dialect ------


def _database_params() -> list[object]:
    return ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=_database_params())
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a tmp_path file on SQLite, a fresh schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'evbill.sqlite3'}"
        return
    url = postgres_url()
    if url is None:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} not set")
    yield from _postgres_schema(url)


def _postgres_schema(url: str) -> Iterator[str]:
    """A schema of its own for one test, on the search path of every connection to the URL yielded."""
    import secrets

    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq_url(url), autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    isolated = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield isolated.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq_url(url), autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A URL of a database migrated to the newest revision, for this test alone."""
    from evbill.adapters.db.migrate import upgrade

    upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def database_engine(database_url: str) -> Iterator[Engine]:
    from evbill.adapters.db.engine import create_database_engine

    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def uow_factory(database_engine: Engine) -> UnitOfWorkFactory:
    from evbill.adapters.db.uow import SqlAlchemyUnitOfWorkFactory

    return SqlAlchemyUnitOfWorkFactory(database_engine)
