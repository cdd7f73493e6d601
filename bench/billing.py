"""A monthly billing run at volume: 10,000 contracts with 300,000 sessions, on SQLite and PostgreSQL.

The data (``tests.billing_data``: one operator, 10,000 monthly contracts, 30 priced October sessions
each) is inserted in bulk first and not timed. Then the run of October is timed from start to done:

* SQLite: ``run_billing`` in this process (what ``evbill billing run`` does without workers): the
  contracts in chunks (8, 16, ... 256), each chunk's bills, invoices (numbers, ledger entries) and
  item outcomes in one transaction;
* PostgreSQL: ``enqueue_run`` on a huey queue (Redis when it answers, else an SQLite queue file;
  one job per chunk of 256 contracts) and two ``evbill worker`` processes (unpinned: they may use
  every CPU), polled until the run is done.

Documents are rendered separately (``--no-render``; the workers' render jobs are not waited for).
``--quick``: 1,000 contracts. ``EVBILL_BENCH_BILLING_CONTRACTS`` sets another count.

PASS: each run is done, issued every contract once, in < 60 s.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url
from tests.billing_data import build_contracts

from bench.report import Result, verdict
from bench.timing import Plan
from evbill.adapters.db.migrate import upgrade
from evbill.application.access.keys import platform_actor
from evbill.application.invoicing import runs
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.invoicing.runs import ItemStatus, RunStatus

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
CONTRACTS, QUICK_CONTRACTS, SESSIONS = 10_000, 1_000, 30
PERIOD = "2026-10"
TARGET_SECONDS = 60.0
EVBILL = Path(sys.executable).with_name("evbill")


def run(plan: Plan) -> Iterator[Result]:
    contracts = int(
        os.environ.get("EVBILL_BENCH_BILLING_CONTRACTS", QUICK_CONTRACTS if plan.quick else CONTRACTS)
    )
    with tempfile.TemporaryDirectory(prefix="evbill-bench-billing-") as folder:
        yield _sqlite(f"sqlite:///{folder}/billing.db", contracts)
    server = os.environ.get("EVBILL_BENCH_POSTGRES", DEFAULT_SERVER)
    schema = f"bench_billing_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        with tempfile.TemporaryDirectory(prefix="evbill-bench-queue-") as folder:
            yield _postgres(_schema_url(server, schema), contracts, folder)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _schema_url(server: str, schema: str) -> str:
    parsed = make_url(server).set(drivername="postgresql+psycopg")
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def _data(url: str, contracts: int) -> tuple[str, float]:
    upgrade(url)
    started = time.perf_counter()
    built = build_contracts(url, contracts=contracts, sessions_per_contract=SESSIONS, period=PERIOD)
    return built.operator_id, time.perf_counter() - started


def _result(name: str, run: runs.BillingRun, contracts: int, seconds: float, load: float, how: str) -> Result:
    issued = run.counts.of(ItemStatus.ISSUED)
    passed = run.status is RunStatus.DONE and issued == contracts and seconds < TARGET_SECONDS
    measured = f"{seconds:.1f} s for {contracts:,} contracts ({contracts * SESSIONS:,} sessions), {how}"
    return Result(
        name=name,
        passed=passed,
        measured=measured,
        target=f"< {TARGET_SECONDS:g} s",
        line=f"{name}: {measured}; issued {issued:,}, {contracts / seconds:,.0f}/s -> {verdict(passed)}",
        figures={
            "contracts": contracts,
            "sessions": contracts * SESSIONS,
            "run_seconds": round(seconds, 2),
            "invoices_per_second": round(contracts / seconds, 1),
            "issued": issued,
            "failed": run.counts.of(ItemStatus.FAILED),
            "data_seconds": round(load, 2),
            "how": how,
        },
    )


def _sqlite(url: str, contracts: int) -> Result:
    operator_id, load = _data(url, contracts)
    container = bootstrap(Settings(database_url=url))
    try:
        started = time.perf_counter()
        finished = runs.run_billing(container.services, platform_actor(operator_id), PERIOD)
        seconds = time.perf_counter() - started
    finally:
        container.dispose()
    return _result("billing/sqlite", finished, contracts, seconds, load, "in-process")


def _queue_url(folder: str) -> str:
    try:
        import redis

        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
        return REDIS
    except Exception:  # no Redis here: the embedded queue, a file both workers share
        return f"sqlite:///{folder}/queue.sqlite3"


def _postgres(url: str, contracts: int, folder: str) -> Result:
    operator_id, load = _data(url, contracts)
    queue_url = _queue_url(folder)
    name = f"evbill-bench-{secrets.token_hex(4)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBILL_")}
    env.update(EVBILL_DATABASE_URL=url, EVBILL_QUEUE_URL=queue_url, EVBILL_QUEUE_NAME=name)
    every_cpu = set(range(os.cpu_count() or 1))
    workers = [
        subprocess.Popen(
            [str(EVBILL), "worker"],
            env=env,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: os.sched_setaffinity(0, every_cpu),
        )  # fmt: skip
        for _ in range(2)
    ]
    container = bootstrap(Settings(database_url=url, queue_url=queue_url, queue_name=name))
    try:
        who = platform_actor(operator_id)
        time.sleep(2)  # the workers are up
        started = time.perf_counter()
        queued = runs.enqueue_run(container.services, who, container.queue, PERIOD)
        current = queued
        while current.status is not RunStatus.DONE:
            time.sleep(0.5)
            current = runs.get_run(container.services, who, queued.id)
        seconds = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            worker.wait(timeout=60)
        container.queue.flush()
        container.dispose()
    kind = "Redis" if queue_url.startswith("redis") else "SQLite"
    return _result("billing/postgresql", current, contracts, seconds, load, f"2 workers, {kind} queue")
