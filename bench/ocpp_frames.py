"""What a simulated charging station says, as OCPP-J payloads for 1.6 and 2.0.1, built by hand.

The load generator writes raw frames (``[2, uniqueId, action, payload]``) instead of going through the
``ocpp`` library's client side, whose validation and case conversion would cost the generator the CPU
it shares with the server. Each station boots, starts one transaction, then reports its meter over
and over, its energy register rising by ``ENERGY_STEP_WH`` per report:

    >>> station = Station.numbered(7, prefix="BENCH-", id_tag_template="{id}")
    >>> station.id, station.id_tag
    ('BENCH-00007', 'BENCH-00007')
    >>> station.energy_wh = 1_000
    >>> meter_report(OcppVersion.V16, station, "2026-05-04T09:30:00Z")[0]
    'MeterValues'
    >>> station.energy_wh
    1010

Station ids, tag ids and passwords come from ``station_credentials`` so that a server's seeding code
can create exactly the stations the generator will present.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Payload = dict[str, Any]
ENERGY_STEP_WH = 10
ENERGY_REGISTER = "Energy.Active.Import.Register"
ID_TAG_MAX_16 = 20  # CiString20Type in OCPP 1.6


class OcppVersion(StrEnum):
    V16 = "1.6"
    V201 = "2.0.1"

    @property
    def subprotocol(self) -> str:
        return f"ocpp{self.value}"


def station_id(number: int, *, prefix: str) -> str:
    return f"{prefix}{number:05d}"


def station_credentials(count: int, *, prefix: str, auth_template: str) -> list[tuple[str, str]]:
    """(charge point id, Basic auth password) for stations 1..count, as the generator presents them."""
    identities = [station_id(number, prefix=prefix) for number in range(1, count + 1)]
    return [(ident, auth_template.format(id=ident)) for ident in identities]


@dataclass(slots=True)
class Station:
    """One simulated station's protocol state: its ids and the transaction it is charging in."""

    id: str
    id_tag: str
    transaction_id: int | str | None = None
    energy_wh: int = 0
    sequence_number: int = 0

    @classmethod
    def numbered(cls, number: int, *, prefix: str, id_tag_template: str) -> Station:
        ident = station_id(number, prefix=prefix)
        return cls(id=ident, id_tag=id_tag_template.format(id=ident))

    def next_sequence_number(self) -> int:
        self.sequence_number += 1
        return self.sequence_number


def boot_notification(version: OcppVersion) -> tuple[str, Payload]:
    if version is OcppVersion.V16:
        return "BootNotification", {"chargePointVendor": "evbill-bench", "chargePointModel": "LoadGenerator"}
    station = {"vendorName": "evbill-bench", "model": "LoadGenerator"}
    return "BootNotification", {"reason": "PowerUp", "chargingStation": station}


def start_transaction(version: OcppVersion, station: Station, timestamp: str) -> tuple[str, Payload]:
    """StartTransaction (1.6) or TransactionEvent Started (2.0.1, whose transaction id the station makes)."""
    if version is OcppVersion.V16:
        payload = {"connectorId": 1, "idTag": station.id_tag, "meterStart": station.energy_wh}
        return "StartTransaction", payload | {"timestamp": timestamp}
    station.transaction_id = str(uuid.uuid4())
    payload = _transaction_event(station, "Started", "Authorized", timestamp, context="Transaction.Begin")
    payload["transactionInfo"]["chargingState"] = "Charging"
    payload |= {"idToken": _id_token(station), "evse": {"id": 1, "connectorId": 1}}
    return "TransactionEvent", payload


def accept_transaction(version: OcppVersion, station: Station, response: Payload) -> str | None:
    """Keep the transaction id a 1.6 server assigned; return why the start was refused, None if not."""
    if version is OcppVersion.V16:
        station.transaction_id = response.get("transactionId")
        status = response.get("idTagInfo", {}).get("status")
        return None if status == "Accepted" and station.transaction_id is not None else f"idTag {status}"
    status = response.get("idTokenInfo", {}).get("status", "Accepted")
    return None if status == "Accepted" else f"idToken {status}"


def meter_report(version: OcppVersion, station: Station, timestamp: str) -> tuple[str, Payload]:
    """MeterValues for the open transaction (1.6) or TransactionEvent Updated (2.0.1)."""
    station.energy_wh += ENERGY_STEP_WH
    if version is OcppVersion.V16:
        payload = {"connectorId": 1, "transactionId": station.transaction_id}
        return "MeterValues", payload | {
            "meterValue": [_meter_value_16(station, timestamp, "Sample.Periodic")]
        }
    return "TransactionEvent", _transaction_event(station, "Updated", "MeterValuePeriodic", timestamp)


def stop_transaction(version: OcppVersion, station: Station, timestamp: str) -> tuple[str, Payload]:
    """StopTransaction (1.6) or TransactionEvent Ended (2.0.1) with the final meter reading."""
    if version is OcppVersion.V16:
        payload = {"transactionId": station.transaction_id, "meterStop": station.energy_wh}
        return "StopTransaction", payload | {
            "timestamp": timestamp,
            "idTag": station.id_tag,
            "reason": "Local",
        }
    payload = _transaction_event(station, "Ended", "StopAuthorized", timestamp, context="Transaction.End")
    payload["transactionInfo"]["stoppedReason"] = "Local"
    return "TransactionEvent", payload | {"idToken": _id_token(station)}


def boot_refusal(response: Payload) -> str | None:
    status = response.get("status")
    return None if status == "Accepted" else f"BootNotification {status}"


def _meter_value_16(station: Station, timestamp: str, context: str) -> Payload:
    sampled = {
        "value": str(station.energy_wh),
        "context": context,
        "measurand": ENERGY_REGISTER,
        "unit": "Wh",
    }
    return {"timestamp": timestamp, "sampledValue": [sampled]}


def _transaction_event(
    station: Station, event_type: str, trigger: str, timestamp: str, *, context: str = "Sample.Periodic"
) -> Payload:
    sampled = {
        "value": float(station.energy_wh), "context": context,
        "measurand": ENERGY_REGISTER, "unitOfMeasure": {"unit": "Wh"},
    }  # fmt: skip
    return {
        "eventType": event_type, "timestamp": timestamp, "triggerReason": trigger,
        "seqNo": station.next_sequence_number() - 1,  # 0 for Started
        "transactionInfo": {"transactionId": station.transaction_id},
        "meterValue": [{"timestamp": timestamp, "sampledValue": [sampled]}],
    }  # fmt: skip


def _id_token(station: Station) -> Payload:
    return {"idToken": station.id_tag, "type": "ISO14443"}
