"""Records a dispute can rely on: a 1.6 session as real chargers send it, read back through the API.

The charger sends meterStart 1,000,000 Wh, one MeterValues of 1,006,000 Wh, and meterStop 1,012,000 Wh
with transactionData holding the Transaction.Begin and Transaction.End readings again (as OCPP 1.6
chargers do). 12 kWh: 0.35 + 12 x 0.39 = 5.03 excl. VAT.

* the OCPI CDR names the token's eMA id (``NL-EVB-C0001``) as ``cdr_token.contract_id``;
* the repeated begin and end readings are normal: no anomaly;
* the evidence holds every stored meter sample with the frame that carried it, and those frames: the
  session's energy follows from the evidence alone, and each sample's register is in its frame.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal

import httpx

from evbill.domain.metering.cleaning import MeterSample, clean_series
from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect


def get(live, path: str) -> httpx.Response:
    return httpx.get(f"{live.api}{path}", headers={"Authorization": f"Bearer {live.api_key}"}, timeout=10)


def reading(timestamp: str, wh: int, context: str | None = None) -> dict:
    sampled = {"value": str(wh), "unit": "Wh", "measurand": "Energy.Active.Import.Register"}
    return {"timestamp": timestamp, "sampledValue": [sampled | ({"context": context} if context else {})]}


def test_the_cdr_names_the_ema_id_and_the_evidence_re_derives_the_session_without_false_anomalies(live):
    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            start = {
                "connectorId": 1,
                "idTag": TOKEN,
                "meterStart": 1_000_000,
                "timestamp": "2026-11-18T08:00:00Z",
            }
            transaction_id = (await station.call("StartTransaction", start))[2]["transactionId"]
            values = [reading("2026-11-18T08:30:00Z", 1_006_000, "Sample.Periodic")]
            await station.call(
                "MeterValues", {"connectorId": 1, "transactionId": transaction_id, "meterValue": values}
            )
            await station.call(
                "StopTransaction",
                {
                    "transactionId": transaction_id,
                    "meterStop": 1_012_000,
                    "timestamp": "2026-11-18T09:00:00Z",
                    "idTag": TOKEN,
                    "transactionData": [
                        reading("2026-11-18T08:00:00Z", 1_000_000, "Transaction.Begin"),
                        reading("2026-11-18T09:00:00Z", 1_012_000, "Transaction.End"),
                    ],
                },
            )
            return transaction_id

    transaction_id = asyncio.run(scenario())
    with live.container.services.uow() as uow:
        session = uow.live_sessions.find_by_transaction(
            live.operator_id, live.station_id, str(transaction_id)
        )
    cdr = json.loads(get(live, f"/sessions/{session.id}/cdr").text, parse_float=Decimal)
    evidence = json.loads(get(live, f"/sessions/{session.id}/evidence").text, parse_float=Decimal)

    assert cdr["cdr_token"]["contract_id"] == "NL-EVB-C0001"
    assert cdr["total_cost"]["excl_vat"] == Decimal("5.03")
    assert evidence["anomalies"] == []
    samples = evidence["meter_samples"]
    frames = {frame["id"]: frame for frame in evidence["frames"]}
    assert [sample["energy"] for sample in samples] == [1_000_000, 1_006_000, 1_000_000, 1_012_000, 1_012_000]
    assert [frames[sample["frame_id"]]["action"] for sample in samples] == [
        "StartTransaction", "MeterValues", "StopTransaction", "StopTransaction", "StopTransaction",
    ]  # fmt: skip
    assert all(str(sample["energy"]) in frames[sample["frame_id"]]["raw"] for sample in samples)
    assert {frame["direction"] for frame in frames.values()} == {"in"}
    again = clean_series(
        MeterSample(
            datetime.fromisoformat(sample["timestamp"]),
            energy=Decimal(sample["energy"]),
            energy_unit=sample["energy_unit"],
            multiplier=sample["multiplier"],
            context=sample["context"],
        )
        for sample in samples
    )
    assert again.energy_wh == Decimal(cdr["total_energy"]) * 1000 == Decimal(12_000)
    assert evidence["tariff_version_id"] == session.tariff_version_id
