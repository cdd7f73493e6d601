"""A charger simulator: many OCPP 1.6 or 2.0.1 stations charging cars against a CSMS, for demos,
tests and load.

    from evbill.entrypoints.simulator import FaultRates, SimulationConfig, run_simulation, station_ids

    summary = await run_simulation(
        SimulationConfig(
            url="ws://127.0.0.1:8000/ocpp",
            station_ids=station_ids(10),
            speed=600,
            duration=30,
            seed=7,
            faults=FaultRates.realistic(),
        )
    )

The command line is ``evbill simulate`` (``command``). Modules: ``physics`` (power curves, meter,
session plans: pure), ``model`` (protocol-neutral words), ``ocpp16``/``ocpp201`` (the dialects),
``link`` (one websocket, ordered and buffered), ``session`` (a connector), ``station``, ``runner``.

The names below load on first use, so that the CLI does not import websockets and ocpp to start.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "run_simulation": "runner",
    "SimulationConfig": "config",
    "FaultRates": "config",
    "OcppVersion": "config",
    "ConfigError": "config",
    "station_ids": "config",
    "ChargerKind": "physics",
    "LiveCounters": "summary",
    "Summary": "summary",
    "StationSummary": "summary",
    "SessionRecord": "summary",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
