"""OCPP 2.0.1 (and 2.1, the same handlers under the 2.1 schemas) over a real websocket: TransactionEvent
with seqNo, running cost, totalCost, ugly cases.

Tariff: EUR 0.35 start + 0.39/kWh, 21 % VAT (see conftest). Energy registers are in Wh.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import pytest

from evbill.domain.charging.sessions import SessionStatus
from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect


def run(coroutine):
    return asyncio.run(coroutine)


def event(kind: str, seq: int, transaction_id: str, when: str, wh: float | None, **extra) -> dict:
    payload = {
        "eventType": kind,
        "timestamp": when,
        "triggerReason": {"Started": "Authorized", "Updated": "MeterValuePeriodic", "Ended": "EVDeparted"}[
            kind
        ],
        "seqNo": seq,
        "transactionInfo": {"transactionId": transaction_id, **extra.pop("info", {})},
        **extra,
    }
    if wh is not None:
        payload["meterValue"] = [
            {"timestamp": when, "sampledValue": [{"value": wh, "measurand": "Energy.Active.Import.Register"}]}
        ]
    return payload


def session_of(live, transaction_id: str):
    """The session of ``transaction_id`` at the 2.0.1 or the 2.1 station."""
    with live.container.services.uow() as uow:
        for subprotocol in ("ocpp2.0.1", "ocpp2.1"):
            _, station_id = live.station_for(subprotocol)
            found = uow.live_sessions.find_by_transaction(live.operator_id, station_id, transaction_id)
            if found is not None:
                return found
    return None


@pytest.mark.parametrize("subprotocol", ["ocpp2.0.1", "ocpp2.1"])
def test_a_session_with_out_of_order_and_resent_events_is_priced_once_with_total_cost_on_ended(
    live, subprotocol
):
    """Registers 500000 -> 510000 -> 515000 -> 520000 Wh: 20 kWh, 0.35 + 7.80 = 8.15 excl., 9.8615 -> 9.86."""
    tx = str(uuid.uuid4())
    token = {"idToken": TOKEN, "type": "ISO14443"}

    async def scenario():
        async with connect(live, subprotocol) as socket:
            station = RawStation(socket)
            await station.call(
                "BootNotification",
                {"chargingStation": {"model": "E2E", "vendorName": "Test"}, "reason": "PowerUp"},
            )
            assert socket.subprotocol == subprotocol
            started = await station.call(
                "TransactionEvent",
                event(
                    "Started",
                    0,
                    tx,
                    "2026-11-17T14:30:00Z",  # 10 kWh by 15:20: 12 kW, within the EVSE's 22 kW
                    500000,
                    idToken=token,
                    evse={"id": 1, "connectorId": 1},
                    info={"chargingState": "Charging"},
                ),
            )
            running = await station.wait_for_call("CostUpdated", timeout=5)
            later = event(
                "Updated", 2, tx, "2026-11-17T15:40:00Z", 515000, info={"chargingState": "Charging"}
            )
            earlier = event(
                "Updated", 1, tx, "2026-11-17T15:20:00Z", 510000, info={"chargingState": "Charging"}
            )
            await station.call("TransactionEvent", later)  # seqNo 2 before seqNo 1
            await station.call("TransactionEvent", earlier)
            await station.call("TransactionEvent", earlier)  # resent
            ended = await station.call(
                "TransactionEvent",
                event(
                    "Ended", 3, tx, "2026-11-17T16:00:00Z", 520000, info={"stoppedReason": "EVDisconnected"}
                ),
            )
            return started, running, ended

    started, running, ended = run(scenario())

    assert started[2]["idTokenInfo"]["status"] == "Accepted"
    assert (
        started[2]["idTokenInfo"]["personalMessage"]["content"]
        == "start EUR 0.4235; EUR 0.4719/kWh. Incl. VAT."
    )
    assert running[3]["transactionId"] == tx
    assert ended[2] == {"totalCost": 9.86}
    session = session_of(live, tx)
    assert session.status is SessionStatus.COMPLETED
    assert session.energy_wh == Decimal("20000")
    assert session.total_excl_vat == Decimal("8.15")
    with live.container.services.uow(read_only=True) as uow:
        stored = uow.meter_samples.of_session(live.operator_id, session.id)
    # every value as received, the resent one too, and the Ended event's own reading last
    assert [sample.energy for sample in stored] == [
        Decimal(wh) for wh in (500000, 515000, 510000, 510000, 520000)
    ]


@pytest.mark.parametrize("subprotocol", ["ocpp2.0.1", "ocpp2.1"])
def test_total_cost_is_written_with_the_currencys_decimals_on_the_wire(live, subprotocol):
    tx = str(uuid.uuid4())

    async def scenario():
        async with connect(live, subprotocol) as socket:
            station = RawStation(socket)
            await station.call(
                "TransactionEvent",
                event("Started", 0, tx, "2026-11-17T10:00:00Z", 1000, evse={"id": 1, "connectorId": 1}),
            )
            await socket.send(
                json.dumps(
                    [2, "end-1", "TransactionEvent", event("Ended", 1, tx, "2026-11-17T10:30:00Z", 1000)]
                )
            )
            while True:
                raw = await asyncio.wait_for(socket.recv(), timeout=10)
                if json.loads(raw)[1] == "end-1":
                    return raw

    raw = run(scenario())

    # No energy: only the start fee, 0.35 x 1.21 = 0.4235 -> 0.42, written as a number with two decimals
    assert raw == '[3,"end-1",{"totalCost":0.42}]'


def test_an_updated_event_for_a_transaction_never_started_opens_it(live):
    tx = str(uuid.uuid4())

    async def scenario():
        async with connect(live, "ocpp2.0.1") as socket:
            station = RawStation(socket)
            updated = await station.call(
                "TransactionEvent",
                event(
                    "Updated",
                    5,
                    tx,
                    "2026-11-17T12:00:00Z",
                    7000,
                    offline=True,
                    evse={"id": 1, "connectorId": 1},
                ),
            )
            ended = await station.call(
                "TransactionEvent", event("Ended", 6, tx, "2026-11-17T12:30:00Z", 9000)
            )
            return updated, ended

    updated, ended = run(scenario())

    assert updated[0] == 3
    assert ended[2] == {"totalCost": 1.37}  # 0.35 + 2 kWh x 0.39 = 1.13 excl., 1.3673 incl.
    assert session_of(live, tx).energy_wh == Decimal("2000")


def test_every_frame_in_and_out_is_on_record(live):
    async def scenario():
        async with connect(live, "ocpp2.0.1") as socket:
            station = RawStation(socket)
            await station.call("Heartbeat", {})

    run(scenario())

    from sqlalchemy import select

    from evbill.adapters.db.charging import tables as charging_tables

    with live.container.engine.connect() as connection:
        rows = connection.execute(
            select(charging_tables.ocpp_frames.c.direction, charging_tables.ocpp_frames.c.action)
            .where(charging_tables.ocpp_frames.c.station_id == live.station_for("ocpp2.0.1")[1])
            .order_by(charging_tables.ocpp_frames.c.id.desc())
            .limit(2)
        ).all()
    assert [tuple(row) for row in rows] == [("out", "Heartbeat"), ("in", "Heartbeat")]


@pytest.mark.parametrize(("subprotocol", "answer"), [("ocpp2.1", 3), ("ocpp2.0.1", 4)])
def test_a_field_new_in_2_1_is_accepted_from_a_2_1_station_only(live, subprotocol, answer):
    """preconditioningStatus and transactionInfo.tariffId exist from 2.1 on; 2.0.1's schema forbids them."""
    tx = str(uuid.uuid4())
    started = event(
        "Started",
        0,
        tx,
        "2026-11-17T09:00:00Z",
        1000,
        evse={"id": 1, "connectorId": 1},
        preconditioningStatus="Ready",
        info={"tariffId": "station-tariff-7"},
    )

    async def scenario():
        async with connect(live, subprotocol) as socket:
            return await RawStation(socket).call("TransactionEvent", started)

    reply = run(scenario())

    assert reply[0] == answer
    if answer == 4:
        assert reply[2] == "FormatViolation"  # a property its schema does not have
        assert session_of(live, tx) is None
    else:
        assert session_of(live, tx).status is SessionStatus.ACTIVE


