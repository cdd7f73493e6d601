"""Unknown stations: refused by default; with the pending policy, told to wait and listed for the platform."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import uvicorn
import websockets

from evbill.adapters.db.migrate import upgrade
from evbill.application.charging.stations import station_requests
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.sites.model import UnknownStationPolicy
from evbill.entrypoints.api.app import create_app
from tests.e2e.ocpp.conftest import RawStation, basic, free_port


@pytest.fixture
def pending_server(tmp_path):
    url = f"sqlite:///{tmp_path / 'evbill.db'}"
    upgrade(url)
    settings = Settings(database_url=url, ocpp_unknown_stations=UnknownStationPolicy.PENDING)
    container = bootstrap(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, container=container), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield port, container
    server.should_exit = True
    thread.join(timeout=10)
    container.dispose()


def test_an_unknown_station_is_told_to_wait_and_its_request_is_recorded(pending_server):
    port, container = pending_server

    async def scenario():
        url = f"ws://127.0.0.1:{port}/ocpp/CP-NEW-1"
        async with websockets.connect(
            url, subprotocols=["ocpp2.0.1"], additional_headers={"Authorization": basic("CP-NEW-1")}
        ) as socket:
            station = RawStation(socket)
            boot = await station.call(
                "BootNotification",
                {
                    "reason": "PowerUp",
                    "chargingStation": {"vendorName": "ABB", "model": "Terra AC", "serialNumber": "SN-42"},
                },
            )
            started = await station.call("TransactionEvent", {"eventType": "Started"})
            return boot, started

    boot, started = asyncio.run(scenario())

    assert boot[2]["status"] == "Pending"
    assert boot[2]["interval"] == 60
    assert started[0] == 4
    assert started[2] == "SecurityError"
    [request] = station_requests(container.services)
    assert (request.charge_point_id, request.vendor, request.model, request.serial_number) == (
        "CP-NEW-1",
        "ABB",
        "Terra AC",
        "SN-42",
    )


def test_by_default_an_unknown_station_is_refused(live):
    async def scenario():
        try:
            async with websockets.connect(
                f"{live.url}/CP-NOBODY",
                subprotocols=["ocpp1.6"],
                additional_headers={"Authorization": basic("CP-NOBODY")},
            ):
                return None
        except websockets.exceptions.InvalidStatus as refused:
            return refused.response.status_code

    assert asyncio.run(scenario()) == 401
