"""The demo, as the README tours it: every demo session answers like a real one.

The demo loads its sessions through the OCPP central system's own use cases, so each has a token,
the rule that chose its tariff, frames, a price explanation and an OCPI CDR that recomputes to the
session's own totals.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from evbill.application.demo import seed_demo
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.entrypoints.api.app import create_app

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PER_EVSE = 3


@pytest.fixture(scope="module")
def demo(module_database_url: str) -> Iterator[tuple[TestClient, list[Any]]]:
    settings = Settings(database_url=module_database_url, rate_limit_per_minute=1_000_000)
    container = bootstrap(settings)
    seeded = seed_demo(container.services, now=NOW, sessions_per_evse=PER_EVSE)
    with TestClient(create_app(settings, container=container), raise_server_exceptions=False) as client:
        yield client, seeded
    container.dispose()


def get(client: TestClient, key: str, path: str) -> Any:
    response = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, (path, response.text)
    return response.json()


def test_every_demo_session_has_a_cdr_and_evidence(demo: tuple[TestClient, list[Any]]) -> None:
    client, seeded = demo
    amsterdam = seeded[0]
    # Given the Amsterdam demo operator's sessions (3 stations x 3)
    sessions = get(client, amsterdam.api_key, "/sessions?limit=50")["items"]
    assert len(sessions) == 3 * PER_EVSE
    for session in sessions:
        # When the README's first look is taken: the session, its CDR and its evidence
        detail = get(client, amsterdam.api_key, f"/sessions/{session['id']}")
        cdr = get(client, amsterdam.api_key, f"/sessions/{session['id']}/cdr")
        evidence = get(client, amsterdam.api_key, f"/sessions/{session['id']}/evidence")
        # Then it was started by a demo card and priced like a real one
        assert detail["status"] == "COMPLETED"
        assert cdr["cdr_token"]["uid"] in amsterdam.tokens
        assert Decimal(str(cdr["total_cost"]["excl_vat"])) == Decimal(detail["total_cost"]["excl_vat"])
        assert detail["token_uid"] == cdr["cdr_token"]["uid"]
        assert detail["price_rule"] in ("STATION", "OPERATOR_DEFAULT")
        assert cdr["cdr_location"]["country"] == "NLD"
        assert evidence["explanation"]["currency"] == "EUR"
        assert evidence["stop_reason"] == "EVDisconnected"
