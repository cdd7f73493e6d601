"""The job queue: huey, on an SQLite file by default (no server), on Redis at scale.

    queue = build_queue("", database_url="sqlite:///evbill.db")      # evbill.queue.sqlite3 beside it
    queue = build_queue("redis://127.0.0.1:6379/0", database_url=...)  # workers on many machines
    queue.handlers["billing.invoice"] = handle                          # what a worker runs, by name
    queue.enqueue("billing.invoice", {"run_id": ...})                   # from any process
    queue.run_worker(workers=2)                                         # `evbill worker`

Every job is one huey task, ``evbill.job(name, payload)``: the worker looks the name up in
``handlers``, so the process that enqueues needs no handler and the worker needs no import of the
enqueuer. A job that raises is retried (``RETRIES``, ``RETRY_DELAY`` seconds apart); the handlers are
idempotent (database unique keys), so a retried or duplicated job changes nothing.

Jobs run by priority, then in the order enqueued: a job named ``documents.*`` (rendering a PDF, an
e-invoice) is background work and yields to every other job (``BACKGROUND``), so a billing run's
own jobs (its chunks, the charges that collect its invoices, after which it is done) never wait behind
the thousands of renderings its chunks enqueue. On Redis the queue is huey's priority queue (a sorted
set: ``PriorityRedisHuey``), on SQLite huey's task table orders by priority itself.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from huey import Huey, PriorityRedisHuey, SqliteHuey
from sqlalchemy.engine import make_url

RETRIES = 3
RETRY_DELAY = 1
BACKGROUND_PREFIX, BACKGROUND = "documents.", -10  # higher runs first; everything else is 0
Handler = Callable[[Mapping[str, str]], object]
log = logging.getLogger("evbill.queue")


def sqlite_file_beside(database_url: str, name: str) -> str:
    """The queue's SQLite file: next to an SQLite database (``evbill.db`` -> ``evbill.queue.sqlite3``);
    with a server database, ``<name>.queue.sqlite3`` in the machine's temporary directory (the
    processes of one machine share it; workers on several machines need ``redis://``)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        return str(path.with_name(f"{path.stem}.queue.sqlite3"))
    return str(Path(tempfile.gettempdir()) / f"{name}.queue.sqlite3")


class HueyQueue:
    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self.handlers: dict[str, Handler] = {}
        self._job = huey.task(retries=RETRIES, retry_delay=RETRY_DELAY, name="evbill.job")(self._run)

    def _run(self, name: str, payload: dict[str, str]) -> None:
        handler = self.handlers.get(name)
        if handler is None:
            raise LookupError(f"this worker has no handler for job {name!r}")
        handler(payload)

    def enqueue(self, job: str, payload: Mapping[str, str]) -> None:
        self._job(job, dict(payload), priority=priority_of(job))

    def pending(self) -> int:
        return int(self.huey.pending_count())

    def flush(self) -> None:
        self.huey.flush()

    def run_worker(self, *, workers: int = 1) -> None:
        """Work through the queue until SIGINT/SIGTERM (huey's consumer, ``workers`` threads)."""
        consumer: Any = self.huey.create_consumer(workers=workers, worker_type="thread", periodic=False)
        consumer.run()


def priority_of(job: str) -> int:
    """A job's priority: background work (``documents.*``) after everything else."""
    return BACKGROUND if job.startswith(BACKGROUND_PREFIX) else 0


def build_queue(queue_url: str, *, database_url: str, name: str = "evbill") -> HueyQueue:
    """``queue_url``: "" (an SQLite file beside the database), ``sqlite:///path`` or ``redis://...``."""
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        return HueyQueue(PriorityRedisHuey(name, url=queue_url, results=False))
    filename = queue_url.removeprefix("sqlite:///") if queue_url else sqlite_file_beside(database_url, name)
    return HueyQueue(SqliteHuey(name, filename=filename, results=False))
