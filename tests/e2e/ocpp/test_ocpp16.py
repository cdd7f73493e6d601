"""OCPP 1.6J over a real websocket: authorise, start, meter, stop; the bill equals the rating engine's.

Tariff: EUR 0.35 start + 0.39/kWh, 21 % VAT. A session from register 1,000,000 Wh to 1,019,117 Wh
(19.117 kWh): 0.35 + 19.117 x 0.39 = 7.80563 excl. VAT, x 1.21 = 9.4448123 -> 9.44 incl. VAT.
"""

from __future__ import annotations

import asyncio
import base64
import json
from decimal import Decimal

import orjson
import pytest
import websockets

from evbill.domain.charging.sessions import SessionStatus
from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect


def run(coroutine):
    return asyncio.run(coroutine)


def meter(timestamp: str, wh: int) -> dict:
    return {
        "timestamp": timestamp,
        "sampledValue": [{"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}],
    }


def session_of(live, transaction_id: str):
    with live.container.services.uow() as uow:
        return uow.live_sessions.find_by_transaction(live.operator_id, live.station_id, transaction_id)


def test_a_scripted_session_is_priced_to_the_cent_and_the_final_cost_is_sent(live):
    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            boot = await station.call(
                "BootNotification", {"chargePointVendor": "Test", "chargePointModel": "E2E"}
            )
            authorized = await station.call("Authorize", {"idTag": TOKEN})
            price = await station.wait_for_call("DataTransfer", message_id="SetUserPrice")
            started = await station.call(
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": TOKEN,
                    "meterStart": 1_000_000,
                    "timestamp": "2026-11-17T15:20:00Z",
                },
            )
            transaction_id = started[2]["transactionId"]
            await station.call(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": transaction_id,
                    "meterValue": [meter("2026-11-17T15:50:00Z", 1_009_000)],
                },
            )
            stopped = await station.call(
                "StopTransaction",
                {
                    "transactionId": transaction_id,
                    "meterStop": 1_019_117,
                    "timestamp": "2026-11-17T16:20:00Z",
                    "idTag": TOKEN,
                    "reason": "Local",
                },
            )
            final = await station.wait_for_call("DataTransfer", message_id="FinalCost")
            return boot, authorized, price, started, stopped, final

    boot, authorized, price, started, stopped, final = run(scenario())

    assert boot[2]["status"] == "Accepted"
    assert authorized[2] == {"idTagInfo": {"status": "Accepted"}}
    assert price[2] == "DataTransfer"
    assert orjson.loads(price[3]["data"])["priceText"] == "start EUR 0.4235; EUR 0.4719/kWh. Incl. VAT."
    assert started[2]["idTagInfo"] == {"status": "Accepted"}
    assert stopped[2] == {"idTagInfo": {"status": "Accepted"}}
    session = session_of(live, str(started[2]["transactionId"]))
    assert session.status is SessionStatus.COMPLETED
    assert session.energy_wh == Decimal("19117")
    assert session.total_excl_vat == Decimal("7.80563")
    assert session.total_incl_vat_minor == 944
    final_cost = json.loads(final[3]["data"], parse_float=Decimal)
    assert final_cost["cost"] == Decimal("9.44")
    assert '"cost":9.44' in final[3]["data"]  # exact digits on the wire, not the library's one-decimal 9.4


def test_a_resent_start_and_stop_change_nothing(live):
    start = {"connectorId": 1, "idTag": TOKEN, "meterStart": 2_000_000, "timestamp": "2026-11-18T08:00:00Z"}

    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            first = await station.call("StartTransaction", start)
            again = await station.call("StartTransaction", start)
            transaction_id = first[2]["transactionId"]
            stop = {
                "transactionId": transaction_id,
                "meterStop": 2_010_000,
                "timestamp": "2026-11-18T09:00:00Z",
            }
            await station.call("StopTransaction", stop)
            await station.call("StopTransaction", stop)
            return first, again

    first, again = run(scenario())

    assert again[2]["transactionId"] == first[2]["transactionId"]
    session = session_of(live, str(first[2]["transactionId"]))
    assert session.energy_wh == Decimal("10000")
    assert session.total_excl_vat == Decimal("4.25")  # 0.35 + 10 x 0.39, billed once


def test_malformed_frames_get_a_call_error_and_the_connection_stays_up(live):
    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            not_json = await station.send_raw("this is not json")
            missing_field = await station.call("StartTransaction", {"connectorId": 1})
            wrong_type = await station.call("Heartbeat", {"unexpected": 1})
            alive = await station.call("Heartbeat", {})
            return not_json, missing_field, wrong_type, alive

    not_json, missing_field, wrong_type, alive = run(scenario())

    assert not_json[0] == 4
    assert not_json[2] == "FormationViolation"
    assert missing_field[0] == 4
    assert wrong_type[0] == 4
    assert alive[0] == 3
    assert "currentTime" in alive[2]


