"""The system's clock and identifiers, behind the application's Clock and IdGenerator ports.

Ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds then 74 random bits. They sort by creation
(so keyset pagination on the id lists records in the order they were made) and cannot be guessed
(so an id seen in one tenant says nothing about another's).

    >>> ids = Uuid7Generator()
    >>> first, second = ids.new_id(), ids.new_id()
    >>> len(first), first[14], first < second
    (36, '7', True)
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Uuid7Generator:
    """UUIDv7 with a monotonic counter in the random bits, so ids made in one millisecond still sort."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._sequence = 0

    def new_id(self) -> str:
        with self._lock:
            milliseconds = time.time_ns() // 1_000_000
            if milliseconds <= self._last_ms:
                milliseconds = self._last_ms
                self._sequence += 1
                if self._sequence > 0xFFF:  # counter full: borrow the next millisecond
                    self._last_ms = milliseconds = milliseconds + 1
                    self._sequence = 0
            else:
                self._last_ms = milliseconds
                self._sequence = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
            sequence = self._sequence
        random_tail = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (milliseconds & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76  # version 7
        value |= (sequence & 0xFFF) << 64  # rand_a: a counter within the millisecond
        value |= 0b10 << 62  # RFC 9562 variant
        value |= random_tail
        return str(uuid.UUID(int=value))
