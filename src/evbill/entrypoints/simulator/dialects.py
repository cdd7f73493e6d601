"""The dialect a simulated station speaks, by OCPP version: 1.6, 2.0.1 or 2.1.

Kept apart from ``dialect`` (the interface), which the version modules import: choosing among them
here keeps the imports one way.
"""

from __future__ import annotations

from evbill.entrypoints.simulator.config import OcppVersion
from evbill.entrypoints.simulator.dialect import Dialect
from evbill.entrypoints.simulator.model import EnergyUnit
from evbill.entrypoints.simulator.ocpp16 import Ocpp16
from evbill.entrypoints.simulator.ocpp201 import Ocpp21, Ocpp201


def dialect_for(version: OcppVersion, *, unit: EnergyUnit) -> Dialect:
    if version is OcppVersion.V16:
        return Ocpp16(unit=unit)
    return Ocpp21(unit=unit) if version is OcppVersion.V21 else Ocpp201(unit=unit)
