"""Retention of raw OCPP frames: kept for the legal period, then archived and/or purged, on command.

Every frame a charger sends is kept verbatim (``ocpp_frames``, append-only). Most are routine
(heartbeats, status notifications, boots) and are worth keeping only for a while; the frames about a
charging session (its start, meter values, stop and the costs shown) are that session's evidence and
are kept as long as the session. ``retain_frames`` walks the log in order of its ids, in chunks, and
for each chunk of frames older than the cutoff that belong to no session:

1. hands them to ``archive`` (if given): the command writes them to a compressed JSON-lines file,
   flushed before anything is deleted, so a crash can only archive a frame twice, never lose it;
2. deletes them (if ``purge``), in a transaction of its own that opens and closes a purge run. The
   database's append-only trigger lets a DELETE through only while such a run is open in the same
   transaction, and only for a frame older than the run's cutoff that belongs to no session: any
   other DELETE, and every UPDATE, is still refused.

The walk stops at the first chunk whose frames are all newer than the cutoff (ids grow with time).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from evbill.application.records import Services
from evbill.domain.charging.frames import StoredFrame
from evbill.domain.errors import InvalidInput, Problem

CHUNK = 5000  # ids per step: a bounded read and a short delete transaction

Archive = Callable[[Sequence[StoredFrame]], None]


@dataclass(frozen=True, slots=True)
class Retained:
    cutoff: datetime
    old_frames: int  # older than the cutoff and of no session: archived and/or purged, or would be
    archived: int
    purged: int


def retain_frames(
    services: Services,
    *,
    older_than: timedelta,
    archive: Archive | None,
    purge: bool,
    archive_name: str | None = None,
) -> Retained:
    """Archive and/or purge the frames older than ``older_than`` that belong to no session."""
    if older_than < timedelta(days=1):
        raise InvalidInput("invalid retention", (Problem("older_than", "must be at least one day"),))
    cutoff = services.clock.now() - older_than
    with services.uow(read_only=True) as uow:
        first, last = uow.frame_retention.id_range()
    old = archived = purged = 0
    after = first - 1
    while after < last:
        with services.uow(read_only=True) as uow:
            chunk = uow.frame_retention.old_frames(after=after, upto=after + CHUNK, cutoff=cutoff)
        if chunk is None:
            break  # every frame from here on is newer than the cutoff
        after += CHUNK
        if not chunk:
            continue
        old += len(chunk)
        if archive is not None:
            archive(chunk)
            archived += len(chunk)
        if purge:
            with services.uow() as uow:
                purged += uow.frame_retention.purge(
                    [frame.id for frame in chunk],
                    cutoff=cutoff,
                    at=services.clock.now(),
                    archive=archive_name,
                )
                uow.commit()
    return Retained(cutoff, old, archived, purged)
