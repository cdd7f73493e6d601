"""Plans: the ways an operator sells charging, versioned like tariffs.

| kind         | periodic fee | what sessions cost                                                  |
|--------------|--------------|---------------------------------------------------------------------|
| PAY_PER_USE  | none         | the public tariff of the EVSE                                       |
| SUBSCRIPTION | yes          | the plan's tariff per connector class, after included kWh/minutes   |
| FLAT_RATE    | yes          | nothing up to the fair-use cap (kWh per cycle), then the public price |
| MEMBERSHIP   | optional     | the plan's member tariff per connector class                        |
| PER_MINUTE   | optional     | the plan's per-minute tariff per connector class                    |

Connector classes price charging speed: AC, DC (below 150 kW) and HPC (high-power DC, 150 kW and
more). A session is billed under the plan version in force when it started.

    >>> connector_class(is_dc=True, max_power_w=150_000), connector_class(is_dc=False, max_power_w=22_000)
    (<ConnectorClass.HPC: 'HPC'>, <ConnectorClass.AC: 'AC'>)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

HPC_THRESHOLD_W = 150_000


class PlanKind(enum.StrEnum):
    PAY_PER_USE = "PAY_PER_USE"
    SUBSCRIPTION = "SUBSCRIPTION"
    FLAT_RATE = "FLAT_RATE"
    MEMBERSHIP = "MEMBERSHIP"
    PER_MINUTE = "PER_MINUTE"


class ConnectorClass(enum.StrEnum):
    AC = "AC"
    DC = "DC"
    HPC = "HPC"


class BillingCycle(enum.StrEnum):
    PER_SESSION = "PER_SESSION"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


def connector_class(*, is_dc: bool, max_power_w: int | None) -> ConnectorClass:
    if not is_dc:
        return ConnectorClass.AC
    if max_power_w is not None and max_power_w >= HPC_THRESHOLD_W:
        return ConnectorClass.HPC
    return ConnectorClass.DC


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    operator_id: str
    name: str
    kind: PlanKind
    currency: str
    current_version: int
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """The terms of a plan from ``effective_from`` on. Amounts exclude VAT; ``fee_vat`` None = no VAT."""

    id: str
    operator_id: str
    plan_id: str
    number: int
    effective_from: datetime
    fee: Decimal  # per fee cycle
    fee_vat: Decimal | None
    fee_cycle: BillingCycle  # WEEKLY or MONTHLY (PER_SESSION: no periodic fee)
    included_kwh: Decimal | None = None  # SUBSCRIPTION allowance per cycle
    included_minutes: int | None = None  # SUBSCRIPTION allowance of charging time per cycle
    fair_use_kwh: Decimal | None = None  # FLAT_RATE cap per cycle
    tariffs: Mapping[ConnectorClass, str] = field(default_factory=dict)  # class -> tariff id
    created_at: datetime | None = None
