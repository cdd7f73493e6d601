"""OCPP frames as evidence: every frame in and out, verbatim, with the station, time and direction.

Frames are stored append-only in the same transaction as what they carry, so a frame acknowledged to
a charger is always on record, and a dispute can replay exactly what the charger said. A frame about
a charging session (its start, its meter values, its stop, the costs shown for it) names the session:
those frames are the session's evidence and outlive the retention period of the others.

What one station sends can never stop another's frames from being stored: a frame or sample that
cannot be stored is ``Unstorable``, found before it joins the frames of other stations, and refused
to its own sender alone.

A station that sends more than it may (too fast, too large) is answered, but what it sent is not kept
frame by frame: ``RefusedFrames`` counts it per station, reason and minute.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from evbill.domain.errors import InvalidInput
from evbill.domain.metering.cleaning import MeterSample


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
    unique_id: str | None  # the OCPP message id; None when it is not one (not a string of 1 to 36)
    action: str | None
    raw: str
    session_id: str | None = None  # the charging session the frame is about, if any


class Unstorable(InvalidInput):
    """A value a charger sent that the journal cannot store (too many digits, out of range...)."""


class RefusalReason(enum.StrEnum):
    RATE_LIMIT = "rate_limit"  # over the station's messages per second
    TOO_LARGE = "too_large"  # a frame over the size limit


@dataclass(frozen=True, slots=True)
class RefusedFrames:
    """How many frames (and bytes) a station sent in one window that were refused unread."""

    operator_id: str
    station_id: str
    charge_point_id: str
    reason: RefusalReason
    window_start: datetime
    window_seconds: int
    frames: int
    bytes: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """A frame with its place in the log (the reference a meter sample and a dispute give)."""

    id: int
    frame: Frame


@dataclass(frozen=True, slots=True)
class StoredSample:
    """A meter sample as stored for its session, with the frame that carried it (None: unknown)."""

    id: int
    frame_id: int | None
    sample: MeterSample
