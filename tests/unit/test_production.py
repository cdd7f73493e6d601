"""EVBILL_ENVIRONMENT=production refuses what is only safe on a developer's machine (issue 12).

* The default database (a local SQLite file) and a database password that is a well-known default are
  refused, each named; a real URL with a secret password is accepted.
* ``/docs`` is off in production unless ``EVBILL_DOCS=on``; on by default in development.
* ``serve --demo`` is refused in production (its keys and station passwords are published).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from evbill.config import Settings
from evbill.domain.errors import InvalidInput
from evbill.entrypoints.api.app import create_app
from tests.support import CliRunner

PRODUCTION = {"EVBILL_ENVIRONMENT": "production"}
REAL_URL = "postgresql+psycopg://evbill_app:Zq8-long-random-secret@db.internal/evbill"


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"EVBILL_DATABASE_URL": "postgresql+psycopg://postgres:postgres@db/evbill"},
        {"EVBILL_DATABASE_URL": "postgresql+psycopg://evbill:password@db/evbill"},
        {"EVBILL_DATABASE_URL": "postgresql+psycopg://evbill:evbill@db/evbill"},
    ],
    ids=["default database", "postgres:postgres", "password", "user as password"],
)
def test_production_refuses_default_secrets(environ: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        Settings.from_environment({**PRODUCTION, **environ})
    assert [problem.path for problem in refused.value.problems] == ["EVBILL_DATABASE_URL"]


def test_production_with_its_own_secrets_starts_without_docs_unless_asked(tmp_path: object) -> None:
    settings = Settings.from_environment({**PRODUCTION, "EVBILL_DATABASE_URL": REAL_URL})
    asked = Settings.from_environment({**PRODUCTION, "EVBILL_DATABASE_URL": REAL_URL, "EVBILL_DOCS": "on"})
    development = Settings.from_environment({})

    assert (settings.production, settings.docs, asked.docs, development.docs) == (True, False, True, True)


def test_docs_are_served_only_when_on() -> None:
    quiet = create_app(Settings(database_url="sqlite://", docs=False))
    open_ = create_app(Settings(database_url="sqlite://"))

    assert TestClient(quiet).get("/docs").status_code == 404
    assert TestClient(open_).get("/docs").status_code == 200
    # and the home page links no page, and loads no asset, that is not served
    quiet_home = TestClient(quiet).get("/").text
    assert 'href="/docs' not in quiet_home
    assert "EVBILL_DOCS=on" in quiet_home
    assert 'href="/docs"' in TestClient(open_).get("/").text


def test_serve_demo_is_refused_in_production() -> None:
    from evbill.entrypoints.cli.main import build_app

    settings = Settings.from_environment({**PRODUCTION, "EVBILL_DATABASE_URL": REAL_URL})
    result = CliRunner().invoke(build_app(settings), ["serve", "--demo"])

    assert result.exit_code != 0
    assert "refused in production" in result.output


def test_production_refuses_stripe_without_its_secrets() -> None:
    with pytest.raises(InvalidInput) as refused:
        Settings.from_environment(
            {**PRODUCTION, "EVBILL_DATABASE_URL": REAL_URL, "EVBILL_PAYMENT_GATEWAY": "stripe"}
        )

    assert [problem.path for problem in refused.value.problems] == [
        "EVBILL_STRIPE_SECRET_KEY",
        "EVBILL_STRIPE_WEBHOOK_SECRET",
    ]
