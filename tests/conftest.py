"""Test session setup shared by every test.

When ``EVBILL_TEST_POSTGRES_URL`` is set (CI sets it), PostgreSQL is expected: the session stops at
once with a clear message if it cannot be reached, instead of quietly testing SQLite only.
"""

from __future__ import annotations

import os

import pytest

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
