"""The database engine: one function, one code path, SQLite (the embedded default) or PostgreSQL.

    create_database_engine("sqlite:///var/evbill.sqlite3")
    create_database_engine("postgresql+psycopg://evbill@db.internal:5432/evbill")

SQLite connections are set up when they are opened: write-ahead logging (readers never block the
writer), foreign keys enforced (SQLite leaves them off by default), and a busy timeout so a writer
waits for another instead of failing at once. Python's sqlite3 driver is told to keep out of
transaction control, and every transaction starts with ``BEGIN IMMEDIATE``: a unit of work that
reads a record and then writes it takes the write lock up front, so two of them serialise (the second
then sees the first's version and gets a clean Conflict) instead of failing mid-way with "database is
locked". Threads of one process also queue for a lock of the engine's before they ask SQLite: SQLite's
own busy wait polls with growing sleeps, and under a crowd (1,000 chargers starting sessions at once)
one thread could keep losing the race until its timeout; a queued thread is woken as soon as the
one before it is done (``tests/integration/test_db_engine.py``). A read-only unit of work
(``uow(read_only=True)``) begins a plain deferred transaction instead: a WAL snapshot, which neither
waits for the writer nor holds it up.

An SQLite engine made with ``create=False`` refuses to connect when its database file does not exist
(``MissingDatabase``, naming the file) instead of leaving an empty one behind: the CLI's commands
make theirs so (``evbill ledger check`` in the wrong directory says "no database"); only migrating
(``evbill db upgrade``, ``serve --demo``) creates the file.

PostgreSQL runs on psycopg 3 with a pool that checks a connection before handing it out, so one the
server dropped (a restart, an idle timeout) is replaced rather than handed out. The check
costs no round trip: an idle connection's socket has nothing to read unless the server has closed it
(or sent its farewell error), which a zero-timeout ``poll`` sees. SQLAlchemy's ``pool_pre_ping``
would send ``SELECT 1`` on every checkout instead: a round trip per unit of work. A connection that
dies while in use still fails that one statement, as it would with a ping, and SQLAlchemy's
disconnect handling then discards it (and the pool's older connections).
"""

from __future__ import annotations

import os
import select
import sqlite3
import threading
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError

from evbill.domain.errors import DomainError

SQLITE_BUSY_TIMEOUT_MS = 5000
READ_ONLY = "evbill_read_only"  # execution option of a read-only unit of work's connection


class MissingDatabase(DomainError):
    """An SQLite database file that is not there (and the engine may not create it)."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"no database at {path}; run `evbill db upgrade` first (it creates it), "
            "or point EVBILL_DATABASE_URL at the existing one"
        )
        self.path = path


def sqlite_file(url: str) -> str | None:
    """The absolute path of an SQLite URL's database file; None for another database or in memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or parsed.query.get("uri"):
        return None
    return os.path.abspath(database)


def create_database_engine(url: str, *, echo: bool = False, create: bool = True) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql+psycopg://...`` (``postgresql://`` means psycopg);
    ``create=False``: an SQLite file that does not exist is not created (``MissingDatabase``)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(parsed, echo=echo)
        path = sqlite_file(url)
        if not create and path is not None:

            def refuse_missing(*_: object) -> None:
                if not os.path.exists(path):
                    raise MissingDatabase(path)

            event.listen(engine, "do_connect", refuse_missing)
        return engine
    if backend == "postgresql":
        return _postgresql_engine(parsed, echo=echo)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:///path or postgresql+psycopg://...")


def _sqlite_engine(url: URL, *, echo: bool) -> Engine:
    writer = threading.Lock()

    class Queued(sqlite3.Connection):
        """A connection that holds the engine's writer lock from BEGIN until after COMMIT/ROLLBACK."""

        holds_writer = False

        def begin_immediate(self) -> None:
            # Past the timeout, go on without the lock: SQLite's own busy timeout still applies.
            self.holds_writer = writer.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
            try:
                self.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._release()
                raise

        def begin_deferred(self) -> None:
            """A read-only transaction: a WAL snapshot, taken without the write lock or the queue."""
            self.execute("BEGIN")

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._release()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._release()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._release()

        def _release(self) -> None:
            if self.holds_writer:
                self.holds_writer = False
                writer.release()

    engine = create_engine(url, echo=echo, connect_args={"factory": Queued})
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: object) -> None:
    # None: the driver stops issuing its own BEGIN; _begin does it for every transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _begin(connection: Connection) -> None:
    driver = connection.connection.driver_connection
    if connection.get_execution_options().get(READ_ONLY):
        driver.begin_deferred()  # type: ignore[union-attr]
    else:
        driver.begin_immediate()  # type: ignore[union-attr]


def _postgresql_engine(url: URL, *, echo: bool) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername != "postgresql+psycopg":
        raise ValueError(f"unsupported PostgreSQL driver {url.drivername!r}: use postgresql+psycopg://")
    engine = create_engine(
        url,
        echo=echo,
        # Connections kept open. A connection beyond pool_size (an "overflow") is closed when it is
        # returned, so a process that often needs more opens and closes PostgreSQL backends (a fork
        # each) all the time, just when it is busiest: keep enough for the API's threadpool bursts.
        pool_size=20,
        max_overflow=10,
        pool_recycle=1800,  # seconds: stay under typical server and proxy idle limits
    )
    event.listen(engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, connection_record: object, proxy: object) -> None:
    """Raising DisconnectionError makes the pool discard this connection and check out another."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection is closed")
    waiting = select.poll()  # poll, not select: no limit on the descriptor's number
    waiting.register(dbapi_connection.fileno(), select.POLLIN)
    if waiting.poll(0):  # idle, yet the server sent something: its goodbye, or the connection was closed
        raise DisconnectionError("the server closed the connection")
