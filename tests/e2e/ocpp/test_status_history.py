"""Status history over real websockets: every StatusNotification kept, then utilisation and faults from it.

Times are a few hours before now (a report more than a day older than its arrival would be taken for a
charger clock that is off). The window is [T0, T0 + 3 h):

- the 1.6 station: Available T0, Charging T0+60, Faulted (GroundFailure) T0+90, Available T0+105 min,
  Charging T0+60 sent twice; then it disconnects and evbill writes Offline (after the window);
- the 2.0.1 station: nothing before T0+30, Occupied T0+30, Available T0+120 min.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx

from evbill.application.access.keys import platform_actor
from evbill.application.analytics.utilisation import UtilisationQuery, shown_faults
from evbill.domain.charging.status_history import OFFLINE
from tests.e2e.ocpp.conftest import RawStation, connect

T0 = (datetime.now(UTC) - timedelta(hours=4)).replace(second=0, microsecond=0)


def stamp(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def status16(state: str, minutes: int, error: str = "NoError") -> dict:
    return {"connectorId": 1, "errorCode": error, "status": state, "timestamp": stamp(minutes)}


def status201(state: str, minutes: int) -> dict:
    return {"timestamp": stamp(minutes), "connectorStatus": state, "evseId": 1, "connectorId": 1}


def history(live, subprotocol: str) -> list:
    station_id = live.station_for(subprotocol)[1]
    with live.container.services.uow(read_only=True) as uow:
        return uow.status_history.reports(
            live.operator_id, [station_id], T0 - timedelta(days=1), datetime.now(UTC), timedelta(days=1)
        )


def scenario(live) -> None:
    async def run() -> None:
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            messages = [status16("Available", 0), status16("Charging", 60), status16("Charging", 60),
                        status16("Faulted", 90, "GroundFailure"), status16("Available", 105)]  # fmt: skip
            for message in messages:
                assert (await station.call("StatusNotification", message))[2] == {}
        async with connect(live, "ocpp2.0.1") as socket:
            station = RawStation(socket)
            for message in (status201("Occupied", 30), status201("Available", 120)):
                assert (await station.call("StatusNotification", message))[2] == {}

    asyncio.run(run())


def test_every_status_is_kept_with_both_clocks_and_a_disconnect_is_marked_offline(live):
    # When both stations report their statuses over their websockets, then leave
    scenario(live)

    # Then the 1.6 history holds each report as sent, with the charger's time and the received time
    deadline = time.monotonic() + 10
    while history(live, "ocpp1.6")[-1].status != OFFLINE and time.monotonic() < deadline:
        time.sleep(0.05)
    reports = history(live, "ocpp1.6")
    assert [(r.evse_number, r.status, r.error_code) for r in reports] == [
        (1, "Available", "NoError"), (1, "Charging", "NoError"), (1, "Charging", "NoError"),
        (1, "Faulted", "GroundFailure"), (1, "Available", "NoError"), (0, OFFLINE, None),
    ]  # fmt: skip
    assert reports[3].reported_at == T0 + timedelta(minutes=90)
    assert all(r.received_at > r.reported_at for r in reports if r.reported_at is not None)
    assert reports[-1].reported_at is None
    # And the 2.0.1 history names the EVSE and the connector
    assert [(r.evse_number, r.connector_number, r.status) for r in history(live, "ocpp2.0.1")][:2] == [
        (1, 1, "Occupied"), (1, 1, "Available"),
    ]  # fmt: skip

    # When the operator asks for utilisation per station over [T0, T0 + 3 h) through the API
    answer = httpx.get(
        f"{live.api}/reports/utilisation",
        params={"group_by": "station", "start": T0.isoformat(), "end": (T0 + timedelta(hours=3)).isoformat()},
        headers={"Authorization": f"Bearer {live.api_key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    rows = {row["key"]: row for row in answer.json()["rows"]}
    # Then the 1.6 EVSE: available 60 + 75 = 135 min (0.7500), charging 30 min (1800/10800 = 0.1667),
    # faulted 15 min (900/10800 = 0.0833); the duplicate Charging is counted, not applied twice
    first = rows[live.station_for("ocpp1.6")[1]]
    assert (first["available_share"], first["charging_share"], first["occupied_share"]) == (
        "0.7500", "0.1667", "0.1667",
    )  # fmt: skip
    assert (first["faulted_share"], first["unknown_share"], first["hours"]) == ("0.0833", "0.0000", "3.00")
    assert answer.json()["reports"]["duplicates"] == 1
    # And the 2.0.1 EVSE: unknown until its first report (30 min), occupied 90 min, available 60 min
    second = rows[live.station_for("ocpp2.0.1")[1]]
    assert (second["unknown_share"], second["occupied_share"], second["available_share"]) == (
        "0.1667", "0.5000", "0.3333",
    )  # fmt: skip
    assert second["charging_share"] == "0.0000"  # 2.0.1 Occupied alone does not say charging

    # And the faults report names the 1.6 station: one fault, 15 min = 0.25 h, GroundFailure
    query = UtilisationQuery(T0, T0 + timedelta(hours=3))
    shown = shown_faults(live.container.services, platform_actor(live.operator_id), query=query)
    assert shown["rows"] == [
        {"station_id": live.station_for("ocpp1.6")[1], "faults": 1, "faulted_hours": "0.25",
         "last_error_code": "GroundFailure", "last_error_at": (T0 + timedelta(minutes=90)).isoformat()},
    ]  # fmt: skip
