"""Idempotency keys: a POST sent again with the same ``Idempotency-Key`` gets the first answer.

A client that does not know whether its request arrived (a timeout, a dropped connection) sends it
again with the same key. The first request with a key reserves it; its answer (status, headers,
body) is kept for ``KEPT_FOR``; the same key with the same request (method, path, query and body:
its ``fingerprint``) replays that answer without doing anything again, and the same key with another
request is refused. Keys are per operator. A reservation whose request never finished (the process
died) is given up after ``ABANDONED_AFTER``.

    >>> decide(None, "abc", NOW)
    <Decision.RESERVE: 'reserve'>
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

KEPT_FOR = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 255
NOW = datetime(2026, 12, 3, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    operator_id: str
    key: str
    fingerprint: str  # SHA-256 of method, path, query and body
    status: int | None  # None while the first request runs
    headers: str | None  # the answer's headers, as a JSON list of [name, value]
    body: str | None  # the answer's body, base64
    created_at: datetime
    expires_at: datetime


class Decision(enum.StrEnum):
    RESERVE = "reserve"  # no usable record: this request runs and its answer is kept
    REPLAY = "replay"  # the same request finished before: answer as it was answered
    IN_PROGRESS = "in_progress"  # the same request is running now: 409, try again shortly
    MISMATCH = "mismatch"  # the key was used for another request: 422


def decide(stored: IdempotentRequest | None, fingerprint: str, now: datetime) -> Decision:
    if stored is None or stored.expires_at <= now:
        return Decision.RESERVE
    if stored.fingerprint != fingerprint:
        return Decision.MISMATCH
    if stored.status is None:
        return Decision.RESERVE if stored.created_at + ABANDONED_AFTER <= now else Decision.IN_PROGRESS
    return Decision.REPLAY
