"""A live evbill server (uvicorn, real websockets) on a migrated database, with a station to connect.

The station ``CP-E2E-xxxx`` (password ``e2e-station-password-0001``, registered for OCPP 1.6), with
``CP-E2E-xxxx-201`` and ``CP-E2E-xxxx-21`` beside it for OCPP 2.0.1 and 2.1 (each station connects with
the version it is registered for), stands at a location in Amsterdam under a tariff of EUR 0.35 start
+ 0.39/kWh, 21 % VAT; token ``04A1B2C3D4`` (eMA id ``NL-EVB-C0001``) belongs to a customer with an
active pay-per-use contract.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import orjson
import pytest
import uvicorn
import websockets

from evbill.application.access.keys import create_api_key, create_operator, platform_actor
from evbill.application.offers.customers import TOKENS, create_customer
from evbill.application.offers.plans import create_contract, create_plan
from evbill.application.records import create
from evbill.application.sites import records as sites
from evbill.application.tariffs import catalog as catalog
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Role
from evbill.domain.offers.plans import PlanKind
from evbill.domain.tariffs.catalog import AssignmentScope
from evbill.entrypoints.api.app import create_app
from tests.conftest import _postgres_schema, postgres_url

T = TypeVar("T")
PASSWORD = "e2e-station-password-0001"
TOKEN = "04A1B2C3D4"
TARIFF = {
    "country_code": "NL",
    "party_id": "EVB",
    "id": "E2E-SIMPLE",
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SUFFIXES = {"ocpp1.6": "", "ocpp2.0.1": "-201", "ocpp2.1": "-21"}  # the station of each subprotocol
VERSIONS = {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1", "ocpp2.1": "2.1"}


@dataclass
class Live:
    url: str
    container: Container
    operator_id: str
    station_id: str  # the OCPP 1.6 station's
    charge_point_id: str
    api: str = ""  # the REST API's base URL
    api_key: str = ""
    stations: dict[str, tuple[str, str]] = field(default_factory=dict)  # subprotocol: (cp id, station id)

    def station_for(self, subprotocol: str) -> tuple[str, str]:
        """(charge point id, station id) of the station registered for ``subprotocol``."""
        return self.stations.get(subprotocol) or (self.charge_point_id, self.station_id)


def seed(
    container: Container, charge_point_id: str, *, subprotocols: tuple[str, ...] = ("ocpp1.6",)
) -> tuple[str, str]:
    """An operator with a location, a station per subprotocol (``charge_point_id`` plus its suffix),
    a tariff and a driver; the operator's id and the first station's id."""
    services = container.services
    operator = create_operator(
        services,
        name=f"E2E {secrets.token_hex(3)}",
        legal_name="E2E B.V.",
        country="NL",
        default_currency="EUR",
    )
    admin = platform_actor(operator.id)
    location = sites.create(
        services,
        admin,
        sites.LOCATIONS,
        {
            "name": "E2E",
            "address": "Street 1",
            "city": "Amsterdam",
            "country": "NL",
            "time_zone": "Europe/Amsterdam",
            "latitude": Decimal("52.3"),
            "longitude": Decimal("4.9"),
        },
    )
    station_ids = [
        add_station(container, operator.id, location.id, charge_point_id + SUFFIXES[subprotocol], subprotocol)
        for subprotocol in subprotocols
    ]
    tariff = catalog.create_tariff(services, admin, TARIFF)
    catalog.assign_tariff(
        services, admin, tariff_id=tariff.record.id, scope=AssignmentScope.OPERATOR, scope_id=None
    )
    plan, _ = create_plan(
        services, admin, name="Pay as you go", kind=PlanKind.PAY_PER_USE, currency="EUR", version={}
    )
    customer = create_customer(
        services,
        admin,
        {"kind": "INDIVIDUAL", "name": "Driver", "language": "nl", "currency": "EUR", "country": "NL"},
    )
    create(
        services,
        admin,
        TOKENS,
        {
            "customer_id": customer.id,
            "uid": TOKEN,
            "type": "RFID",
            "contract_id": "NL-EVB-C0001",
            "status": "ACTIVE",
        },
    )
    create_contract(
        services,
        admin,
        customer_id=customer.id,
        start=customer.created_at,
        end=None,
        activate=True,
        terms={
            "plan_id": plan.id,
            "billing_cycle": "MONTHLY",
            "payment_method": "CARD_ON_FILE",
            "payment_due_days": 14,
            "grace_days": 7,
            "credit_limit_minor": None,
        },
    )
    return operator.id, station_ids[0]


def add_station(
    container: Container, operator_id: str, location_id: str, charge_point_id: str, subprotocol: str
) -> str:
    """A station of the operator registered for ``subprotocol``'s OCPP version, with one AC EVSE."""
    services = container.services
    admin = platform_actor(operator_id)
    station = sites.create(
        services,
        admin,
        sites.STATIONS,
        {
            "location_id": location_id,
            "charge_point_id": charge_point_id,
            "vendor": "Test",
            "model": "E2E",
            "ocpp_version": VERSIONS[subprotocol],
            "password_hash": services.passwords.hash(PASSWORD),
        },
    )
    evse = sites.create(
        services,
        admin,
        sites.EVSES,
        {"station_id": station.id, "evse_id": f"NL*EVB*E{secrets.token_hex(3)}*1", "ocpp_evse_id": 1},
    )
    sites.create(
        services,
        admin,
        sites.CONNECTORS,
        {
            "evse_id": evse.id,
            "connector_number": 1,
            "standard": "IEC_62196_T2",
            "format": "SOCKET",
            "power_type": "AC_3_PHASE",
            "max_voltage": 400,
            "max_amperage": 32,
            "max_electric_power": 22000,
        },
    )
    return station.id


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from evbill.adapters.db.migrate import upgrade

    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('ocpp') / 'evbill.sqlite3'}"])
    else:
        base = postgres_url()
        if base is None:
            pytest.skip("EVBILL_TEST_POSTGRES_URL not set")
        urls = _postgres_schema(base)
    for url in urls:
        upgrade(url)
        # Scripted sessions carry fixed dates of November 2026: 10 years of offline age keeps them
        # plausible (the default is 30 days), while a clock reset to 1970 is still caught.
        settings = Settings(database_url=url, ocpp_cost_interval=0.5, ocpp_max_offline_days=3650)
        container = bootstrap(settings)
        charge_point_id = f"CP-E2E-{secrets.token_hex(2)}"
        operator_id, station_id = seed(container, charge_point_id, subprotocols=tuple(SUFFIXES))
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, container=container), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        _, api_key = create_api_key(container.services, operator_id=operator_id, role=Role.ADMIN, name="e2e")
        try:
            yield Live(
                f"ws://127.0.0.1:{port}/ocpp",
                container,
                operator_id,
                station_id,
                charge_point_id,
                f"http://127.0.0.1:{port}/api/v1",
                api_key,
                {
                    subprotocol: (charge_point_id + suffix, _station_id(container, charge_point_id + suffix))
                    for subprotocol, suffix in SUFFIXES.items()
                },
            )
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            container.dispose()


