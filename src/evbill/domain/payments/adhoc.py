"""Paying at the charger without an account (EU AFIR ad hoc), and how a session's money is bounded.

A driver opens an EVSE's payment link, sees the full price, and pays with a card token: evbill holds
an amount on the card (the *hold*, configurable per operator or location), asks the station to start
over OCPP, and links the session that starts to the hold. At the stop it captures the final price
(never more than the hold; the rest is released) or, for a session that cost nothing, releases it.

An ``AdhocStart`` is the record of that journey; its ``status`` moves only forwards:

    AUTHORISING -> REQUIRES_ACTION (3-D Secure) -> STARTING -> CHARGING -> FINISHED
         \\________________\\______________________\\___________\\-> FAILED (hold released)

The station identifies the session by the ``id_tag`` evbill gave it in the remote start: 20
characters at most (OCPP 1.6 ``idTag`` is CiString20), made from the start's own id.

While a session runs on money that is limited (the hold, or a prepaid wallet's available balance),
``must_stop`` says when to stop it remotely: before the running cost passes the limit, leaving room
for twice what the last push interval added, and never less than a tenth of the limit (the first
push has no pace yet, and a charger's meter values may come late):

    >>> must_stop(limit=5000, shown=4200, previous=3800)   # 4200 + 2 x 400 = 5000: stop now
    True
    >>> must_stop(limit=5000, shown=4100, previous=3800)   # 4100 + 2 x 300 = 4700: not yet
    False
    >>> must_stop(limit=5000, shown=4500, previous=None)   # within a tenth of the limit: stop
    True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class AdhocStatus(enum.StrEnum):
    AUTHORISING = "authorising"
    REQUIRES_ACTION = "requires_action"  # the card needs 3-D Secure: confirm, then the station starts
    STARTING = "starting"  # held; the station was asked to start
    CHARGING = "charging"  # the session started and is linked
    FINISHED = "finished"  # captured (or released, when it cost nothing)
    FAILED = "failed"  # declined, or the station did not start: the hold (if any) is released


OPEN = frozenset(
    {AdhocStatus.AUTHORISING, AdhocStatus.REQUIRES_ACTION, AdhocStatus.STARTING, AdhocStatus.CHARGING}
)
# What reserves the EVSE: a start placing its hold (seconds; at most ``authorising_timeout``), one
# whose hold is authorised (waiting for its station, charging). One waiting for 3-D Secure does not:
# anyone could otherwise block an EVSE with an unconfirmed card; it takes the EVSE once confirmed,
# if free.
RESERVING = frozenset({AdhocStatus.AUTHORISING, AdhocStatus.STARTING, AdhocStatus.CHARGING})


class CommandAnswer(enum.StrEnum):
    """What a station said to a remote start or stop (or why it said nothing)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    TIMEOUT = "Timeout"  # connected, but no answer in time
    NOT_CONNECTED = "NotConnected"


@dataclass(frozen=True, slots=True)
class AdhocStart:
    id: str
    operator_id: str
    evse_id: str
    station_id: str
    idempotency_key: str  # the driver's request: the same key again is the same start
    id_tag: str
    status: AdhocStatus
    amount: int  # the hold asked for, minor units
    currency: str
    created_at: datetime
    updated_at: datetime
    payment_id: str | None = None
    session_id: str | None = None
    deadline: datetime | None = None  # STARTING: the station must start by then, or the hold goes
    failure: str | None = None
    captured: int | None = None  # FINISHED: what was captured (0: released)
    request_hash: str | None = None  # SHA-256 of the request's body: the same key with another is refused

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


ADHOC_TAG_PREFIX = "AH"


def id_tag_for(start_id: str) -> str:
    """The idTag of a start: ``AH`` and the last 18 hex digits of its id (the random part of a UUIDv7)."""
    return ADHOC_TAG_PREFIX + start_id.replace("-", "")[-18:].upper()


def capture_amount(final: int, held: int) -> int:
    """What to capture of a hold for a session that cost ``final``: never more than the hold."""
    return max(min(final, held), 0)


def must_stop(*, limit: int, shown: int, previous: int | None) -> bool:
    """Whether a session whose running cost is ``shown`` (``previous`` at the last push) must stop now,
    so that its cost does not pass ``limit`` before the next push."""
    pace = max(shown - previous, 0) if previous is not None else 0
    return shown + max(2 * pace, limit // 10) >= limit
