"""A protocol dialect: the station's neutral events in, ocpp payloads out (and CSMS calls handled).

One dialect object per station, since the unit its meter reports in is a property of the station.
Payloads are ocpp library dataclasses holding only ``str``, ``int``, ``float`` and ``bool``: never a
``Decimal``, which the library's JSON encoder would write with one decimal place.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from evbill.entrypoints.simulator.config import OcppVersion
from evbill.entrypoints.simulator.model import (
    BootResult,
    ConnectorState,
    CsmsSink,
    EnergyUnit,
    Outgoing,
    Reading,
    StopReason,
    Transaction,
)

VENDOR = "evbill"
FIRMWARE = "evbill-sim 1.0"


class Dialect(ABC):
    version: OcppVersion

    def __init__(self, *, unit: EnergyUnit) -> None:
        self.unit = unit

    @abstractmethod
    def charge_point(
        self,
        station_id: str,
        connection: Any,
        *,
        sink: CsmsSink,
        response_timeout: float,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> Any:
        """The ocpp ChargePoint for one connection, answering the CSMS's calls through ``sink``."""

    @abstractmethod
    def boot(self, station_id: str, model: str) -> Any: ...

    def boot_result(self, response: Any) -> BootResult:
        return BootResult(status=str(response.status), interval=int(response.interval))

    @abstractmethod
    def heartbeat(self) -> Any: ...

    @abstractmethod
    def visible_status(self, state: ConnectorState) -> str:
        """The status this protocol reports for ``state``; a change of it is worth a notification."""

    @abstractmethod
    def status(self, connector_id: int, state: ConnectorState, at: str) -> Any: ...

    def station_status(self, at: str) -> Any | None:
        """A status for the station as a whole, where the protocol has one."""
        return None

    @abstractmethod
    def authorize(self, token: str) -> Any: ...

    @abstractmethod
    def authorized(self, response: Any) -> bool: ...

    @abstractmethod
    def start(self, transaction: Transaction, *, offline: bool, sink: CsmsSink) -> Outgoing: ...

    @abstractmethod
    def update(
        self,
        transaction: Transaction,
        reading: Reading,
        *,
        state: ConnectorState,
        changed: bool,
        offline: bool,
        sink: CsmsSink,
    ) -> Outgoing: ...

    @abstractmethod
    def end(
        self, transaction: Transaction, reading: Reading, *, reason: StopReason, offline: bool, sink: CsmsSink
    ) -> Outgoing: ...


def status_of(response: Any, field: str) -> str | None:
    """``response.<field>["status"]`` of an ocpp result whose nested parts arrive as dicts."""
    info = getattr(response, field, None)
    if isinstance(info, dict):
        status = info.get("status")
        return str(status) if status is not None else None
    return None
