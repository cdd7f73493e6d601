"""What a simulation run is asked to do: which stations, which protocol, how fast, how faulty.

    config = SimulationConfig(
        url="ws://127.0.0.1:8000/ocpp",
        station_ids=station_ids(3, prefix="SIM-"),  # SIM-001, SIM-002, SIM-003
        ocpp_version=OcppVersion.V16,
        speed=60,
        duration=120,
        seed=7,
    )

Time has two scales. *Real* seconds are what the run takes on the wall clock (``duration``,
timeouts, backoff, ``linger``); *simulated* seconds are what the stations live through and stamp on
their messages (arrivals, ``meter_interval``, the heartbeat interval the CSMS hands out). ``speed``
converts between them: at 60, one simulated minute passes per real second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from evbill.entrypoints.simulator.physics import ChargerKind

DEFAULT_TOKENS = ("04A1B2C3D4", "04E5F6A7B8", "04C9D0E1F2", "04B3A2C1D0")
DEFAULT_PASSWORD_TEMPLATE = "demo-{id}-password"


class OcppVersion(StrEnum):
    V16 = "1.6"
    V201 = "2.0.1"
    V21 = "2.1"

    @property
    def subprotocol(self) -> str:
        """The websocket subprotocol that names this version: ``ocpp1.6``, ``ocpp2.0.1``, ``ocpp2.1``."""
        return f"ocpp{self.value}"


class ConfigError(ValueError):
    """A setting that cannot work, said in words a user can act on."""


@dataclass(frozen=True)
class FaultRates:
    """How often things go wrong, as probabilities; all zero (the default) means a perfect world.

    ``offline``: per session, that the station loses its connection during it (and buffers);
    ``faulted``: per session, that its connector faults and ends it;
    ``duplicate``: per transaction message, that the station sends it a second time.
    """

    offline: float = 0.0
    faulted: float = 0.0
    duplicate: float = 0.0

    @classmethod
    def realistic(cls, scale: float = 1.0) -> FaultRates:
        """Rates seen on a well-run network, multiplied by ``scale`` (0 turns every fault off)."""
        return cls(
            offline=min(0.08 * scale, 1.0), faulted=min(0.03 * scale, 1.0), duplicate=min(0.02 * scale, 1.0)
        )


@dataclass(frozen=True)
class SimulationConfig:
    url: str
    station_ids: tuple[str, ...]
    ocpp_version: OcppVersion = OcppVersion.V16
    password_template: str | None = DEFAULT_PASSWORD_TEMPLATE
    tokens: tuple[str, ...] = DEFAULT_TOKENS
    duration: float = 60.0  # real seconds
    speed: float = 60.0  # simulated seconds per real second
    seed: int = 0
    connectors: int = 1  # per station, each with its own meter (2.0.1: one EVSE each)
    sessions_per_station: int | None = None  # stop early once every station has had this many
    arrivals_per_hour: float = 2.0  # per free connector, simulated time
    meter_interval: int = 60  # simulated seconds between periodic meter values
    chargers: tuple[ChargerKind, ...] = tuple(ChargerKind)
    faults: FaultRates = field(default_factory=FaultRates)
    start: datetime | None = None  # simulated time at the start of the run; default: now
    connect_attempts: int = 3
    response_timeout: float = 30.0  # real seconds the CSMS has to answer one message
    drain_timeout: float = 10.0  # real seconds to send what is still queued at the end
    linger: float = 0.5  # real seconds to stay connected at the end, for late costs from the CSMS
    ca_file: Path | None = None  # trust anchor for wss:// (security profile 2)

    def __post_init__(self) -> None:
        for problem in self.problems():
            raise ConfigError(problem)

    def problems(self) -> list[str]:
        found = []
        if not self.url.startswith(("ws://", "wss://")):
            found.append(f"--url must start with ws:// or wss://, not {self.url!r}")
        if not self.station_ids:
            found.append("at least one station is needed")
        if len(set(self.station_ids)) != len(self.station_ids):
            found.append("station ids must be unique")
        if not self.tokens:
            found.append("at least one token is needed")
        if self.speed <= 0 or self.duration <= 0:
            found.append("--speed and --duration must be positive")
        if self.connectors < 1 or self.meter_interval < 1 or self.arrivals_per_hour <= 0:
            found.append("connectors, meter interval and arrival rate must be positive")
        if not self.chargers:
            found.append("at least one charger kind is needed")
        if self.start is not None and self.start.tzinfo is None:
            found.append("the simulated start time must be timezone-aware")
        found.extend(self._password_problems())
        return found

    def _password_problems(self) -> list[str]:
        if not self.password_template:
            return []
        try:
            self.password_template.format(id="x")
        except (KeyError, IndexError, ValueError):
            return [f"--password-template may only use {{id}}: {self.password_template!r}"]
        return []

    def password_for(self, station_id: str) -> str | None:
        """The station's Basic-auth password, or None to send no Authorization header."""
        if not self.password_template:
            return None
        return self.password_template.format(id=station_id)

    def station_url(self, station_id: str) -> str:
        from urllib.parse import quote

        return f"{self.url.rstrip('/')}/{quote(station_id, safe='')}"


def station_ids(count: int, *, prefix: str = "SIM-") -> tuple[str, ...]:
    """``count`` ids numbered from 1 with at least three digits: ``SIM-001``, ``SIM-002``, ..."""
    width = max(3, len(str(count)))
    return tuple(f"{prefix}{number:0{width}d}" for number in range(1, count + 1))
