"""What a station reports that evbill cannot use is refused to it, briefly (OCPP 1.6 over a websocket).

The station of ``tests.e2e.ocpp.conftest`` has one EVSE, number 1.
"""

from __future__ import annotations

import asyncio
import json

from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect
from tests.e2e.ocpp.test_plausibility import meter


async def _exchange(live, calls: list[tuple[str, dict]]) -> list:
    async with connect(live, "ocpp1.6") as socket:
        station = RawStation(socket)
        return [await station.call(action, payload) for action, payload in calls]


def test_a_start_on_a_connector_the_station_does_not_have_is_refused_not_mapped_to_its_only_evse(live):
    start = {"connectorId": 99, "idTag": TOKEN, "meterStart": 0, "timestamp": "2026-11-21T10:00:00Z"}
    (answer,) = asyncio.run(_exchange(live, [("StartTransaction", start)]))
    assert answer[0] == 4  # a CallError
    assert answer[2] == "PropertyConstraintViolation"
    with live.container.services.uow() as uow:
        sessions = uow.sessions.list(live.operator_id, filters={}, after=None, limit=500)
    assert not [s for s in sessions if s.started_at.isoformat().startswith("2026-11-21T10:00")]


def test_a_register_of_1e400_is_not_echoed_back_in_full(live):
    start = {"connectorId": 1, "idTag": TOKEN, "meterStart": 0, "timestamp": "2026-11-21T11:00:00Z"}
    started = asyncio.run(_exchange(live, [("StartTransaction", start)]))[0]
    values = {"connectorId": 1, "transactionId": started[2]["transactionId"],
              "meterValue": [meter("2026-11-21T11:10:00Z", "1e400")]}  # fmt: skip
    stop = {"transactionId": started[2]["transactionId"], "meterStop": 0, "timestamp": "2026-11-21T11:20:00Z"}
    answered, _ = asyncio.run(_exchange(live, [("MeterValues", values), ("StopTransaction", stop)]))
    # Refused (the journal cannot keep it), and named by its length, not echoed as 401 digits
    assert answered[:4] == [
        4,
        answered[1],
        "PropertyConstraintViolation",
        "a value of the message cannot be stored",
    ]
    assert answered[4] == {
        "problems": "error: meter_samples.energy: <a number of 401 digits> has more than 28 digits before"
        " the point"
    }
    assert len(json.dumps(answered)) < 300
