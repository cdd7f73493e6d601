"""The words a station thinks in, before any OCPP version: connector states, readings, transactions.

Each protocol dialect (``ocpp16``, ``ocpp201``) translates these at the boundary: a
``ConnectorState.SUSPENDED_EV`` is 1.6 status ``SuspendedEV`` but 2.0.1 connector status
``Occupied`` plus charging state ``SuspendedEV`` in the next TransactionEvent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol


class ConnectorState(StrEnum):
    AVAILABLE = "Available"
    PREPARING = "Preparing"  # plugged in, not yet authorized
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"  # full (or paused by the car): plugged in, no energy
    FINISHING = "Finishing"  # transaction over, still plugged in
    FAULTED = "Faulted"


class StopReason(StrEnum):
    EV_DISCONNECTED = "EVDisconnected"  # the driver unplugged
    LOCAL = "Local"  # the driver ended it with the card (or the run ended)
    FAULT = "Fault"  # the connector faulted
    DEAUTHORIZED = "DeAuthorized"  # the CSMS refused the token in its start response


class ReadingContext(StrEnum):
    BEGIN = "Transaction.Begin"
    PERIODIC = "Sample.Periodic"
    END = "Transaction.End"


class EnergyUnit(StrEnum):
    WH = "Wh"
    KWH = "kWh"

    def express(self, register_wh: int) -> Decimal:
        """The register in this unit, exactly: ``1234567`` Wh is ``1234.567`` kWh."""
        value = Decimal(register_wh)
        return value if self is EnergyUnit.WH else value.scaleb(-3)


@dataclass(frozen=True)
class Reading:
    """One meter sample: the lifetime register and what was flowing at that moment."""

    at: datetime
    register_wh: int
    power_w: int
    soc_percent: int | None
    context: ReadingContext


@dataclass
class Transaction:
    """A charging session as the station knows it; 1.6's CSMS id arrives with the start response."""

    connector_id: int
    local_id: str  # a uuid: 2.0.1's transactionId, and the key for 1.6 until the CSMS assigns one
    token: str
    begin: Reading
    csms_id: int | None = None
    rejected: bool = False  # the CSMS refused the token in its response to the start
    next_seq_no: int = 0
    charging_seconds: int = 0

    def take_seq_no(self) -> int:
        seq_no = self.next_seq_no
        self.next_seq_no += 1
        return seq_no

    @property
    def reference(self) -> str:
        """How the CSMS names this transaction (in costs it reports back)."""
        return str(self.csms_id) if self.csms_id is not None else self.local_id


@dataclass(frozen=True)
class BootResult:
    status: str
    interval: int

    @property
    def accepted(self) -> bool:
        return self.status == "Accepted"


@dataclass(frozen=True)
class Outgoing:
    """A message to send: built when it is sent (1.6 needs the CSMS's transaction id by then).

    ``build`` returns the ocpp payload, or None when there is nothing left to send. ``buffered``
    messages (transaction messages) are kept across an outage; the others are dropped.
    """

    build: Callable[[], Any]
    buffered: bool
    on_response: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class ReportedCost:
    transaction: str
    amount: Decimal
    final: bool


class CsmsSink(Protocol):
    """Where a station's protocol handlers report what the CSMS told it."""

    def record_cost(self, *, transaction: str, amount: Decimal, final: bool) -> None: ...

    def record_display(self, text: str) -> None: ...

    def record_received(self, action: str) -> None: ...

    def configuration(self) -> dict[str, str]: ...

    def configure(self, key: str, value: str) -> bool: ...
