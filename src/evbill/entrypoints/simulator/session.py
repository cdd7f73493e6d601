"""One connector's life: cars arrive (Poisson), authorize, charge along their power curve, idle, leave.

A session, in simulated time, on a 1.6 station with a 60 s meter interval:

    16:20:00  car plugs in                   StatusNotification Preparing
    16:20:17  card presented                 Authorize, StartTransaction, StatusNotification Charging
    16:21:17  every 60 s while plugged in    MeterValues (register, power, SoC on DC)
    17:02:17  battery at its target          StatusNotification SuspendedEV, MeterValues at 0 W
    17:20:17  driver unplugs                 StopTransaction (EVDisconnected), StatusNotification Available

Every message carries the scheduled simulated time, so two runs with one seed send the same data.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Protocol

from evbill.entrypoints.simulator.clock import SimulatedClock
from evbill.entrypoints.simulator.config import SimulationConfig
from evbill.entrypoints.simulator.dialect import Dialect
from evbill.entrypoints.simulator.link import Link, Outcome
from evbill.entrypoints.simulator.model import (
    ConnectorState,
    CsmsSink,
    Outgoing,
    Reading,
    ReadingContext,
    StopReason,
    Transaction,
)
from evbill.entrypoints.simulator.physics import (
    Charger,
    ChargeStep,
    EnergyMeter,
    FaultPlan,
    SessionPlan,
    charge,
    next_arrival,
    plan_faults,
    plan_session,
    power_noise,
)
from evbill.entrypoints.simulator.summary import StationTally


class Budget(Protocol):
    def take(self) -> bool: ...


class Host(CsmsSink, Protocol):
    """What a connector needs of the station it belongs to (``station.Station`` is one)."""

    config: SimulationConfig
    clock: SimulatedClock
    stop: asyncio.Event
    budget: Budget
    charger: Charger
    dialect: Dialect
    link: Link
    tally: StationTally

    @property
    def meter_interval(self) -> int: ...

    def schedule_outage(self, *, at: int, duration: int) -> None: ...

    def set_status(self, connector_id: int, state: ConnectorState, at: int) -> None: ...


class Connector:
    def __init__(self, *, station: Host, connector_id: int, rng: random.Random, fault_rng: random.Random):
        self.station = station
        self.connector_id = connector_id
        self.meter = EnergyMeter.installed(rng)
        self._rng = rng
        self._fault_rng = fault_rng
        self._config = station.config
        self._clock = station.clock
        self._stop = station.stop

    async def run(self) -> None:
        # Arrivals follow the schedule, not the wall clock, so a seed always gives the same sessions;
        # a station that lags (a slow CSMS) simply catches up, its timestamps unchanged.
        free_at = 0
        while self.station.budget.take():
            arrival = free_at + next_arrival(self._rng, self._config.arrivals_per_hour)
            if not await self._clock.sleep_until(arrival, self._stop):
                return
            free_at = await self._session(arrival)

    async def _session(self, arrival: int) -> int:
        """One car from plug-in to unplug; returns when the connector is free again."""
        plan = plan_session(self._rng, self.station.charger, self._config.tokens)
        faults = plan_faults(
            self._fault_rng,
            offline=self._config.faults.offline,
            faulted=self._config.faults.faulted,
            meter_interval=self.station.meter_interval,
        )
        self._status(ConnectorState.PREPARING, arrival)
        tapped = arrival + plan.authorize_after
        if not await self._clock.sleep_until(tapped, self._stop):
            return self._free(self._clock.now())
        if not await self._authorize(plan.token):
            self.station.tally.sessions_rejected += 1
            return await self._leave(tapped, None)
        if self._stop.is_set():  # the run ended while the CSMS was deciding
            return self._free(self._clock.now())
        transaction = Transaction(
            connector_id=self.connector_id,
            local_id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            token=plan.token,
            begin=self._reading(tapped, power_w=0, soc=plan.start_soc, context=ReadingContext.BEGIN),
        )
        self.station.tally.session_started()
        self._send(self.station.dialect.start(transaction, offline=not self._online, sink=self.station))
        self._status(ConnectorState.CHARGING, tapped)
        if faults.outage_at is not None:
            self.station.schedule_outage(at=tapped + faults.outage_at, duration=faults.outage_for)
        ended, reason, soc = await self._charge(transaction, plan, faults, tapped)
        if reason is StopReason.FAULT:
            self._status(ConnectorState.FAULTED, ended)
        elif reason is not StopReason.EV_DISCONNECTED:
            self._status(ConnectorState.FINISHING, ended)
        end = self._reading(ended, power_w=0, soc=soc, context=ReadingContext.END)
        self._send(
            self.station.dialect.end(
                transaction, end, reason=reason, offline=not self._online, sink=self.station
            )
        )
        self.station.tally.session_finished(transaction, end, reason)
        if reason is StopReason.EV_DISCONNECTED:
            return self._free(ended)
        return await self._leave(ended, ConnectorState.FAULTED if reason is StopReason.FAULT else None)

    async def _charge(
        self, transaction: Transaction, plan: SessionPlan, faults: FaultPlan, started: int
    ) -> tuple[int, StopReason, float]:
        """Meter values every interval until the car leaves, faults, or the run ends."""
        state, soc, now = ConnectorState.CHARGING, plan.start_soc, started
        departure = started + plan.max_dwell
        leaving = StopReason.LOCAL if plan.stop_by_card else StopReason.EV_DISCONNECTED
        fault_at = started + faults.fault_at if faults.fault_at is not None else None
        while True:
            end_at, reason = departure, leaving
            if fault_at is not None and fault_at < end_at:
                end_at, reason = fault_at, StopReason.FAULT
            sample_at = min(now + self.station.meter_interval, end_at)
            in_time = await self._clock.sleep_until(sample_at, self._stop)
            if not in_time:  # the run is ending: the driver is asked to stop now
                sample_at, reason = min(max(now, self._clock.now()), sample_at), StopReason.LOCAL
            step = self._step(state, plan, soc, sample_at - now)
            self.meter.add(step.energy_ws)
            if state is ConnectorState.CHARGING:
                transaction.charging_seconds += sample_at - now
            soc, now = step.soc, sample_at
            if not in_time or now == end_at:
                return now, reason, soc
            if transaction.rejected:
                return now, StopReason.DEAUTHORIZED, soc
            changed = state is ConnectorState.CHARGING and soc >= plan.target_soc
            if changed:
                state = ConnectorState.SUSPENDED_EV
                departure = min(departure, now + plan.idle_after_full)
                self._status(state, now)
            reading = self._reading(now, power_w=step.power_w, soc=soc, context=ReadingContext.PERIODIC)
            self._send(
                self.station.dialect.update(
                    transaction,
                    reading,
                    state=state,
                    changed=changed,
                    offline=not self._online,
                    sink=self.station,
                )
            )

    def _step(self, state: ConnectorState, plan: SessionPlan, soc: float, seconds: int) -> ChargeStep:
        if state is not ConnectorState.CHARGING or seconds <= 0:
            return ChargeStep(energy_ws=0, soc=soc, power_w=0)
        return charge(
            self.station.charger,
            plan.vehicle,
            soc=soc,
            target_soc=plan.target_soc,
            seconds=seconds,
            noise=power_noise(self._rng),
        )

    async def _authorize(self, token: str) -> bool:
        if not self._online:  # the station's local authorization list accepts its known cards
            return True
        reply = await self.station.link.submit(
            Outgoing(build=lambda: self.station.dialect.authorize(token), buffered=False)
        )
        if reply.outcome is Outcome.DELIVERED:
            return self.station.dialect.authorized(reply.response)
        return reply.outcome is Outcome.DROPPED  # the connection went meanwhile: authorized locally

    async def _leave(self, since: int, state: ConnectorState | None) -> int:
        """The driver unplugs (or the fault is repaired) a little later."""
        if state is ConnectorState.FAULTED:
            free_at = since + self._rng.randint(5, 30) * 60
        else:
            if state is not None:
                self._status(state, since)
            free_at = since + self._rng.randint(20, 180)
        if not await self._clock.sleep_until(free_at, self._stop):
            free_at = max(since, self._clock.now())
        return self._free(free_at)

    def _free(self, at: int) -> int:
        self._status(ConnectorState.AVAILABLE, at)
        return at

    def _reading(self, at: int, *, power_w: int, soc: float, context: ReadingContext) -> Reading:
        direct_current = self.station.charger.direct_current
        return Reading(
            at=self._clock.moment(at),
            register_wh=self.meter.register_wh,
            power_w=power_w,
            soc_percent=min(100, round(soc * 100)) if direct_current else None,
            context=context,
        )

    @property
    def _online(self) -> bool:
        return self.station.link.online

    def _status(self, state: ConnectorState, at: int) -> None:
        self.station.set_status(self.connector_id, state, at)

    def _send(self, outgoing: Outgoing) -> None:
        self.station.link.submit(outgoing)
