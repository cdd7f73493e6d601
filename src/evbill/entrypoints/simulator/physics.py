"""How cars charge: power curves, session plans and the energy meter, all pure and seeded.

AC charging is limited by the car's on-board charger (3-phase 11 or 22 kW) and stays flat until the
battery management tapers the last few percent. DC charging follows the state of charge: full power
to 50 %, then down to a third of it at 80 % and a tenth at 100 %. A 150 kW charger with a 79 kWh car
at 20 % therefore delivers 150 kW at first, ~100 kW at 65 % and ~50 kW at 80 %.

The meter counts watt-seconds as an integer, so it is exact; its register is read in whole Wh,
rounded down as a real register's digits are (``ROUND_FLOOR`` by integer division):

    >>> meter = EnergyMeter(watt_seconds=3_600_000 * 1234)
    >>> meter.add(11_040 * 60)  # one minute at 11.04 kW
    >>> meter.register_wh
    1234184
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

SUBSTEP_SECONDS = 10  # integration step: short against any meter interval, cheap for a long session
MINIMUM_POWER_W = 1_400  # below this a car stops drawing rather than trickles
AC_TAPER_FROM = 0.92


class ChargerKind(StrEnum):
    AC11 = "ac11"
    AC22 = "ac22"
    DC50 = "dc50"
    DC150 = "dc150"


@dataclass(frozen=True)
class Charger:
    kind: ChargerKind
    max_power_w: int
    direct_current: bool


CHARGERS = {
    ChargerKind.AC11: Charger(ChargerKind.AC11, 11_040, direct_current=False),  # 3 x 230 V x 16 A
    ChargerKind.AC22: Charger(ChargerKind.AC22, 22_080, direct_current=False),  # 3 x 230 V x 32 A
    ChargerKind.DC50: Charger(ChargerKind.DC50, 50_000, direct_current=True),
    ChargerKind.DC150: Charger(ChargerKind.DC150, 150_000, direct_current=True),
}


@dataclass(frozen=True)
class Vehicle:
    model: str
    battery_wh: int
    max_ac_w: int
    max_dc_w: int


VEHICLES = (
    Vehicle("compact", 42_000, 11_040, 50_000),
    Vehicle("family", 64_000, 11_040, 100_000),
    Vehicle("saloon", 79_000, 11_040, 150_000),
    Vehicle("premium", 95_000, 22_080, 150_000),
)


def charging_power_w(charger: Charger, vehicle: Vehicle, soc: float) -> float:
    """What the car draws at this state of charge (0..1) from this charger, before noise."""
    if not charger.direct_current:
        limit = min(charger.max_power_w, vehicle.max_ac_w)
        if soc < AC_TAPER_FROM:
            return limit
        return max(limit * (1 - soc) / (1 - AC_TAPER_FROM), MINIMUM_POWER_W)
    limit = min(charger.max_power_w, vehicle.max_dc_w)
    if soc < 0.5:
        return limit
    if soc < 0.8:
        return limit * (1 - 0.65 * (soc - 0.5) / 0.3)
    return max(limit * (0.35 - 0.25 * (soc - 0.8) / 0.2), MINIMUM_POWER_W)


@dataclass(frozen=True)
class ChargeStep:
    energy_ws: int  # watt-seconds delivered in the step
    soc: float  # state of charge at its end
    power_w: int  # power drawn at its end (0 once the target is reached)


def charge(
    charger: Charger, vehicle: Vehicle, *, soc: float, target_soc: float, seconds: int, noise: float = 1.0
) -> ChargeStep:
    """Charge for ``seconds`` from ``soc``, stopping at ``target_soc``; ``noise`` scales the power."""
    energy_ws = power_w = 0
    battery_ws = vehicle.battery_wh * 3600
    remaining = seconds
    while remaining > 0 and soc < target_soc:
        step = min(SUBSTEP_SECONDS, remaining)
        power_w = round(charging_power_w(charger, vehicle, soc) * noise)
        energy_ws += power_w * step
        soc += power_w * step / battery_ws
        remaining -= step
    if soc >= target_soc:
        power_w = 0
    return ChargeStep(energy_ws=energy_ws, soc=soc, power_w=power_w)


@dataclass
class EnergyMeter:
    """A lifetime import register; it only ever counts up."""

    watt_seconds: int

    @classmethod
    def installed(cls, rng: random.Random) -> EnergyMeter:
        """A meter that has been in service a while: 1,000 to 5,000 kWh on the register."""
        return cls(watt_seconds=rng.randint(1_000_000, 5_000_000) * 3600)

    def add(self, energy_ws: int) -> None:
        if energy_ws < 0:
            raise ValueError("an import register cannot count down")
        self.watt_seconds += energy_ws

    @property
    def register_wh(self) -> int:
        return self.watt_seconds // 3600


@dataclass(frozen=True)
class SessionPlan:
    """What one driver will do, drawn when the car arrives (all durations in simulated seconds)."""

    vehicle: Vehicle
    token: str
    start_soc: float
    target_soc: float
    authorize_after: int  # from plugging in to presenting the card
    idle_after_full: int  # the car stays plugged in, drawing nothing
    max_dwell: int  # the driver leaves by then, full or not
    stop_by_card: bool  # ends with the card at the charger (Local) rather than by unplugging


def plan_session(rng: random.Random, charger: Charger, tokens: tuple[str, ...]) -> SessionPlan:
    vehicle = rng.choice(VEHICLES)
    token = rng.choice(tokens)
    authorize_after = rng.randint(5, 40)
    stop_by_card = rng.random() < 0.3
    if charger.direct_current:  # a stop on a journey: to ~80 %, back on the road soon after
        start, target = rng.uniform(0.08, 0.40), rng.uniform(0.75, 0.90)
        idle = min(int(rng.expovariate(1 / 240)), 1800)
        dwell = rng.randint(40 * 60, 100 * 60)
    else:  # at work or at home: long stays, often long after the car is full
        start, target = rng.uniform(0.20, 0.60), rng.choice((0.8, 0.9, 1.0))
        idle = min(int(rng.expovariate(1 / 2700)), 4 * 3600)
        dwell = rng.randint(2 * 3600, 10 * 3600)
    return SessionPlan(vehicle, token, start, target, authorize_after, idle, dwell, stop_by_card)


def next_arrival(rng: random.Random, per_hour: float) -> int:
    """Seconds until the next car arrives at a free connector (a Poisson process)."""
    return max(1, round(rng.expovariate(per_hour / 3600)))


def power_noise(rng: random.Random) -> float:
    """Real meters never read a perfectly flat line: +-0.5 %."""
    return 1 + rng.uniform(-0.005, 0.005)


@dataclass(frozen=True)
class FaultPlan:
    """Which faults hit a session, in simulated seconds after it started (None: not this time)."""

    outage_at: int | None
    outage_for: int
    fault_at: int | None


def plan_faults(rng: random.Random, *, offline: float, faulted: float, meter_interval: int) -> FaultPlan:
    # Every draw is made whatever the rates, so turning faults on leaves everything else as it was.
    draws = [rng.random() for _ in range(2)]
    outage_at = rng.randint(1, 3) * meter_interval + rng.randint(1, max(1, meter_interval - 1))
    outage_for = rng.randint(3, 8) * meter_interval
    fault_at = rng.randint(2, 40) * meter_interval + rng.randint(1, max(1, meter_interval - 1))
    return FaultPlan(
        outage_at=outage_at if draws[0] < offline else None,
        outage_for=outage_for,
        fault_at=fault_at if draws[1] < faulted else None,
    )
