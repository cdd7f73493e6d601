"""An unknown station under the ``pending`` policy: it may connect and boot, and is told to wait.

Its BootNotification is answered ``Pending`` (ask again after ``interval``) and what it says of itself
is recorded as a station request; every other call is refused with ``SecurityError``: nothing an
unregistered station sends is priced or stored against any operator. Once an operator registers a
station with that charge point id (and a password it configures on the charger), the station's next
connection authenticates like any other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from ocpp.charge_point import camel_to_snake_case
from ocpp.messages import MessageType

from evbill.adapters.ocpp.limits import too_deep
from evbill.adapters.ocpp.protocol import dumps
from evbill.application.charging import central_system as central_system
from evbill.application.records import Services

LOGGER = logging.getLogger("evbill.ocpp")
PENDING_INTERVAL = 60


async def serve_pending(
    services: Services,
    charge_point_id: str,
    subprotocol: str,
    receive: Callable[[], Awaitable[str]],
    send: Callable[[str], Awaitable[None]],
) -> None:
    await asyncio.to_thread(central_system.note_station_request, services, charge_point_id, subprotocol)
    while True:
        raw = await receive()
        if too_deep(raw):
            continue  # nothing to answer for a station that is not registered
        try:
            frame = orjson.loads(raw)
            kind, unique_id, action, payload = frame[0], str(frame[1]), frame[2], frame[3]
        except (orjson.JSONDecodeError, IndexError, KeyError, TypeError):
            continue  # nothing to answer for a station that is not registered
        if kind != MessageType.Call:
            continue
        if action == "BootNotification" and isinstance(payload, dict):
            await asyncio.to_thread(
                central_system.note_station_request,
                services,
                charge_point_id,
                subprotocol,
                _described(payload),
            )
            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            answer: list[Any] = [
                MessageType.CallResult,
                unique_id,
                {"currentTime": now, "interval": PENDING_INTERVAL, "status": "Pending"},
            ]
        else:
            answer = [
                MessageType.CallError,
                unique_id,
                "SecurityError",
                "this station is not registered with an operator yet",
                {},
            ]
        await send(dumps(answer))


def _described(payload: dict[str, Any]) -> dict[str, Any]:
    """What a 1.6 or 2.0.1 BootNotification says of the station."""
    fields = camel_to_snake_case(payload)
    station = fields.get("charging_station") or {}
    return {
        "vendor": fields.get("charge_point_vendor") or station.get("vendor_name"),
        "model": fields.get("charge_point_model") or station.get("model"),
        "serial_number": fields.get("charge_point_serial_number") or station.get("serial_number"),
        "firmware_version": fields.get("firmware_version") or station.get("firmware_version"),
    }
