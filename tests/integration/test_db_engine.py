"""SQLite write transactions queue for the engine's lock: a crowd of writers all get through, in turn.

Every transaction starts with BEGIN IMMEDIATE; threads of one process queue for a lock of the
engine's first, so none waits out SQLite's busy timeout while others keep winning the race. The
lock must also be given back whatever way a transaction ends (commit, rollback, an error inside it).
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from evbill.adapters.db.engine import create_database_engine
from evbill.adapters.db.uow import SqlAlchemyUnitOfWorkFactory
from tests.integration.db_records import an_operator

WRITERS = 16
INCREMENTS = 40


def _counter_engine(tmp_path: Path) -> Engine:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'crowd.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (1, 0)"))
    return engine


def test_a_crowd_of_writers_all_get_through_and_no_increment_is_lost(tmp_path: Path) -> None:
    engine = _counter_engine(tmp_path)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(INCREMENTS):
                with engine.begin() as connection:  # read, then write: a lost update if not serialised
                    value = connection.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
                    connection.execute(text("UPDATE counter SET value = :v WHERE id = 1"), {"v": value + 1})
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=write) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM counter")).scalar_one() == WRITERS * INCREMENTS


def test_the_lock_is_given_back_however_a_transaction_ends(tmp_path: Path) -> None:
    engine = _counter_engine(tmp_path)

    def fail_inside() -> None:
        try:
            with engine.begin() as connection:
                connection.execute(text("UPDATE counter SET value = 99"))
                raise RuntimeError("the use case failed")
        except RuntimeError:
            pass

    def roll_back() -> None:
        with engine.connect() as connection:
            connection.execute(text("UPDATE counter SET value = 98"))
            connection.rollback()

    def refused_statement() -> None:
        try:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO counter VALUES (1, 0)"))  # duplicate key
        except Exception:  # noqa: BLE001 - the point is what happens after
            pass

    for ending in (fail_inside, roll_back, refused_statement):
        worker = threading.Thread(target=ending)
        worker.start()
        worker.join()
        started = time.monotonic()
        with engine.begin() as connection:  # would wait out the 5 s lock timeout if it had leaked
            connection.execute(text("UPDATE counter SET value = value + 1"))
        assert time.monotonic() - started < 1.0, ending.__name__
    with engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM counter")).scalar_one() == 3


def test_a_read_only_unit_of_work_reads_the_last_commit_without_waiting_for_the_writer(
    tmp_path: Path,
) -> None:
    engine = _counter_engine(tmp_path)
    uow = SqlAlchemyUnitOfWorkFactory(engine)
    writing, done = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with engine.begin() as connection:  # holds SQLite's write lock and the engine's queue
            connection.execute(text("UPDATE counter SET value = 41"))
            writing.set()
            done.wait(timeout=10)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert writing.wait(timeout=5)
        started = time.monotonic()
        with uow(read_only=True) as reader:
            value = reader._connection().execute(text("SELECT value FROM counter")).scalar_one()
        waited = time.monotonic() - started
    finally:
        done.set()
        writer.join()

    assert value == 0  # the last committed value: the writer's change is not visible
    assert waited < 1.0  # a read-write unit of work would have waited for the writer


@pytest.mark.parametrize("read_only", [False, True])
def test_a_finished_unit_of_work_is_freed_at_once_not_left_to_the_cycle_collector(uow_factory, read_only):
    """A reference cycle per unit of work (one per use case) feeds the collector's full passes, which
    stall a server with 1,000 stations for hundreds of milliseconds."""
    gc.disable()
    try:
        uow = uow_factory(read_only=read_only)
        with uow:
            uow.operators.get("no such operator")
            uow.meter_samples.of_session_after("no such operator", "no such session", 0)
        gone = weakref.ref(uow)
        del uow
        assert gone() is None
    finally:
        gc.enable()


def test_after_a_read_only_unit_of_work_the_next_one_is_transactional_again(database_engine: Engine) -> None:
    """A read-only unit of work runs in autocommit on PostgreSQL (no BEGIN, no ROLLBACK). Its
    connection must go back to the pool transactional: else the next use case's every statement
    would commit on its own, and leaving its block without commit() would keep half its work."""
    uow = SqlAlchemyUnitOfWorkFactory(database_engine)  # a fresh pool: one connection, used by each in turn
    operator = an_operator()
    with uow(read_only=True) as reader:
        assert reader.operators.get(operator.id) is None
        driver = reader._connection().connection.driver_connection
        autocommit = getattr(driver, "autocommit", None)  # psycopg's flag (Python 3.11's sqlite3 has none)
    with uow() as writer:
        writer.operators.add(operator)  # and leaves without commit()
    with uow() as checker:
        assert checker.operators.get(operator.id) is None
    if database_engine.dialect.name == "postgresql":
        assert autocommit is True
