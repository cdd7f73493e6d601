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
        # The random bits come from the OS 4 KiB at a time (the same CSPRNG bytes, read in bulk):
        # one read per id was a system call per id, a third of an id's cost in a bulk import.
        self._random = b""
        self._random_at = 0

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
                self._sequence = int.from_bytes(self._random_bytes(2), "big") & 0x3FF  # room to count up
            sequence = self._sequence
            random_tail = int.from_bytes(self._random_bytes(8), "big") & ((1 << 62) - 1)
        value = (milliseconds & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76  # version 7
        value |= (sequence & 0xFFF) << 64  # rand_a: a counter within the millisecond
        value |= 0b10 << 62  # RFC 9562 variant
        value |= random_tail
        # uuid.UUID(int=value)'s text, written directly (building the UUID object cost as much again)
        digits = f"{value:032x}"
        return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"

    def _random_bytes(self, count: int) -> bytes:
        """The next ``count`` random bytes (under the lock): each byte is handed out once."""
        if self._random_at + count > len(self._random):
            self._random, self._random_at = os.urandom(4096), 0
        start = self._random_at
        self._random_at = start + count
        return self._random[start : start + count]
