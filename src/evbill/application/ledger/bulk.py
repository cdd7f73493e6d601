"""Posting entries in bulk: an import of many entries, batch after batch, each batch a transaction.

``post_in_bulk(svc, entries)`` takes the entries from the caller's iterable (each built and checked
with ``make_entry``, usually lazily by a generator) in batches of ``batch_size`` and appends each
batch with ``append_many`` (COPY on PostgreSQL) in a transaction of its own. The appending runs on
a writer thread: while batch N is written and committed, this thread takes batch N+1 from the
iterable, so building the entries overlaps the database's work.

    >>> post_in_bulk(svc, (make_entry(...) for row in rows))  # doctest: +SKIP
    BulkPosting(entries=1000000, batches=20)

A batch that fails (the database refuses it) rolls back alone and stops the import with its error;
the batches before it stay committed, as a run of separate imports would. A failure while building
(``make_entry`` refusing an entry) stops it the same way, after the batches already handed over.

While it runs, the cyclic garbage collector is paused (``collector_paused``): a batch is hundreds of
thousands of small objects without a reference cycle, which reference counting frees as soon as the
batch is written, and the collector rescanning them (and everything else alive) while the next batch
was built doubled the building's CPU time. Collection resumes when the import ends.
"""

from __future__ import annotations

import gc
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from evbill.application.records import Services
from evbill.domain.ledger.entries import LedgerEntry

BATCH_SIZE = 50_000

_pauses = 0  # collector_paused blocks running now
_resume = True  # whether the collector was on when the first of them began
_pauses_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class BulkPosting:
    entries: int
    batches: int


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off inside (reference counting still frees everything acyclic).

    Nested and concurrent pauses count: collection resumes when the last one ends, and only if it
    was on before the first began."""
    global _pauses, _resume
    with _pauses_lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()


def post_in_bulk(
    svc: Services, entries: Iterable[LedgerEntry], *, batch_size: int = BATCH_SIZE
) -> BulkPosting:
    """Append ``entries`` in transactions of ``batch_size``, written while the next batch is built."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    count = batches = 0
    with collector_paused():
        writer = _BatchWriter(svc)
        try:
            batch: list[LedgerEntry] = []
            for entry in entries:
                batch.append(entry)
                if len(batch) == batch_size:
                    writer.put(batch)
                    count, batches, batch = count + len(batch), batches + 1, []
            if batch:
                writer.put(batch)
                count, batches = count + len(batch), batches + 1
        except BaseException:
            writer.close(raising=False)  # the batches handed over are written; this error is the one
            raise
        writer.close()
    return BulkPosting(count, batches)


class _BatchWriter:
    """Appends and commits the batches handed over, one transaction each, on a thread of its own."""

    def __init__(self, svc: Services) -> None:
        self._svc = svc
        # one batch waiting at most: the builder stays one batch ahead, memory stays two batches
        self._batches: queue.Queue[Sequence[LedgerEntry] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ledger-bulk-writer", daemon=True)
        self._thread.start()

    def put(self, batch: Sequence[LedgerEntry]) -> None:
        if self._error is not None:
            raise self._error
        self._batches.put(batch)

    def close(self, *, raising: bool = True) -> None:
        self._batches.put(None)
        self._thread.join()
        if raising and self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (batch := self._batches.get()) is not None:
            if self._error is not None:
                continue  # drained unwritten: the import has failed
            try:
                with self._svc.uow() as uow:
                    uow.ledger.append_many(batch)
                    uow.commit()
            except BaseException as error:  # handed to the building thread
                self._error = error
