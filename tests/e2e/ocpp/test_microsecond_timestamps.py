"""Chargers whose timestamps carry microseconds (valid RFC 3339) start, meter and stop, over real
websockets, and their sessions close with the exact price.

Each test gets a station of its own under a tariff with a time component: EUR 0.35 start + 0.39/kWh +
3.60/h charging time (step 1 s), 21 % VAT. The timestamps are kept as sent; the stored charging time is
held to the millisecond, cut (quantities.held_seconds).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from decimal import Decimal
from typing import Any

import orjson

from evbill.application.access.keys import platform_actor
from evbill.application.tariffs import catalog
from evbill.domain.charging.sessions import SessionStatus
from evbill.domain.tariffs.catalog import AssignmentScope
from tests.e2e.ocpp.conftest import TOKEN, RawStation, add_station, connect


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def timed_station(live: Any, subprotocol: str) -> tuple[str, str]:
    """A new station for ``subprotocol`` (charge point id, station id) under the time tariff."""
    charge_point_id = f"CP-US-{secrets.token_hex(3)}"
    services = live.container.services
    with services.uow() as uow:
        location_id = uow.locations.list(live.operator_id, filters={}, after=None, limit=1)[0].id
    station_id = add_station(live.container, live.operator_id, location_id, charge_point_id, subprotocol)
    admin = platform_actor(live.operator_id)
    tariff = catalog.create_tariff(
        services,
        admin,
        {
            "country_code": "NL",
            "party_id": "EVB",
            "id": f"E2E-TIME-{secrets.token_hex(3)}",
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [
                        {"type": "FLAT", "price": 0.35, "vat": 21.0, "step_size": 1},
                        {"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1},
                        {"type": "TIME", "price": 3.60, "vat": 21.0, "step_size": 1},
                    ]
                }
            ],
            "last_updated": "2026-01-01T00:00:00Z",
        },
    )
    catalog.assign_tariff(
        services, admin, tariff_id=tariff.record.id, scope=AssignmentScope.STATION, scope_id=station_id
    )
    return charge_point_id, station_id


def session_of(live: Any, station_id: str, transaction_id: str) -> Any:
    with live.container.services.uow() as uow:
        return uow.live_sessions.find_by_transaction(live.operator_id, station_id, transaction_id)


def meter16(timestamp: str, wh: int) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "sampledValue": [{"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}],
    }


def status16(status: str, timestamp: str) -> dict[str, Any]:
    return {"connectorId": 1, "errorCode": "NoError", "status": status, "timestamp": timestamp}


def test_an_ocpp_1_6_session_with_microsecond_timestamps_stops_and_is_priced_exactly(live: Any) -> None:
    """10:00:01.123456 -> 11:00:04.185290 is 3603.061834 s: TIME billed 3604 s (step 1 s) x 0.001 =
    3.604; 0.35 + 10 x 0.39 + 3.604 = 7.854 excl. VAT, x 1.21 = 9.50334 -> 9.50; charging time stored
    3603.061 s."""
    charge_point_id, station_id = timed_station(live, "ocpp1.6")

    async def scenario() -> Any:
        async with connect(live, "ocpp1.6", charge_point_id=charge_point_id) as socket:
            station = RawStation(socket)
            await station.call("BootNotification", {"chargePointVendor": "Test", "chargePointModel": "E2E"})
            await station.call("StatusNotification", status16("Preparing", "2026-11-17T10:00:00.500001Z"))
            started = await station.call(
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": TOKEN,
                    "meterStart": 0,
                    "timestamp": "2026-11-17T10:00:01.123456Z",
                },
            )
            transaction_id = started[2]["transactionId"]
            charging = await station.call(
                "StatusNotification", status16("Charging", "2026-11-17T10:00:01.999999Z")
            )
            metered = await station.call(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": transaction_id,
                    "meterValue": [meter16("2026-11-17T10:30:00.654321Z", 5000)],
                },
            )
            running = await station.wait_for_call("DataTransfer", message_id="RunningCost", timeout=5)
            stopped = await station.call(
                "StopTransaction",
                {
                    "transactionId": transaction_id,
                    "meterStop": 10000,
                    "timestamp": "2026-11-17T11:00:04.185290Z",
                    "idTag": TOKEN,
                    "reason": "Local",
                    "transactionData": [meter16("2026-11-17T11:00:04.185290Z", 10000)],
                },
            )
            final = await station.wait_for_call("DataTransfer", message_id="FinalCost")
            finishing = await station.call(
                "StatusNotification", status16("Finishing", "2026-11-17T11:00:04.185291Z")
            )
            return started, charging, metered, running, stopped, final, finishing

    started, charging, metered, running, stopped, final, finishing = run(scenario())

    assert started[0] == 3
    assert started[2]["idTagInfo"] == {"status": "Accepted"}
    assert charging[0] == metered[0] == finishing[0] == 3
    assert orjson.loads(running[3]["data"])["transactionId"] == started[2]["transactionId"]
    assert stopped[0] == 3, stopped  # a result, not CallError InternalError
    assert stopped[2] == {"idTagInfo": {"status": "Accepted"}}
    assert final[3]["messageId"] == "FinalCost"
    session = session_of(live, station_id, str(started[2]["transactionId"]))
    assert session.status is SessionStatus.COMPLETED
    assert session.started_at.isoformat() == "2026-11-17T10:00:01.123456+00:00"  # as sent
    assert session.ended_at.isoformat() == "2026-11-17T11:00:04.185290+00:00"
    assert session.energy_wh == Decimal("10000")
    assert session.charging_s == Decimal("3603.061")
    assert session.total_excl_vat == Decimal("7.854")
    assert (session.total_excl_vat_minor, session.total_incl_vat_minor) == (785, 950)


def test_an_ocpp_2_0_1_session_with_microsecond_timestamps_stops_and_is_priced_exactly(live: Any) -> None:
    """12:00:00.999999 -> 12:40:01.000002 is 2400.000003 s: TIME billed 2401 s x 0.001 = 2.401;
    0.35 + 8 x 0.39 + 2.401 = 5.871 excl. VAT, x 1.21 = 7.10391 -> 7.10; charging time stored 2400 s."""
    charge_point_id, station_id = timed_station(live, "ocpp2.0.1")
    tx = str(uuid.uuid4())

    def event(kind: str, seq: int, when: str, wh: int, **extra: Any) -> dict[str, Any]:
        trigger = {"Started": "Authorized", "Updated": "MeterValuePeriodic", "Ended": "EVDeparted"}[kind]
        return {
            "eventType": kind,
            "timestamp": when,
            "triggerReason": trigger,
            "seqNo": seq,
            "transactionInfo": {"transactionId": tx, **extra.pop("info", {})},
            "meterValue": [
                {
                    "timestamp": when,
                    "sampledValue": [{"value": wh, "measurand": "Energy.Active.Import.Register"}],
                }
            ],
            **extra,
        }

    async def scenario() -> Any:
        async with connect(live, "ocpp2.0.1", charge_point_id=charge_point_id) as socket:
            station = RawStation(socket)
            await station.call(
                "BootNotification",
                {"chargingStation": {"model": "E2E", "vendorName": "Test"}, "reason": "PowerUp"},
            )
            status = await station.call(
                "StatusNotification",
                {
                    "timestamp": "2026-11-17T12:00:00.000001Z",
                    "connectorStatus": "Occupied",
                    "evseId": 1,
                    "connectorId": 1,
                },
            )
            started = await station.call(
                "TransactionEvent",
                event(
                    "Started",
                    0,
                    "2026-11-17T12:00:00.999999Z",
                    0,
                    idToken={"idToken": TOKEN, "type": "ISO14443"},
                    evse={"id": 1, "connectorId": 1},
                    info={"chargingState": "Charging"},
                ),
            )
            updated = await station.call(
                "TransactionEvent",
                event("Updated", 1, "2026-11-17T12:20:00.500001Z", 4000, info={"chargingState": "Charging"}),
            )
            metered = await station.call(
                "MeterValues",
                {
                    "evseId": 1,
                    "meterValue": [
                        {
                            "timestamp": "2026-11-17T12:30:00.250003Z",
                            "sampledValue": [{"value": 6000, "measurand": "Energy.Active.Import.Register"}],
                        }
                    ],
                },
            )
            running = await station.wait_for_call("CostUpdated", timeout=5)
            ended = await station.call(
                "TransactionEvent",
                event(
                    "Ended", 2, "2026-11-17T12:40:01.000002Z", 8000, info={"stoppedReason": "EVDisconnected"}
                ),
            )
            return status, started, updated, metered, running, ended

    status, started, updated, metered, running, ended = run(scenario())

    assert status[0] == started[0] == updated[0] == metered[0] == 3
    assert started[2]["idTokenInfo"]["status"] == "Accepted"
    assert running[3]["transactionId"] == tx
    assert ended[0] == 3, ended
    assert ended[2] == {"totalCost": 7.10}
    session = session_of(live, station_id, tx)
    assert session.status is SessionStatus.COMPLETED
    assert session.started_at.isoformat() == "2026-11-17T12:00:00.999999+00:00"
    assert session.ended_at.isoformat() == "2026-11-17T12:40:01.000002+00:00"
    assert session.energy_wh == Decimal("8000")
    assert session.charging_s == Decimal("2400.000")
    assert session.total_excl_vat == Decimal("5.871")
    assert session.total_incl_vat_minor == 710
