"""Posting entries in bulk: an import of many entries, batch after batch, each batch a transaction.

``post_in_bulk(svc, entries)`` takes the entries from the caller's iterable (each built and checked
with ``make_entry``, usually lazily by a generator) in batches of ``batch_size`` and appends each
batch with ``append_many`` (COPY on PostgreSQL) in a transaction of its own. The appending runs on
``writers`` threads (2), each on a connection of its own: while batches N and N+1 are written and
committed at once (on PostgreSQL each by its own backend, so on a core of its own; on SQLite they
queue for the one write lock), this thread takes the next batch from the iterable, so building the
entries overlaps the database's work. Nothing serialises two batches on PostgreSQL: the postings'
ids come from a sequence, and the entries' trigger locks the operator ``FOR KEY SHARE``, which
another ``FOR KEY SHARE`` does not wait for.

    >>> post_in_bulk(svc, (make_entry(...) for row in rows))  # doctest: +SKIP
    BulkPosting(entries=1000000, batches=20)

A batch that fails (the database refuses it) rolls back alone and stops the import with
``BulkPostingFailed`` (the database's error as its cause), which says which batches were committed:
every batch before the refused one (each its own transaction, as a run of separate imports would
be), and those after it that the other writer committed while the refused one was being written; a
later batch not yet committed when the refusal is known is rolled back, and none is started after
it. A failure while building (``make_entry`` refusing an entry) stops the import with that
error, after the batches already handed over are written.

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
WRITERS = 2  # connections appending at once: PostgreSQL runs each on a core of its own

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
    svc: Services,
    entries: Iterable[LedgerEntry],
    *,
    batch_size: int = BATCH_SIZE,
    writers: int = WRITERS,
) -> BulkPosting:
    """Append ``entries`` in transactions of ``batch_size``, written by ``writers`` threads (each its
    own connection) while the next batch is built."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if writers < 1:
        raise ValueError("writers must be at least 1")
    count = batches = 0
    with collector_paused():
        writer = _BatchWriters(svc, writers)
        try:
            batch: list[LedgerEntry] = []
            for entry in entries:
                batch.append(entry)
                if len(batch) == batch_size:
                    if not writer.put(batch):
                        break  # a batch was refused: close() raises, once the writers are done
                    count, batches, batch = count + len(batch), batches + 1, []
            else:
                if batch and writer.put(batch):
                    count, batches = count + len(batch), batches + 1
        except BaseException:
            writer.close(raising=False)  # the batches handed over are written; this error is the one
            raise
        writer.close()
    return BulkPosting(count, batches)


class BulkPostingFailed(Exception):
    """A batch the database refused stopped a bulk posting (the database's error is ``__cause__``).

    ``batch``: the refused batch's number (0 for the first batch handed over); ``committed``: the
    numbers of the batches committed, in order, and ``committed_entries`` their entries: every batch
    before the refused one, and with more than one writer those after it that another writer
    committed while the refused one was being written."""

    def __init__(self, batch: int, committed: Sequence[int], committed_entries: int, cause: BaseException):
        self.batch = batch
        self.committed = tuple(committed)
        self.committed_entries = committed_entries
        super().__init__(
            f"batch {batch} refused ({cause}); batches committed: {list(self.committed)} "
            f"({committed_entries} entries)"
        )


class _BatchWriters:
    """Appends and commits the batches handed over, one transaction each, on threads of their own."""

    def __init__(self, svc: Services, writers: int) -> None:
        self._svc = svc
        # one batch waiting at most: the builder stays one batch ahead of the busy writers
        self._batches: queue.Queue[tuple[int, Sequence[LedgerEntry]] | None] = queue.Queue(maxsize=1)
        self._lock = threading.Lock()
        self._handed = 0
        self._committed: dict[int, int] = {}  # batch number -> its entries
        self._refused: tuple[int, BaseException] | None = None  # the first refused batch
        self._threads = [
            threading.Thread(target=self._run, name=f"ledger-bulk-writer-{n}", daemon=True)
            for n in range(writers)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, batch: Sequence[LedgerEntry]) -> bool:
        """Hand ``batch`` over to be written; False (and not handed over) once a batch was refused."""
        with self._lock:
            if self._refused is not None:
                return False
        self._batches.put((self._handed, batch))
        self._handed += 1
        return True

    def close(self, *, raising: bool = True) -> None:
        for _ in self._threads:
            self._batches.put(None)
        for thread in self._threads:
            thread.join()
        if raising:
            self._raise_if_refused()

    def _raise_if_refused(self) -> None:
        with self._lock:
            if self._refused is None:
                return
            number, error = self._refused
            committed = sorted(self._committed)
            entries = sum(self._committed.values())
        raise BulkPostingFailed(number, committed, entries, error) from error

    def _stop_before(self, number: int) -> bool:
        """Whether batch ``number`` must not be committed: an earlier batch was refused."""
        with self._lock:
            return self._refused is not None and self._refused[0] < number

    def _run(self) -> None:
        while (handed := self._batches.get()) is not None:
            number, batch = handed
            if self._stop_before(number):
                continue  # drained unwritten: the import has failed before it
            try:
                with self._svc.uow() as uow:
                    uow.ledger.append_many(batch)
                    if self._stop_before(number):
                        continue  # rolled back by the unit of work: an earlier batch was refused
                    uow.commit()
                with self._lock:
                    self._committed[number] = len(batch)
            except BaseException as error:  # handed to the building thread
                with self._lock:
                    if self._refused is None or number < self._refused[0]:
                        self._refused = (number, error)