def _station_id(container: Container, charge_point_id: str) -> str:
    with container.services.uow() as uow:
        station = uow.station_directory.find_by_charge_point_id(charge_point_id)
    assert station is not None
    return station.id


def basic(charge_point_id: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{charge_point_id}:{password}".encode()).decode()


class RawStation:
    """A charger speaking raw OCPP-J: it sends exact frames and answers the central system's calls."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.received_calls: list[list[Any]] = []
        self.counter = 0

    async def send_raw(self, text: str) -> list[Any]:
        await self.socket.send(text)
        return await self._answer_for(None)

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        self.counter += 1
        unique_id = f"m{self.counter}"
        try:
            text = orjson.dumps([2, unique_id, action, payload]).decode()
        except TypeError:  # an integer past 64 bits, as a hostile charger sends it: the stdlib writes it
            text = json.dumps([2, unique_id, action, payload], separators=(",", ":"))
        await self.socket.send(text)
        return await self._answer_for(unique_id)

    async def _answer_for(self, unique_id: str | None) -> list[Any]:
        while True:
            frame = orjson.loads(await asyncio.wait_for(self.socket.recv(), timeout=10))
            if frame[0] == 2:  # the central system calls us (prices, running costs): answer and keep waiting
                self.received_calls.append(frame)
                answer = {"status": "Accepted"} if frame[2] == "DataTransfer" else {}
                await self.socket.send(orjson.dumps([3, frame[1], answer]).decode())
                continue
            if unique_id is None or frame[1] == unique_id:
                return list(frame)

    async def wait_for_call(
        self, action: str, timeout: float = 5, message_id: str | None = None
    ) -> list[Any]:
        """The first call of ``action`` (for a DataTransfer: with ``message_id``) the central system sent."""

        def first() -> list[Any] | None:
            for frame in self.received_calls:
                if frame[2] == action and (message_id is None or frame[3].get("messageId") == message_id):
                    return frame
            return None

        found = await self.wait_until(first, timeout)
        if found is None:
            raise AssertionError(f"no {action} call from the central system within {timeout} s")
        return found

    async def wait_until(self, found: Callable[[], T | None], timeout: float) -> T | None:
        """Answer the central system's calls until ``found()`` (which looks at them) is not None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = found()
            if result is not None:
                return result
            try:
                frame = orjson.loads(await asyncio.wait_for(self.socket.recv(), timeout=0.5))
            except TimeoutError:
                continue
            if frame[0] == 2:
                self.received_calls.append(frame)
                answer = {"status": "Accepted"} if frame[2] == "DataTransfer" else {}
                await self.socket.send(orjson.dumps([3, frame[1], answer]).decode())
        return found()


def connect(
    live: Live, subprotocol: str, password: str = PASSWORD, *, charge_point_id: str | None = None
) -> Any:
    """A websocket to the server as the station registered for ``subprotocol`` (or ``charge_point_id``)."""
    charge_point_id = charge_point_id or live.station_for(subprotocol)[0]
    return websockets.connect(
        f"{live.url}/{charge_point_id}",
        subprotocols=[subprotocol],
        additional_headers={"Authorization": basic(charge_point_id, password)},
    )
