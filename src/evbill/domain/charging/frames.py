"""OCPP frames as evidence: every frame in and out, verbatim, with the station, time and direction.

Frames are stored append-only in the same transaction as what they carry, so a frame acknowledged to
a charger is always on record, and a dispute can replay exactly what the charger said.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Direction(enum.StrEnum):
    IN = "in"  # from the charger
    OUT = "out"  # to the charger


@dataclass(frozen=True, slots=True)
class Frame:
    operator_id: str
    station_id: str
    charge_point_id: str
    direction: Direction
    at: datetime
    message_type: int | None  # 2 call, 3 result, 4 error; None when the frame could not be read
    unique_id: str | None
    action: str | None
    raw: str