@pytest.mark.parametrize(
    ("password", "subprotocols"), [("wrong-password-wrong-0001", ["ocpp1.6"]), (None, ["mqtt"])]
)
def test_a_station_with_wrong_credentials_or_protocol_is_refused(live, password, subprotocols):
    async def scenario():
        headers = {
            "Authorization": "Basic "
            + base64.b64encode(
                f"{live.charge_point_id}:{password or 'e2e-station-password-0001'}".encode()
            ).decode()
        }
        try:
            async with websockets.connect(
                f"{live.url}/{live.charge_point_id}", subprotocols=subprotocols, additional_headers=headers
            ):
                return None
        except websockets.exceptions.InvalidStatus as refused:
            return refused.response.status_code, refused.response.body

    if password:
        assert run(scenario())[0] == 401
    else:
        assert run(scenario()) == (400, b"offer one of the subprotocols ocpp2.1, ocpp2.0.1, ocpp1.6")


def test_a_station_that_leaves_right_after_its_stop_leaves_no_warning_and_no_traceback(live, caplog):
    # Given a 1.6 station with a priced session
    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            start = {"connectorId": 1, "idTag": TOKEN, "meterStart": 5_000_000}
            start["timestamp"] = "2026-11-19T10:00:00Z"
            started = await station.call("StartTransaction", start)
            stop = {
                "transactionId": started[2]["transactionId"],
                "meterStop": 5_010_000,
                "timestamp": "2026-11-19T11:00:00Z",
            }
            # When it stops the session and hangs up at once, before evbill's FinalCost call
            stopped = await station.call("StopTransaction", stop)
        await asyncio.sleep(0.5)  # the FinalCost call finds the station gone
        return started, stopped

    with caplog.at_level("INFO", logger="evbill.ocpp"):
        started, stopped = run(scenario())

    # Then the session is stored, and the lost FinalCost call is at most an info line, without a traceback
    assert stopped[2] == {}  # no idTag in the stop: no idTagInfo
    session = session_of(live, str(started[2]["transactionId"]))
    assert session.status is SessionStatus.COMPLETED
    assert session.total_excl_vat == Decimal("4.25")  # 0.35 + 10 kWh x 0.39
    failures = [record for record in caplog.records if "call to the charger" in record.getMessage()]
    assert [record.exc_info for record in failures] == [None] * len(failures)
    ours = [record for record in caplog.records if record.name.startswith("evbill")]
    assert not [record for record in ours if record.levelname in {"WARNING", "ERROR"}]


def test_a_start_identical_to_a_completed_one_opens_a_new_session_with_its_final_cost(live):
    """Same connector, card, time and meterStart as a session already stopped: a new transaction, not
    a resend (a resend comes before its stop). Each stop gets its FinalCost: 0.35 + 5 x 0.39 = 2.30."""
    start = {"connectorId": 1, "idTag": TOKEN, "meterStart": 3_000_000, "timestamp": "2026-11-18T11:00:00Z"}

    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            answers = []
            for register in (3_005_000, 3_005_000):
                started = await station.call("StartTransaction", start)
                transaction_id = started[2]["transactionId"]
                await station.call(
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "transactionId": transaction_id,
                        "meterValue": [meter("2026-11-18T11:10:00Z", 3_002_000)],
                    },
                )
                stop = {
                    "transactionId": transaction_id,
                    "meterStop": register,
                    "timestamp": "2026-11-18T11:20:00Z",
                }
                await station.call("StopTransaction", stop)
                answers.append(started)
            await station.wait_until(
                lambda: (
                    [f for f in station.received_calls if f[3].get("messageId") == "FinalCost"][1:] or None
                ),
                timeout=5,
            )
            finals = [f for f in station.received_calls if f[3].get("messageId") == "FinalCost"]
            return answers, finals

    (first, second), finals = run(scenario())

    assert second[2]["transactionId"] != first[2]["transactionId"]
    assert second[2]["idTagInfo"] == {"status": "Accepted"}
    for started in (first, second):
        session = session_of(live, str(started[2]["transactionId"]))
        assert session.status is SessionStatus.COMPLETED
        assert session.energy_wh == Decimal("5000")
        assert session.total_excl_vat == Decimal("2.30")
    assert [orjson.loads(f[3]["data"])["transactionId"] for f in finals] == [
        first[2]["transactionId"],
        second[2]["transactionId"],
    ]
