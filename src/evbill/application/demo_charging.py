"""Demo sessions made the way real ones are: the central system's own use cases, fed OCPP messages.

Each demo session is a driver with a demo card at a demo station: ``start_transaction`` with the
StartTransaction (1.6) or TransactionEvent Started (2.0.1) frame, meter values every 15 minutes while
the car charges, then ``end_transaction`` with the stop frame and its transaction data. So a demo
session has what every session has: its token, contract and the rule that chose its tariff, its
frames, its meter series, its price explanation and its OCPI CDR (``/sessions/{id}/cdr`` and
``/evidence`` answer for it).

The numbers are drawn from a random generator seeded by the operator, so a demo is the same every
time it is loaded (at the same "now").
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from evbill.application.charging import central_system
from evbill.application.records import Services
from evbill.domain.charging.frames import Direction, Frame
from evbill.domain.metering.cleaning import MeterSample, ReadingContext
from evbill.domain.sites.model import Evse

METER_EVERY = timedelta(minutes=15)
DC_POWER_KW = 50  # the demo's DC stations fast charge at about this power


@dataclass(frozen=True, slots=True)
class DemoStation:
    station_id: str
    evse: Evse
    kilowatts: int  # rated power
    speaks_201: bool  # DC stations speak OCPP 2.0.1, AC ones 1.6


@dataclass(frozen=True, slots=True)
class _Plan:
    start: datetime
    charging: timedelta
    parking: timedelta
    energy_wh: Decimal
    token: str


def charge_demo_sessions(
    services: Services,
    operator_id: str,
    stations: Sequence[DemoStation],
    tokens: Sequence[str],
    *,
    now: datetime,
    per_evse: int,
) -> int:
    """Run ``per_evse`` sessions at each station over the 30 days before ``now``; returns how many."""
    chance = random.Random(operator_id)
    count = 0
    for station in stations:
        context = central_system.station_context(services, operator_id, station.station_id)
        register = Decimal(chance.randrange(100_000, 5_000_000))  # the meter's register in Wh
        plans = sorted((_plan(chance, station, tokens, now) for _ in range(per_evse)), key=lambda p: p.start)
        for plan in plans:
            _charge(services, context, station, plan, register)
            register += plan.energy_wh
            count += 1
    return count


def _plan(chance: random.Random, station: DemoStation, tokens: Sequence[str], now: datetime) -> _Plan:
    start = now - timedelta(days=chance.uniform(0.5, 30), minutes=chance.randrange(0, 60))
    start = start.replace(second=0, microsecond=0)
    fast = station.kilowatts >= 50
    charging = timedelta(minutes=chance.randrange(12, 45 if fast else 300))
    load = Decimal(chance.randrange(45, 95)) / 100  # share of the station's power actually drawn
    kilowatts = min(station.kilowatts, DC_POWER_KW) if fast else station.kilowatts
    energy_wh = (Decimal(kilowatts) * 1000 * Decimal(int(charging.total_seconds())) / 3600 * load).quantize(
        Decimal(1)
    )
    parking = timedelta(0) if fast else timedelta(minutes=chance.choice((0, 0, 5, 20, 45, 90)))
    return _Plan(start, charging, parking, energy_wh, chance.choice(tokens))


def _charge(
    services: Services,
    context: central_system.StationContext,
    station: DemoStation,
    plan: _Plan,
    register: Decimal,
) -> None:
    stop = plan.start + plan.charging + plan.parking
    series = _series(plan, register)
    transaction_id = f"demo-{services.ids.new_id()}" if station.speaks_201 else None
    # Each message is taken as the server would have taken it then: the charger's clock agrees with
    # the server's, so the plausibility checks judge a demo session like a live one.
    started = central_system.start_transaction(
        dataclasses.replace(services, clock=_At(plan.start)),
        context,
        evse_number=station.evse.ocpp_evse_id,
        id_token=plan.token,
        started_at=plan.start,
        transaction_id=transaction_id,
        start_key=None if station.speaks_201 else f"1|{plan.token}|{plan.start.isoformat()}|{register}",
        samples=series[:1],
        frames=[_frame(context, station, plan.start, "start", plan, register, transaction_id)],
    )
    assert started.session is not None  # a demo card is never a spent ad hoc payment
    number = transaction_id or str(started.transaction_number)
    central_system.end_transaction(
        dataclasses.replace(services, clock=_At(stop)),
        context,
        transaction_id=number,
        ended_at=stop,
        reason="EVDisconnected",
        samples=series[1:],
        frames=[_frame(context, station, stop, "stop", plan, register + plan.energy_wh, number)],
    )


@dataclass(frozen=True, slots=True)
class _At:
    """A clock that says one moment: the server's clock when a demo message arrived."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


