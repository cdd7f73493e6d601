"""Kill the server mid-session (SIGKILL) and restart it: nothing acknowledged is lost, none counted twice.

The charger meters 1,000,000 -> 1,030,000 Wh in 10 steps. After the 4th acknowledged MeterValues the
server is killed; the 5th message is sent into the dying connection and never acknowledged. After the
restart the charger reconnects, resends what was not acknowledged (and, to be hostile, the 4th again),
sends the rest and stops. 30 kWh are billed exactly once: 0.35 + 30 x 0.39 = 12.05 excl. VAT.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import websockets

from evbill.adapters.db.migrate import upgrade
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from tests.e2e.ocpp.conftest import TOKEN, RawStation, basic, free_port, seed

EVBILL = Path(sys.executable).with_name("evbill")


def start_server(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EVBILL_")},
        "EVBILL_DATABASE_URL": database_url,
        "EVBILL_OCPP_COST_INTERVAL": "0",
        "EVBILL_OCPP_MAX_OFFLINE_DAYS": "3650",  # the scripted sessions are of November 2026
    }
    process = subprocess.Popen(
        [str(EVBILL), "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("server did not start")


def meter(step: int) -> dict:
    # 3 kWh every 10 minutes: 18 kW, within the EVSE's 22 kW
    return {
        "timestamp": f"2026-11-20T{10 + step // 6:02d}:{step % 6 * 10:02d}:00Z",
        "sampledValue": [{"value": str(1_000_000 + step * 3000), "unit": "Wh"}],
    }


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_killed_server_loses_no_acknowledged_meter_value_and_counts_none_twice(tmp_path, dialect):
    url = f"sqlite:///{tmp_path / 'evbill.db'}"
    upgrade(url)
    container = bootstrap(Settings(database_url=url))
    charge_point_id = "CP-CRASH-1"
    operator_id, station_id = seed(container, charge_point_id)
    port = free_port()
    endpoint = f"ws://127.0.0.1:{port}/ocpp/{charge_point_id}"
    headers = {"Authorization": basic(charge_point_id)}

    async def first_life(server: subprocess.Popen[bytes]) -> int:
        async with websockets.connect(
            endpoint, subprotocols=["ocpp1.6"], additional_headers=headers
        ) as socket:
            station = RawStation(socket)
            started = await station.call(
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": TOKEN,
                    "meterStart": 1_000_000,
                    "timestamp": "2026-11-20T10:00:00Z",
                },
            )
            transaction_id = started[2]["transactionId"]
            for step in range(1, 5):
                answer = await station.call(
                    "MeterValues",
                    {"connectorId": 1, "transactionId": transaction_id, "meterValue": [meter(step)]},
                )
                assert answer[0] == 3  # acknowledged
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
            try:  # the 5th goes into a dead connection: never acknowledged
                await station.call(
                    "MeterValues",
                    {"connectorId": 1, "transactionId": transaction_id, "meterValue": [meter(5)]},
                )
            except (websockets.exceptions.ConnectionClosed, TimeoutError, OSError):
                pass
            return int(transaction_id)

    async def second_life(transaction_id: int) -> list:
        async with websockets.connect(
            endpoint, subprotocols=["ocpp1.6"], additional_headers=headers
        ) as socket:
            station = RawStation(socket)
            for step in (4, 5, 6, 7, 8, 9):  # 4 again (hostile resend), 5 (never acknowledged), then the rest
                await station.call(
                    "MeterValues",
                    {"connectorId": 1, "transactionId": transaction_id, "meterValue": [meter(step)]},
                )
            return await station.call(
                "StopTransaction",
                {
                    "transactionId": transaction_id,
                    "meterStop": 1_030_000,
                    "timestamp": "2026-11-20T11:40:00Z",
                },
            )

    server = start_server(url, port)
    transaction_id = asyncio.run(first_life(server))
    with container.services.uow() as uow:
        session = uow.live_sessions.find_by_transaction(operator_id, station_id, str(transaction_id))
        acknowledged = uow.meter_samples.of_session(operator_id, session.id)
    restarted = start_server(url, port)
    try:
        stopped = asyncio.run(second_life(transaction_id))
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)

    assert [s.energy for s in acknowledged] == [Decimal(1_000_000 + step * 3000) for step in range(0, 5)]
    assert stopped[0] == 3
    with container.services.uow() as uow:
        final = uow.live_sessions.find_by_transaction(operator_id, station_id, str(transaction_id))
    assert final.energy_wh == Decimal("30000")
    assert final.total_excl_vat == Decimal("12.05")
    container.dispose()