def test_running_costs_follow_the_meter_values_as_they_arrive(live):
    """Pushes every 0.5 s: each shows the session up to its last stored value (0.35 + 0.39/kWh, 21 % VAT)."""
    tx = str(uuid.uuid4())

    async def scenario():
        async with connect(live, "ocpp2.0.1") as socket:
            station = RawStation(socket)

            def shown() -> list[str]:
                return [
                    str(frame[3]["totalCost"])
                    for frame in station.received_calls
                    if frame[2] == "CostUpdated"
                ]

            def reached(total: str):
                return lambda: shown() if total in shown() else None

            await station.call(
                "TransactionEvent",
                event("Started", 0, tx, "2026-11-17T14:30:00Z", 500000, evse={"id": 1, "connectorId": 1}),
            )
            assert await station.wait_until(reached("0.42"), timeout=5)  # (0.35) x 1.21
            await station.call("TransactionEvent", event("Updated", 1, tx, "2026-11-17T15:20:00Z", 510000))
            assert await station.wait_until(reached("5.14"), timeout=5)  # (0.35 + 10 x 0.39) x 1.21
            await station.call("TransactionEvent", event("Updated", 2, tx, "2026-11-17T15:40:00Z", 515000))
            assert await station.wait_until(reached("7.5"), timeout=5)  # (0.35 + 15 x 0.39) x 1.21 = 7.50
            await station.call(
                "TransactionEvent",
                event("Ended", 3, tx, "2026-11-17T16:00:00Z", 520000, info={"stoppedReason": "Local"}),
            )
            return shown()

    shown = run(scenario())

    assert set(shown) == {"0.42", "5.14", "7.5"}
    assert shown.index("7.5") > shown.index("5.14") > shown.index("0.42")
