"""What a run did: live counters while it runs, a frozen summary per station and in total after.

Energy is the sum of each session's meter stop minus meter start, in whole Wh, so it is exact and
matches what a CSMS computes from the same messages; costs are the amounts the CSMS reported back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from evbill.entrypoints.simulator.clock import format_timestamp
from evbill.entrypoints.simulator.model import Reading, ReportedCost, StopReason, Transaction


@dataclass
class LiveCounters:
    """Shared by every station of a run; read by the progress line."""

    stations_total: int = 0
    stations_connected: int = 0
    sessions_started: int = 0
    sessions_finished: int = 0
    messages_sent: int = 0
    errors: int = 0


@dataclass(frozen=True)
class SessionRecord:
    connector_id: int
    transaction_id: str  # the station's own id (2.0.1's transactionId)
    csms_transaction_id: str | None  # 1.6: the id the CSMS assigned
    token: str
    started_at: datetime
    stopped_at: datetime
    meter_start_wh: int
    meter_stop_wh: int
    stop_reason: str

    @property
    def energy_wh(self) -> int:
        return self.meter_stop_wh - self.meter_start_wh

    def as_dict(self) -> dict[str, Any]:
        return {
            "connector_id": self.connector_id,
            "transaction_id": self.transaction_id,
            "csms_transaction_id": self.csms_transaction_id,
            "token": self.token,
            "started_at": format_timestamp(self.started_at),
            "stopped_at": format_timestamp(self.stopped_at),
            "meter_start_wh": self.meter_start_wh,
            "meter_stop_wh": self.meter_stop_wh,
            "energy_kwh": Decimal(self.energy_wh).scaleb(-3),
            "stop_reason": self.stop_reason,
        }


@dataclass(frozen=True)
class StationSummary:
    station_id: str
    charger: str
    energy_unit: str
    connected: bool
    connection_error: str | None
    sessions_started: int
    sessions_finished: int
    sessions_rejected: int
    messages_sent: int
    messages_received: int
    errors: int
    duplicates_sent: int
    outages: int
    sessions: tuple[SessionRecord, ...]
    costs: tuple[ReportedCost, ...]  # per transaction: the last running cost and the final cost

    @property
    def energy_wh(self) -> int:
        return sum(session.energy_wh for session in self.sessions)

    @property
    def final_costs(self) -> dict[str, Decimal]:
        """The last final cost the CSMS reported per transaction."""
        return {cost.transaction: cost.amount for cost in self.costs if cost.final}

    @property
    def final_cost_total(self) -> Decimal:
        return sum(self.final_costs.values(), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.station_id,
            "charger": self.charger,
            "energy_unit": self.energy_unit,
            "connected": self.connected,
            "error": self.connection_error,
            **_counts(self),
            "sessions": [session.as_dict() for session in self.sessions],
            "costs": [
                {"transaction_id": cost.transaction, "amount": cost.amount, "final": cost.final}
                for cost in self.costs
            ],
        }


COUNTED = (
    "sessions_started",
    "sessions_finished",
    "sessions_rejected",
    "messages_sent",
    "messages_received",
    "errors",
    "duplicates_sent",
    "outages",
)


def _counts(station: StationSummary) -> dict[str, Any]:
    counts: dict[str, Any] = {name: getattr(station, name) for name in COUNTED}
    counts["energy_kwh"] = Decimal(station.energy_wh).scaleb(-3)
    counts["final_cost_total"] = station.final_cost_total
    return counts


@dataclass(frozen=True)
class Summary:
    ocpp_version: str
    url: str
    seed: int
    speed: float
    simulated_start: datetime
    simulated_seconds: int
    wall_seconds: float
    stations: tuple[StationSummary, ...]

    @property
    def unreachable(self) -> tuple[StationSummary, ...]:
        """Stations that never got a connection accepted."""
        return tuple(station for station in self.stations if not station.connected)

    def total(self, name: str) -> int:
        return sum(getattr(station, name) for station in self.stations)

    @property
    def energy_wh(self) -> int:
        return sum(station.energy_wh for station in self.stations)

    @property
    def final_cost_total(self) -> Decimal:
        return sum((station.final_cost_total for station in self.stations), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        totals: dict[str, Any] = {
            "stations": len(self.stations),
            "connected": len(self.stations) - len(self.unreachable),
        }
        totals.update({name: self.total(name) for name in COUNTED})
        totals["energy_kwh"] = Decimal(self.energy_wh).scaleb(-3)
        totals["final_cost_total"] = self.final_cost_total
        return {
            "ocpp": self.ocpp_version,
            "url": self.url,
            "seed": self.seed,
            "speed": self.speed,
            "simulated_start": format_timestamp(self.simulated_start),
            "simulated_seconds": self.simulated_seconds,
            "wall_seconds": round(self.wall_seconds, 3),
            "totals": totals,
            "stations": [station.as_dict() for station in self.stations],
        }


@dataclass
class StationTally:
    """A station's counts while it runs; every count also feeds the run's live counters."""

    station_id: str
    live: LiveCounters
    charger: str = ""
    energy_unit: str = ""
    connected: bool = False
    connection_error: str | None = None
    sessions_started: int = 0
    sessions_finished: int = 0
    sessions_rejected: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    errors: int = 0
    duplicates_sent: int = 0
    outages: int = 0
    # The 1.6 transaction id may arrive after the session ended (offline): records are made at the end.
    finished: list[tuple[Transaction, Reading, StopReason]] = field(default_factory=list)
    # The last cost of each kind per transaction: a CSMS may send a running cost every few seconds.
    costs: dict[tuple[str, bool], ReportedCost] = field(default_factory=dict)

    def sent(self, count: int = 1) -> None:
        self.messages_sent += count
        self.live.messages_sent += count

    def error(self) -> None:
        self.errors += 1
        self.live.errors += 1

    def cost_reported(self, cost: ReportedCost) -> None:
        self.costs[(cost.transaction, cost.final)] = cost

    def session_started(self) -> None:
        self.sessions_started += 1
        self.live.sessions_started += 1

    def session_finished(self, transaction: Transaction, end: Reading, reason: StopReason) -> None:
        self.sessions_finished += 1
        self.live.sessions_finished += 1
        self.finished.append((transaction, end, reason))

    def online(self, is_online: bool) -> None:
        self.live.stations_connected += 1 if is_online else -1

    def freeze(self) -> StationSummary:
        return StationSummary(
            station_id=self.station_id,
            charger=self.charger,
            energy_unit=self.energy_unit,
            connected=self.connected,
            connection_error=self.connection_error,
            sessions=tuple(_record(*finished) for finished in self.finished),
            costs=tuple(self.costs.values()),
            **{name: getattr(self, name) for name in COUNTED},
        )


def _record(transaction: Transaction, end: Reading, reason: StopReason) -> SessionRecord:
    return SessionRecord(
        connector_id=transaction.connector_id,
        transaction_id=transaction.local_id,
        csms_transaction_id=str(transaction.csms_id) if transaction.csms_id is not None else None,
        token=transaction.token,
        started_at=transaction.begin.at,
        stopped_at=end.at,
        meter_start_wh=transaction.begin.register_wh,
        meter_stop_wh=end.register_wh,
        stop_reason=reason.value,
    )
