"""A simulated charging station: its link to the CSMS, its connectors, and what the CSMS tells it.

Everything random about a station is drawn from generators seeded with ``"{seed}/{station id}..."``:
the charger kind, its meter unit, each connector's cars and each connector's faults (on a stream of
its own, so turning faults on or off leaves the cars and their energy as they were).
"""

from __future__ import annotations

import asyncio
import logging
import random
from decimal import Decimal
from functools import partial

from evbill.entrypoints.simulator.clock import SimulatedClock, format_timestamp
from evbill.entrypoints.simulator.config import SimulationConfig
from evbill.entrypoints.simulator.dialects import dialect_for
from evbill.entrypoints.simulator.link import Link, Outcome, Reply
from evbill.entrypoints.simulator.model import ConnectorState, EnergyUnit, Outgoing, ReportedCost
from evbill.entrypoints.simulator.physics import CHARGERS
from evbill.entrypoints.simulator.session import Connector
from evbill.entrypoints.simulator.summary import LiveCounters, StationTally

logger = logging.getLogger("evbill.simulator")
WRITABLE_SETTINGS = ("HeartbeatInterval", "MeterValueSampleInterval")


class SessionBudget:
    """How many more cars a station takes (None: as many as arrive before the run ends)."""

    def __init__(self, limit: int | None) -> None:
        self._left = limit

    def take(self) -> bool:
        if self._left is None:
            return True
        if self._left <= 0:
            return False
        self._left -= 1
        return True


class Station:
    def __init__(
        self,
        *,
        station_id: str,
        config: SimulationConfig,
        clock: SimulatedClock,
        stop: asyncio.Event,
        live: LiveCounters,
    ) -> None:
        self.station_id, self.config, self.clock, self.stop = station_id, config, clock, stop
        seed = f"{config.seed}/{station_id}"
        rng = random.Random(seed)
        kind = rng.choice(config.chargers)
        unit = rng.choice(tuple(EnergyUnit))
        self.charger = CHARGERS[kind]
        self.dialect = dialect_for(config.ocpp_version, unit=unit)
        self.tally = StationTally(station_id, live, charger=kind.value, energy_unit=unit.value)
        self.budget = SessionBudget(config.sessions_per_station)
        self.settings = {
            "HeartbeatInterval": "300",
            "MeterValueSampleInterval": str(config.meter_interval),
            "NumberOfConnectors": str(config.connectors),
        }
        self.link = Link(
            station_id=station_id,
            model=f"SIM-{kind.value.upper()}",
            config=config,
            dialect=self.dialect,
            clock=clock,
            sink=self,
            tally=self.tally,
            rng=random.Random(f"{seed}/link"),
            on_reconnect=self._announce,
        )
        self.connectors = [
            Connector(
                station=self,
                connector_id=number,
                rng=random.Random(f"{seed}/{number}"),
                fault_rng=random.Random(f"{seed}/{number}/faults"),
            )
            for number in range(1, config.connectors + 1)
        ]
        self._states: dict[int, tuple[ConnectorState, int]] = {}
        self._requested: dict[int, str] = {}  # the status last handed to the link, per connector
        self._confirmed: dict[int, str] = {}  # the status the CSMS last acknowledged
        self._background: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        error = await self.link.open(self.stop)
        if error is not None:
            self.tally.connection_error = error
            logger.warning("%s: %s", self.station_id, error)
            return
        self.settings["HeartbeatInterval"] = str(self.link.heartbeat_interval)
        self._started()
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await asyncio.gather(*(connector.run() for connector in self.connectors))
            await self.link.drain(self.config.drain_timeout)
            await asyncio.sleep(self.config.linger)
        finally:
            heartbeat.cancel()
            for task in self._background:
                task.cancel()
            await self.link.close()

    @property
    def meter_interval(self) -> int:
        """Simulated seconds between meter values (the CSMS may change it)."""
        return int(self.settings["MeterValueSampleInterval"])

    def _started(self) -> None:
        now = self.clock.now()
        whole = self.dialect.station_status(format_timestamp(self.clock.moment(now)))
        if whole is not None:
            self.link.submit(Outgoing(build=lambda: whole, buffered=False))
        for connector in self.connectors:
            self.set_status(connector.connector_id, ConnectorState.AVAILABLE, now)

    async def _heartbeat(self) -> None:
        while True:
            # Never more than once a real second, however fast simulated time runs.
            await asyncio.sleep(max(self.clock.real_seconds(self.link.heartbeat_interval), 1.0))
            if self.link.online:
                self.link.submit(Outgoing(build=self.dialect.heartbeat, buffered=False))

    def schedule_outage(self, *, at: int, duration: int) -> None:
        task = asyncio.create_task(self._outage(at, duration))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _outage(self, at: int, duration: int) -> None:
        if await self.clock.sleep_until(at, self.stop):
            self.link.go_offline(duration)

    # --- connector status ------------------------------------------------------------------------

    def set_status(self, connector_id: int, state: ConnectorState, at: int) -> None:
        self._states[connector_id] = (state, at)
        self._notify(connector_id, at)

    def _notify(self, connector_id: int, at: int) -> None:
        state, _ = self._states[connector_id]
        visible = self.dialect.visible_status(state)
        if not self.link.online or self._requested.get(connector_id) == visible:
            return
        self._requested[connector_id] = visible
        payload = self.dialect.status(connector_id, state, format_timestamp(self.clock.moment(at)))
        future = self.link.submit(Outgoing(build=lambda: payload, buffered=False))
        future.add_done_callback(partial(self._acknowledged, connector_id, visible))

    def _acknowledged(self, connector_id: int, visible: str, future: asyncio.Future[Reply]) -> None:
        if not future.cancelled() and future.result().outcome is Outcome.DELIVERED:
            self._confirmed[connector_id] = visible

    def _announce(self) -> None:
        """Back online: tell the CSMS every status that changed while it could not hear."""
        self._requested = dict(self._confirmed)
        now = self.clock.now()
        for connector_id in self._states:
            self._notify(connector_id, now)

    # --- what the CSMS tells the station (the CsmsSink) --------------------------------------------

    def record_cost(self, *, transaction: str, amount: Decimal, final: bool) -> None:
        self.tally.cost_reported(ReportedCost(transaction=transaction, amount=amount, final=final))
        kind = "final" if final else "running"
        logger.info("%s: transaction %s %s cost %s", self.station_id, transaction, kind, amount)

    def record_display(self, text: str) -> None:
        logger.info("%s: display shows %r", self.station_id, text)

    def record_received(self, action: str) -> None:
        self.tally.messages_received += 1

    def configuration(self) -> dict[str, str]:
        return dict(self.settings)

    def configure(self, key: str, value: str) -> bool:
        if key not in WRITABLE_SETTINGS or not value.isdigit() or int(value) <= 0:
            return False
        self.settings[key] = value
        if key == "HeartbeatInterval":
            self.link.heartbeat_interval = int(value)
        return True
