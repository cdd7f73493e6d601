"""State changes between samples cut the periods where they were reported (real websockets).

Charging time is what the session's ``charging_s`` says (time in a parking state is idle); the CDR's
periods show where they were cut. Energy flowing is never parking.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect
from tests.e2e.ocpp.test_ocpp201 import event
from tests.e2e.ocpp.test_plausibility import meter


def stored(live, transaction_id, subprotocol="ocpp1.6"):
    station_id = live.station_for(subprotocol)[1]
    with live.container.services.uow() as uow:
        session = uow.live_sessions.find_by_transaction(live.operator_id, station_id, str(transaction_id))
        details = uow.live_sessions.details(live.operator_id, session.id)
    return session, details


def periods(details) -> list[tuple[str, dict[str, Decimal]]]:
    return [
        (period["start_date_time"][11:16], {d["type"]: d["volume"] for d in period["dimensions"]})
        for period in details["cdr"]["charging_periods"]
    ]


def status(connector: int, state: str, when: str) -> dict:
    return {"connectorId": connector, "errorCode": "NoError", "status": state, "timestamp": when}


def test_a_16_status_notification_between_meter_values_cuts_idle_at_its_own_time(live):
    # Given SuspendedEV at 10:06 and Charging again at 10:19, between meter values at 10:10 and 10:20
    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            await station.call("StatusNotification", status(1, "Charging", "2026-11-21T10:00:00Z"))
            started = await station.call(
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": TOKEN,
                    "meterStart": 1_000_000,
                    "timestamp": "2026-11-21T10:00:00Z",
                },
            )
            tx = started[2]["transactionId"]
            for message in (
                ("StatusNotification", status(1, "SuspendedEV", "2026-11-21T10:06:00Z")),
                (
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "transactionId": tx,
                        "meterValue": [meter("2026-11-21T10:10:00Z", 1_001_000)],
                    },
                ),
                ("StatusNotification", status(1, "Charging", "2026-11-21T10:19:00Z")),
                (
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "transactionId": tx,
                        "meterValue": [meter("2026-11-21T10:20:00Z", 1_001_100)],
                    },
                ),
                (
                    "StopTransaction",
                    {"transactionId": tx, "meterStop": 1_002_100, "timestamp": "2026-11-21T10:30:00Z"},
                ),
            ):
                await station.call(*message)
            return tx

    session, details = stored(live, asyncio.run(scenario()))
    # Then idle is 10:06-10:19 (not 10:10-10:20), with no energy in it: charging 6 + 11 minutes
    assert [start for start, _ in periods(details)] == ["10:00", "10:06", "10:19"]
    assert periods(details)[1][1]["ENERGY"] == 0
    assert periods(details)[1][1]["PARKING_TIME"] > 0
    assert [p[1]["ENERGY"] for p in periods(details)] == [Decimal(1), 0, Decimal("1.1")]
    assert session.charging_s == Decimal(1020)
    assert session.energy_wh == Decimal(2100)


def test_a_16_connector_state_survives_a_reconnect(live):
    # Given the EVSE pauses (SuspendedEVSE: still charging time) at 10:10, then the station reconnects
    # and sends meter values without any new status: no energy flows while the EVSE is paused
    async def first():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            await station.call("StatusNotification", status(1, "Charging", "2026-11-21T12:00:00Z"))
            started = await station.call(
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": TOKEN,
                    "meterStart": 2_000_000,
                    "timestamp": "2026-11-21T12:00:00Z",
                },
            )
            tx = started[2]["transactionId"]
            await station.call(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": tx,
                    "meterValue": [meter("2026-11-21T12:10:00Z", 2_003_000)],
                },
            )
            await station.call("StatusNotification", status(1, "SuspendedEVSE", "2026-11-21T12:10:00Z"))
            return tx

    async def after_reconnect(tx):
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            for when in ("2026-11-21T12:20:00Z", "2026-11-21T12:30:00Z"):
                await station.call(
                    "MeterValues",
                    {"connectorId": 1, "transactionId": tx, "meterValue": [meter(when, 2_003_000)]},
                )
            await station.call(
                "StopTransaction",
                {"transactionId": tx, "meterStop": 2_003_000, "timestamp": "2026-11-21T12:40:00Z"},
            )

    tx = asyncio.run(first())
    asyncio.run(after_reconnect(tx))
    session, _ = stored(live, tx)
    # Then the paused EVSE's 30 minutes are charging time, as before the reconnect: 40 minutes in all
    assert session.charging_s == Decimal(2400)


def test_a_201_charging_state_changed_without_meter_values_takes_effect_at_its_time(live):
    tx = str(uuid.uuid4())

    def changed(seq: int, when: str, state: str) -> dict:
        payload = event("Updated", seq, tx, when, None, info={"chargingState": state})
        return {**payload, "triggerReason": "ChargingStateChanged"}

    async def scenario():
        async with connect(live, "ocpp2.0.1") as socket:
            station = RawStation(socket)
            await station.call(
                "TransactionEvent",
                event("Started", 0, tx, "2026-11-21T14:00:00Z", 500000, evse={"id": 1, "connectorId": 1},
                      info={"chargingState": "Charging"}),
            )  # fmt: skip
            await station.call("TransactionEvent", changed(1, "2026-11-21T14:06:00Z", "SuspendedEV"))
            await station.call(
                "TransactionEvent",
                event(
                    "Updated", 2, tx, "2026-11-21T14:10:00Z", 501000, info={"chargingState": "SuspendedEV"}
                ),
            )
            await station.call("TransactionEvent", changed(3, "2026-11-21T14:19:00Z", "Charging"))
            await station.call("TransactionEvent", event("Ended", 4, tx, "2026-11-21T14:20:00Z", 501100))

    asyncio.run(scenario())
    session, details = stored(live, tx, "ocpp2.0.1")
    assert [start for start, _ in periods(details)] == ["14:00", "14:06", "14:19"]
    assert session.charging_s == Decimal(420)  # 14:00-14:06 and 14:19-14:20
    assert session.energy_wh == Decimal(1100)
