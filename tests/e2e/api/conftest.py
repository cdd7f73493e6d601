"""API test harness: the real app on a real, migrated database (SQLite and PostgreSQL).

One database per test module and dialect; every test makes its own operators (``api.tenant()``),
so tests never see each other's data — the same tenant isolation the API promises.

    def test_something(api):
        alpha = api.tenant("Alpha")
        created = alpha.post("/locations", json={...})
        assert created.status_code == 201
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from evbill.application.access.keys import create_api_key, create_operator
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Role
from evbill.entrypoints.api.app import create_app
from tests.conftest import _postgres_schema, postgres_url

PREFIX = "/api/v1"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    from evbill.adapters.db.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'evbill.sqlite3'}"
        upgrade(url)
        yield url
        return
    base = postgres_url()
    if base is None:
        pytest.skip("EVBILL_TEST_POSTGRES_URL not set")
    for url in _postgres_schema(base):
        upgrade(url)
        yield url


@dataclass
class Tenant:
    api: Api
    operator_id: str
    key: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.api.client.request(method, PREFIX + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)

    def with_role(self, role: Role) -> Tenant:
        _, key = create_api_key(
            self.api.container.services, operator_id=self.operator_id, role=role, name=role.value
        )
        return Tenant(self.api, self.operator_id, key, self.name)

    def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]


@dataclass
class Api:
    client: TestClient
    container: Container
    tenants: list[Tenant] = field(default_factory=list)

    def tenant(self, name: str = "Alpha", *, country: str = "NL", currency: str = "EUR") -> Tenant:
        operator = create_operator(
            self.container.services,
            name=f"{name} {secrets.token_hex(3)}",
            legal_name=f"{name} B.V.",
            country=country,
            default_currency=currency,
        )
        _, key = create_api_key(
            self.container.services, operator_id=operator.id, role=Role.ADMIN, name="tests"
        )
        return Tenant(self, operator.id, key, operator.name)

    def anonymous(self, method: str, path: str, **kwargs: Any) -> Response:
        return self.client.request(method, PREFIX + path, **kwargs)


def build_api(database_url: str, **settings: Any) -> Iterator[Api]:
    defaults = {
        "rate_limit_per_minute": 1_000_000,
        "auth_failures_per_minute": 1_000_000,
        # queued jobs (POST /billing-runs) go to this app's own queue, never a shared one
        "queue_name": f"evbill-test-{secrets.token_hex(6)}",
    }
    configured = Settings(database_url=database_url, **{**defaults, **settings})
    container = bootstrap(configured)
    with TestClient(create_app(configured, container=container), raise_server_exceptions=False) as client:
        yield Api(client, container)
    container.dispose()


@pytest.fixture(scope="module")
def api(module_database_url: str) -> Iterator[Api]:
    yield from build_api(module_database_url)


# Building blocks used by many tests


AMSTERDAM = {
    "name": "Amsterdam Zuid P1",
    "address": "Parnassusweg 10",
    "city": "Amsterdam",
    "postal_code": "1077 DC",
    "country": "NL",
    "time_zone": "Europe/Amsterdam",
    "latitude": "52.338790",
    "longitude": "4.872180",
}


def make_site(
    tenant: Tenant, *, charge_point_id: str | None = None, dc: bool = False
) -> dict[str, dict[str, Any]]:
    """A location with one station, one EVSE and one connector; returns each created record."""
    location = tenant.created("/locations", AMSTERDAM)
    station = tenant.created(
        "/stations",
        {
            "location_id": location["id"],
            "charge_point_id": charge_point_id or f"CP-{secrets.token_hex(4)}",
            "vendor": "Alfen",
            "model": "Eve Double",
            "ocpp_version": "2.0.1" if dc else "1.6",
        },
    )
    evse_code = f"NL*EVB*E{secrets.token_hex(3).upper()}*1"  # eMI3 EVSE ids are unique
    evse = tenant.created("/evses", {"station_id": station["id"], "evse_id": evse_code, "ocpp_evse_id": 1})
    connector = tenant.created(
        "/connectors",
        {
            "evse_id": evse["id"],
            "connector_number": 1,
            "standard": "IEC_62196_T2_COMBO" if dc else "IEC_62196_T2",
            "format": "CABLE" if dc else "SOCKET",
            "power_type": "DC" if dc else "AC_3_PHASE",
            "max_voltage": 920 if dc else 400,
            "max_amperage": 300 if dc else 32,
            "max_electric_power": 150000 if dc else 22000,
        },
    )
    return {"location": location, "station": station, "evse": evse, "connector": connector}


SIMPLE_TARIFF = {
    "country_code": "NL",
    "party_id": "EVB",
    "id": "AC-STANDARD",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "FLAT", "price": 0.35, "vat": 21.0, "step_size": 1},
                {"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1},
            ]
        }
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}