def _series(plan: _Plan, register: Decimal) -> list[MeterSample]:
    """The energy register from start to stop: rising linearly while charging, flat while parked."""
    begin = MeterSample(plan.start, energy=register, context=ReadingContext.TRANSACTION_BEGIN)
    samples = [begin]
    seconds = Decimal(int(plan.charging.total_seconds()))
    power_w = (plan.energy_wh * 3600 / seconds).quantize(Decimal(1))
    moment = plan.start + METER_EVERY
    while moment < plan.start + plan.charging:
        done = Decimal(int((moment - plan.start).total_seconds())) / seconds
        energy = register + (plan.energy_wh * done).quantize(Decimal(1))
        samples.append(
            MeterSample(moment, energy=energy, power=power_w, context=ReadingContext.SAMPLE_PERIODIC)
        )
        moment += METER_EVERY
    charged = register + plan.energy_wh
    if plan.parking:
        samples.append(
            MeterSample(
                plan.start + plan.charging,
                energy=charged,
                power=Decimal(0),
                context=ReadingContext.SAMPLE_PERIODIC,
            )
        )
    samples.append(
        MeterSample(
            plan.start + plan.charging + plan.parking, energy=charged, context=ReadingContext.TRANSACTION_END
        )
    )
    return samples


def _frame(
    context: central_system.StationContext,
    station: DemoStation,
    at: datetime,
    kind: str,
    plan: _Plan,
    register: Decimal,
    transaction_id: str | None,
) -> Frame:
    """The frame the station would have sent (1.6 Start/StopTransaction, 2.0.1 TransactionEvent)."""
    stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if station.speaks_201:
        action = "TransactionEvent"
        payload: dict[str, object] = {
            "eventType": "Started" if kind == "start" else "Ended",
            "timestamp": stamp,
            "triggerReason": "Authorized" if kind == "start" else "EVCommunicationLost",
            "seqNo": 0 if kind == "start" else 1,
            "transactionInfo": {"transactionId": transaction_id},
            "evse": {"id": station.evse.ocpp_evse_id, "connectorId": 1},
            "idToken": {"idToken": plan.token, "type": "ISO14443"},
            "meterValue": [
                {"timestamp": stamp, "sampledValue": [{"value": int(register), "context": "Transaction.Begin"
                 if kind == "start" else "Transaction.End"}]}
            ],
        }  # fmt: skip
    elif kind == "start":
        action = "StartTransaction"
        payload = {"connectorId": 1, "idTag": plan.token, "meterStart": int(register), "timestamp": stamp}
    else:
        action = "StopTransaction"
        payload = {"transactionId": int(transaction_id or 0), "idTag": plan.token, "meterStop": int(register),
                   "timestamp": stamp, "reason": "EVDisconnected"}  # fmt: skip
    unique_id = f"demo-{kind}-{stamp}"
    return Frame(
        operator_id=context.station.operator_id,
        station_id=context.station.id,
        charge_point_id=context.station.charge_point_id,
        direction=Direction.IN,
        at=at,
        message_type=2,
        unique_id=unique_id,
        action=action,
        raw=json.dumps([2, unique_id, action, payload], separators=(",", ":")),
    )
