"""Run a whole simulation: every station as one asyncio task, until the duration or the session
budget runs out; then active sessions are stopped, queues drained, connections closed.

    summary = await run_simulation(
        SimulationConfig(url="ws://127.0.0.1:8000/ocpp", station_ids=("CP1", "CP2"), speed=600)
    )
    summary.total("sessions_finished"), summary.energy_wh, summary.final_cost_total
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from evbill.entrypoints.simulator.clock import SimulatedClock
from evbill.entrypoints.simulator.config import SimulationConfig
from evbill.entrypoints.simulator.station import Station
from evbill.entrypoints.simulator.summary import LiveCounters, Summary

WIND_DOWN_MARGIN = 5.0  # real seconds past drain and linger before a station is given up on


async def run_simulation(config: SimulationConfig, *, live: LiveCounters | None = None) -> Summary:
    """Simulate ``config``'s stations against its CSMS and say what happened.

    ``live`` is updated as the run goes (for a progress display). Stations that cannot connect are
    reported in ``Summary.unreachable`` with the reason; they do not stop the others.
    """
    live = live if live is not None else LiveCounters()
    live.stations_total = len(config.station_ids)
    start = config.start or datetime.now(UTC).replace(microsecond=0)
    clock = SimulatedClock(start=start, speed=config.speed)
    stop = asyncio.Event()
    stations = [
        Station(station_id=station_id, config=config, clock=clock, stop=stop, live=live)
        for station_id in config.station_ids
    ]
    began = time.monotonic()
    tasks = [asyncio.create_task(station.run(), name=station.station_id) for station in stations]
    try:
        _, running = await asyncio.wait(tasks, timeout=config.duration)
        simulated_seconds = clock.now()
        stop.set()
        if running:
            grace = config.drain_timeout + config.linger + WIND_DOWN_MARGIN
            _, stuck = await asyncio.wait(running, timeout=grace)
            for task in stuck:
                task.cancel()
    finally:
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for station, outcome in zip(stations, outcomes, strict=True):
        if isinstance(outcome, Exception):  # a bug: say so in the summary rather than lose the run
            station.tally.error()
            station.tally.connection_error = station.tally.connection_error or (
                f"internal error: {type(outcome).__name__}: {outcome}"
            )
    return Summary(
        ocpp_version=config.ocpp_version.value,
        url=config.url,
        seed=config.seed,
        speed=config.speed,
        simulated_start=start,
        simulated_seconds=simulated_seconds,
        wall_seconds=time.monotonic() - began,
        stations=tuple(station.tally.freeze() for station in stations),
    )
