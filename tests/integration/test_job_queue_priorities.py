"""The job queue runs a billing run's own jobs before the renderings its chunks enqueued (SQLite file
and Redis, as the workers share them): a run waits for its charge jobs, never for thousands of PDFs."""

from __future__ import annotations

import secrets

import pytest

from evbill.adapters.queue import build_queue


def _order(queue) -> list[str]:
    names = []
    while (task := queue.huey.dequeue()) is not None:
        names.append(task.args[0])
    return names


def _fill(queue) -> None:
    queue.enqueue("billing.invoice_chunk", {"n": "1"})
    for n in range(3):
        queue.enqueue("documents.render", {"document_id": str(n)})
    queue.enqueue("collection.charge_issued", {"invoices": "a b"})
    queue.enqueue("documents.render", {"document_id": "3"})
    queue.enqueue("billing.invoice_chunk", {"n": "2"})


EXPECTED = ["billing.invoice_chunk", "collection.charge_issued", "billing.invoice_chunk"] + [
    "documents.render"
] * 4


def test_renderings_wait_behind_the_runs_jobs_on_the_sqlite_queue(tmp_path):
    queue = build_queue(f"sqlite:///{tmp_path}/queue.sqlite3", database_url="sqlite:///x.db")
    _fill(queue)
    assert queue.pending() == 7
    assert _order(queue) == EXPECTED


def test_renderings_wait_behind_the_runs_jobs_on_the_redis_queue():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except Exception:
        pytest.skip("no Redis server here")
    queue = build_queue(
        "redis://127.0.0.1:6379/0", database_url="sqlite:///x.db", name=f"t-{secrets.token_hex(4)}"
    )
    try:
        _fill(queue)
        assert queue.pending() == 7
        assert _order(queue) == EXPECTED
    finally:
        queue.flush()
