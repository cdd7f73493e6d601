"""What one station may send: a frame size, a nesting depth, a message rate; and the count of the rest.

Every check here runs on every frame, so each is a scan in C over the text (``str.count``,
``isascii``, a regular expression), never a walk in Python over the parsed message:

* **Size**: a frame over ``max_frame_bytes`` (UTF-8) is refused unread. Chargers send a few KB; the
  default, 64 KiB, leaves room for the largest messages evbill handles (a long MeterValues batch, a
  signed meter value).
* **Depth**: JSON nested deeper than ``MAX_DEPTH`` levels is refused before it is parsed: Python's
  parser would raise ``RecursionError`` on a few thousand levels, and every step after it (schema
  checks, key conversion) walks the message recursively. OCPP's deepest messages use about ten.
* **Rate**: a token bucket per station (``StationRateLimit``).

What is refused unread is counted (``RefusalTally``) per reason and minute, and stored as one row
per station, reason and minute (``RefusedFrames``) instead of frame by frame: once the minute is
over (at the station's next frame) or the station leaves.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from evbill.domain.charging.frames import RefusalReason, RefusedFrames

MAX_DEPTH = 32
MAX_MESSAGE_ID = 36  # OCPP-J: a message id is a string of at most 36 characters
WINDOW_SECONDS = 60
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_MESSAGE_ID = re.compile(r'\s*\[\s*\d\s*,\s*"([^"\\]{1,36})"')


def frame_bytes(raw: str) -> int:
    """The frame's size in UTF-8 bytes (its length when it is ASCII, as chargers' frames are)."""
    return len(raw) if raw.isascii() else len(raw.encode("utf-8", "surrogatepass"))


def too_deep(raw: str, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects more than ``limit`` levels deep.

    >>> too_deep('[2, "1", "Heartbeat", {}]'), too_deep("[" * 40 + "]" * 40), too_deep('["[[[["]', 2)
    (False, True, False)
    """
    if raw.count("[") + raw.count("{") <= limit:
        return False  # nearly every frame: too few brackets to nest that deep
    # Outside strings only: escaped backslashes and quotes go first, then every other piece between
    # quotes is inside a string. Linear scans all: no pattern that could backtrack on hostile text.
    outside = "".join(raw.replace("\\\\", "").replace('\\"', "").split('"')[0::2])
    skeleton = _NOT_BRACKETS.sub("", outside).replace("{", "[").replace("}", "]")
    for _ in range(limit):
        shallower = skeleton.replace("[]", "")  # each pass takes away exactly the innermost level
        if not shallower or shallower == skeleton:
            return False  # done, or not balanced: the parser will say what is wrong with it
        skeleton = shallower
    return True


def message_id_of(raw: str) -> str:
    """The message id at the head of a frame that is not read any further, or "-1" (OCPP's unknown)."""
    found = _MESSAGE_ID.match(raw, 0, 200)
    return found.group(1) if found else "-1"


class StationRateLimit:
    """A token bucket: ``per_second`` messages a second on average, bursts of ``burst``."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass(slots=True)
class _Count:
    window_start: datetime
    frames: int
    bytes: int
    first_at: datetime
    last_at: datetime


class RefusalTally:
    """One station's refused frames, counted per reason in windows of ``WINDOW_SECONDS``."""

    def __init__(self, operator_id: str, station_id: str, charge_point_id: str) -> None:
        self._who = (operator_id, station_id, charge_point_id)
        self._counts: dict[RefusalReason, _Count] = {}

    def add(self, reason: RefusalReason, size: int) -> RefusedFrames | None:
        """Count one refused frame; the count of the window it closed, if it closed one."""
        now = datetime.now(UTC)
        window = now.replace(second=now.second - now.second % WINDOW_SECONDS, microsecond=0)
        closed = None
        count = self._counts.get(reason)
        if count is not None and count.window_start != window:
            closed = self._summary(reason, self._counts.pop(reason))
            count = None
        if count is None:
            count = self._counts[reason] = _Count(window, 0, 0, now, now)
        count.frames += 1
        count.bytes += size
        count.last_at = now
        return closed

    @property
    def open(self) -> bool:
        """Whether a count waits for its window to end."""
        return bool(self._counts)

    def due(self) -> list[RefusedFrames]:
        """The counts whose window has ended (taken out of the tally)."""
        ended = datetime.now(UTC) - timedelta(seconds=WINDOW_SECONDS)
        reasons = [reason for reason, count in self._counts.items() if count.window_start <= ended]
        return [self._summary(reason, self._counts.pop(reason)) for reason in reasons]

    def drain(self) -> list[RefusedFrames]:
        """Every open window's count (the station has left)."""
        counts, self._counts = self._counts, {}
        return [self._summary(reason, count) for reason, count in counts.items()]

    def _summary(self, reason: RefusalReason, count: _Count) -> RefusedFrames:
        operator_id, station_id, charge_point_id = self._who
        return RefusedFrames(
            operator_id, station_id, charge_point_id, reason, count.window_start, WINDOW_SECONDS,
            count.frames, count.bytes, count.first_at, count.last_at,
        )  # fmt: skip
