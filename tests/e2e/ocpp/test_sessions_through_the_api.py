"""A session run over OCPP, read through the REST API: running cost while live, then CDR and evidence."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import httpx

from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect


def meter(timestamp: str, wh: int) -> dict:
    return {"timestamp": timestamp, "sampledValue": [{"value": str(wh), "unit": "Wh"}]}


def get(live, path: str) -> httpx.Response:
    return httpx.get(f"{live.api}{path}", headers={"Authorization": f"Bearer {live.api_key}"}, timeout=10)


def find_session(live, transaction_id: str):
    with live.container.services.uow() as uow:
        return uow.live_sessions.find_by_transaction(live.operator_id, live.station_id, transaction_id)


def test_live_running_cost_then_cdr_and_evidence_with_the_meter_glitch_flagged(live):
    """1,000,000 -> 1,004,000 -> (glitch 1,003,500) -> 1,010,000 Wh: 10 kWh billed, the glitch flagged."""

    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            started = await station.call(
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": TOKEN,
                    "meterStart": 1_000_000,
                    "timestamp": "2026-11-19T08:00:00Z",
                },
            )
            transaction_id = started[2]["transactionId"]
            values = [meter("2026-11-19T08:20:00Z", 1_004_000), meter("2026-11-19T08:25:00Z", 1_003_500)]
            await station.call(
                "MeterValues", {"connectorId": 1, "transactionId": transaction_id, "meterValue": values}
            )
            live_view = await asyncio.to_thread(
                get, live, f"/sessions/{find_session(live, str(transaction_id)).id}"
            )
            await station.call(
                "StopTransaction",
                {
                    "transactionId": transaction_id,
                    "meterStop": 1_010_000,
                    "timestamp": "2026-11-19T09:00:00Z",
                },
            )
            return transaction_id, live_view

    transaction_id, live_view = asyncio.run(scenario())
    session = find_session(live, str(transaction_id))
    cdr = get(live, f"/sessions/{session.id}/cdr")
    evidence = get(live, f"/sessions/{session.id}/evidence").json()

    assert live_view.json()["status"] == "ACTIVE"
    assert live_view.json()["running_cost"]["excl_vat"] == "1.9100000000"  # 0.35 + 4 kWh x 0.39 so far
    assert live_view.json()["running_cost"]["shown"] == "2.31"
    assert cdr.status_code == 200
    document = json.loads(cdr.text, parse_float=Decimal)
    assert document["total_energy"] == Decimal("10")
    assert document["total_cost"] == {"excl_vat": Decimal("4.25"), "incl_vat": Decimal("5.14")}
    assert '"excl_vat":4.25' in cdr.text
    assert document["cdr_location"]["country"] == "NLD"
    assert document["tariffs"][0]["id"] == "E2E-SIMPLE"
    assert [a["flag"] for a in evidence["anomalies"]] == ["negative_delta"]
    assert evidence["explanation"]["total_cost"] == {"excl_vat": 4.25, "incl_vat": 5.1425}
