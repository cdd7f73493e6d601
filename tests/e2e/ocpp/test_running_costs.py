"""Running costs (OCPP 1.6 RunningCost) over a real websocket, under a tariff that charges time.

The station gets its own tariff here: EUR 0.39/kWh + 2.40/h of charging, 21 % VAT. Its clock is
weeks behind the server's (the scripted times are of November 2026): a running cost rated up to
the server's clock would show weeks of charging. Pushes come every 0.5 s (conftest).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import orjson
import pytest

from evbill.application.access.keys import platform_actor
from evbill.application.tariffs import catalog
from evbill.domain.tariffs.catalog import AssignmentScope
from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect
from tests.e2e.ocpp.test_plausibility import meter

PER_HOUR = {
    "country_code": "NL",
    "party_id": "EVB",
    "id": "E2E-PER-HOUR",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1},
                {"type": "TIME", "price": 2.40, "vat": 21.0, "step_size": 1},
            ]
        }
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}


@pytest.fixture(scope="module")
def timed(live):
    services, admin = live.container.services, platform_actor(live.operator_id)
    tariff = catalog.create_tariff(services, admin, PER_HOUR)
    catalog.assign_tariff(
        services, admin, tariff_id=tariff.record.id, scope=AssignmentScope.STATION, scope_id=live.station_id
    )
    return live


def running(station: RawStation) -> list[dict]:
    return [
        orjson.loads(frame[3]["data"])
        for frame in station.received_calls
        if frame[2] == "DataTransfer" and frame[3].get("messageId") == "RunningCost"
    ]


def costs_reach(station: RawStation, total: str, after: int = 0):
    return lambda: (
        running(station)[after:] if total in [str(c["cost"]) for c in running(station)[after:]] else None
    )


def test_running_costs_follow_the_chargers_clock_rise_resume_after_a_reconnect_and_say_idle(timed):
    live = timed

    async def first_connection():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            await station.call(
                "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
            )
            started = await station.call(
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": TOKEN,
                    "meterStart": 4_000_000,
                    "timestamp": "2026-11-17T10:00:00Z",
                },
            )
            tx = started[2]["transactionId"]
            await station.call(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": tx,
                    "meterValue": [meter("2026-11-17T10:30:00Z", 4_005_000)],
                },
            )
            # 5 kWh x 0.39 + 0.5 h x 2.40 = 3.15, x 1.21 = 3.8115 -> 3.81 (not weeks of charging)
            assert await station.wait_until(costs_reach(station, "3.81"), timeout=5)
            await station.call(
                "StatusNotification",
                {
                    "connectorId": 1,
                    "errorCode": "NoError",
                    "status": "SuspendedEV",
                    "timestamp": "2026-11-17T10:30:00Z",
                },
            )
            seen = len(running(station))
            assert await station.wait_until(lambda: running(station)[seen:] or None, timeout=5)
            return tx, running(station)

    async def after_reconnect(tx):
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            # no message at all: the pushes resume on their own
            assert await station.wait_until(lambda: running(station) or None, timeout=5)
            await station.call(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": tx,
                    "meterValue": [meter("2026-11-17T11:00:00Z", 4_010_000)],
                },
            )
            # 10 kWh x 0.39 + 1 h x 2.40 = 6.30, x 1.21 = 7.623 -> 7.62
            assert await station.wait_until(costs_reach(station, "7.62"), timeout=5)
            shown = running(station)
            await station.call(
                "StopTransaction",
                {"transactionId": tx, "meterStop": 4_010_000, "timestamp": "2026-11-17T11:00:00Z"},
            )
            final = await station.wait_for_call("DataTransfer", message_id="FinalCost")
            return shown, orjson.loads(final[3]["data"])

    tx, before = asyncio.run(first_connection())
    after, final = asyncio.run(after_reconnect(tx))

    costs = [Decimal(str(c["cost"])) for c in before + after]
    assert costs == sorted(costs)  # never down
    assert max(costs) == Decimal("7.62") == Decimal(str(final["cost"]))  # never above the final price
    assert {c["state"] for c in before[:-1] if Decimal(str(c["cost"])) < Decimal("3.81")} <= {"Charging"}
    assert before[-1]["state"] == "Idle"  # the car suspended (SuspendedEV)
    assert after[0]["state"] == "Idle"  # still known after the reconnect
