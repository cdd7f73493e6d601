"""The API benchmark's data set in PostgreSQL: built once in its own schema, reused while complete.

    database = Database.from_environment(schema="evbill_bench")
    dataset = ensure_dataset(database, FULL, fresh=False)

A build drops the schema, creates it again and migrates it with the application's own migrations
(``migrate.upgrade``): every connection sets ``search_path`` to the schema, so the tables and Alembic's
version table live there and nothing else in the database is touched. Operators, API keys and tariffs
are made by the application's use cases; sites and sessions, by the hundred thousand, go in with COPY
(``api_rows`` makes them), then VACUUM ANALYZE. A marker row, written last, records what was built;
the next run reuses the data if it finds the marker (same data version and size), the schema at the
migration head and the sessions all there, so only the first run (or ``--fresh``) spends time loading.

The PostgreSQL server is ``EVBILL_BENCH_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from bench import api_rows
from evbill.adapters.db import migrate
from evbill.application.access.keys import create_api_key, create_operator
from evbill.application.tariffs import catalog as catalog
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor, Role

DATA_VERSION = 1  # bump when the rows change, so stale data sets are rebuilt
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
MARKER = "bench_dataset"
BATCH_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class Size:
    """How much data: the big operator's locations (one station each) and sessions, the small one's."""

    locations: int
    evses_per_station: int
    sessions: int
    small_locations: int
    small_sessions: int


FULL = Size(locations=1000, evses_per_station=10, sessions=1_000_000, small_locations=20, small_sessions=5000)
QUICK = Size(locations=1000, evses_per_station=10, sessions=20_000, small_locations=20, small_sessions=1000)


@dataclass(frozen=True, slots=True)
class Database:
    """A schema on a PostgreSQL server, as a SQLAlchemy URL (for evbill) and a libpq conninfo (COPY)."""

    server: str
    schema: str

    @classmethod
    def from_environment(cls, *, schema: str) -> Database:
        return cls(os.environ.get("EVBILL_BENCH_POSTGRES", DEFAULT_SERVER), schema)

    @property
    def url(self) -> str:
        parsed = make_url(self.server).set(drivername="postgresql+psycopg")
        parsed = parsed.update_query_dict({"options": f"-csearch_path={self.schema}"})
        return parsed.render_as_string(hide_password=False)

    def conninfo(self, *, in_schema: bool = True) -> str:
        parsed = make_url(self.server)
        options = {"options": f"-csearch_path={self.schema}"} if in_schema else {}
        return make_conninfo(
            host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password,
            dbname=parsed.database, **options,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Dataset:
    """What a build made: the two operators, when "now" was for the sessions, and how it went."""

    big_operator_id: str
    small_operator_id: str
    loaded_at: datetime
    sessions: int
    load_seconds: float
    reused: bool


def ensure_dataset(database: Database, size: Size, *, fresh: bool) -> Dataset:
    """The complete data set in ``database``: the one found there, or a new one (always if ``fresh``)."""
    found = None if fresh else find_dataset(database, size)
    if found is not None:
        return found
    return build_dataset(database, size)


def find_dataset(database: Database, size: Size) -> Dataset | None:
    """The data set the marker describes, if it is complete and built as this code would build it."""
    try:
        with psycopg.connect(database.conninfo()) as connection:
            if connection.execute("SELECT to_regclass(%s)", (MARKER,)).fetchone() != (MARKER,):
                return None
            marker = connection.execute(
                f"SELECT data_version, sessions, big_operator_id, small_operator_id, loaded_at, load_seconds"
                f" FROM {MARKER}"
            ).fetchone()
            # The schema's own revision: the migrations may have moved on since the data was loaded.
            migrated = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            stored = connection.execute("SELECT count(*) FROM charging_sessions").fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    expected_sessions = size.sessions + size.small_sessions
    if marker is None or stored is None or migrated is None:
        return None
    version, sessions, big, small, loaded_at, seconds = marker
    if (version, sessions, migrated[0], stored[0]) != (
        DATA_VERSION, expected_sessions, migrate.head_revision(), expected_sessions,
    ):  # fmt: skip
        return None
    return Dataset(big, small, loaded_at, sessions, seconds, reused=True)


def build_dataset(database: Database, size: Size) -> Dataset:
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(database.conninfo(in_schema=False), autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE')
        connection.execute(f'CREATE SCHEMA "{database.schema}"')
    print(f"api: migrating schema {database.schema} ...", flush=True)
    migrate.upgrade(database.url)
    big, big_tariffs = _operator(database, "Bench Charging GmbH", "DE", ac_cents=39, dc_cents=59)
    small, small_tariffs = _operator(database, "Bench Small B.V.", "NL", ac_cents=35, dc_cents=55)
    with psycopg.connect(database.conninfo()) as connection:
        big_places = _load_sites(connection, big, "EVB", size.locations, size, now, seed=11)
        small_places = _load_sites(connection, small, "SML", size.small_locations, size, now, seed=12)
        with checks_after_load(connection, "charging_sessions"):
            _load_sessions(connection, big, "EVB", big_places, big_tariffs, size.sessions, now, seed=11)
            _load_sessions(
                connection, small, "SML", small_places, small_tariffs, size.small_sessions, now, 12
            )
        connection.commit()
    print("api: VACUUM ANALYZE ...", flush=True)
    with psycopg.connect(database.conninfo(), autocommit=True) as connection:
        for table in ("locations", "charging_stations", "evses", "connectors", "charging_sessions"):
            connection.execute(f"VACUUM ANALYZE {table}")
    seconds = time.perf_counter() - started
    dataset = Dataset(big, small, now, size.sessions + size.small_sessions, seconds, reused=False)
    _write_marker(database, dataset)
    return dataset


def issue_api_key(database: Database, operator_id: str, name: str) -> tuple[Actor, str]:
    """A new admin key for the operator, made by the use case (the key is shown only once)."""
    container = bootstrap(Settings(database_url=database.url))
    try:
        key, presented = create_api_key(
            container.services, operator_id=operator_id, role=Role.ADMIN, name=name
        )
    finally:
        container.dispose()
    return Actor(operator_id, Role.ADMIN, key.id, key.name), presented


def _operator(
    database: Database, name: str, country: str, *, ac_cents: int, dc_cents: int
) -> tuple[str, api_rows.Tariffs]:
    """An operator with an AC and a DC energy tariff (19 % VAT), made by the application's use cases."""
    container = bootstrap(Settings(database_url=database.url))
    try:
        services = container.services
        operator = create_operator(
            services, name=name, legal_name=name, country=country, default_currency="EUR"
        )
        key, _ = create_api_key(services, operator_id=operator.id, role=Role.ADMIN, name="bench loader")
        admin = Actor(operator.id, Role.ADMIN, key.id, key.name)
        ac = catalog.create_tariff(services, admin, _energy_tariff(country, "AC", ac_cents))
        dc = catalog.create_tariff(services, admin, _energy_tariff(country, "DC", dc_cents))
    finally:
        container.dispose()
    return operator.id, api_rows.Tariffs(ac.current.id, ac_cents, dc.current.id, dc_cents)


def _energy_tariff(country: str, kind: str, cents: int) -> dict[str, object]:
    price = f"{cents // 100}.{cents % 100:02d}"
    component = {"type": "ENERGY", "price": price, "vat": str(api_rows.VAT_PERCENT), "step_size": 1}
    return {
        "country_code": country, "party_id": "EVB", "id": f"BENCH-{kind}", "currency": "EUR",
        "elements": [{"price_components": [component]}], "last_updated": "2026-01-01T00:00:00Z",
    }  # fmt: skip


def _load_sites(
    connection: psycopg.Connection,
    operator_id: str,
    tag: str,
    locations: int,
    size: Size,
    now: datetime,
    seed: int,
) -> list[api_rows.EvsePlace]:
    """COPY one operator's locations, stations, EVSEs and connectors; return its EVSEs."""
    sites = api_rows.build_sites(
        operator_id=operator_id, tag=tag, locations=locations, evses_per_station=size.evses_per_station,
        created=now - timedelta(days=400), seed=seed,
    )  # fmt: skip
    for table, columns, rows in (
        ("locations", api_rows.LOCATION_COLUMNS, sites.locations),
        ("charging_stations", api_rows.STATION_COLUMNS, sites.stations),
        ("evses", api_rows.EVSE_COLUMNS, sites.evses),
        ("connectors", api_rows.CONNECTOR_COLUMNS, sites.connectors),
    ):
        copy_rows(connection, table, columns, rows, len(rows), tag)
    return sites.places


def _load_sessions(
    connection: psycopg.Connection,
    operator_id: str,
    tag: str,
    places: list[api_rows.EvsePlace],
    tariffs: api_rows.Tariffs,
    count: int,
    now: datetime,
    seed: int,
) -> None:
    rows = api_rows.session_rows(
        operator_id=operator_id, places=places, tariffs=tariffs, count=count, now=now, seed=seed
    )
    copy_rows(connection, "charging_sessions", api_rows.SESSION_COLUMNS, rows, count, tag)


@contextmanager
def checks_after_load(connection: psycopg.Connection, table: str) -> Iterator[None]:
    """Load ``table`` without its foreign keys and plain indexes; then put them back, checked, as they were.

    PostgreSQL checks a foreign key row by row (a trigger per key per row, queued until the COPY
    ends: 4 million for 1 million sessions, minutes of work), and a million random insertions into
    each index cost far more than one sorted build. So both go for the load and come back from
    PostgreSQL's own definitions (``pg_get_constraintdef``, ``pg_indexes.indexdef``): the rebuilt
    indexes are exactly the migrated ones, and re-adding a foreign key checks every row in one join.
    The primary key stays, so duplicate ids are refused during the COPY itself.
    """
    foreign_keys = connection.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass"
        " AND contype = 'f'",
        (table,),
    ).fetchall()
    indexes = connection.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s"
        " AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        (table, table),
    ).fetchall()
    for name, _ in foreign_keys:
        connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        connection.execute(f'DROP INDEX "{name}"')
    yield
    started = time.perf_counter()
    connection.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for _, definition in indexes:
        connection.execute(definition)
    for name, definition in foreign_keys:
        connection.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    print(
        f"api: rebuilt {len(indexes)} indexes and checked {len(foreign_keys)} foreign keys of {table}"
        f" in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def copy_rows(
    connection: psycopg.Connection,
    table: str,
    columns: tuple[str, ...],
    rows: Iterable[tuple[str, ...]],
    total: int,
    tag: str,
) -> None:
    """COPY text rows into ``table``, printing progress (rows loaded / total, rate) every few seconds."""
    started = report_at = time.perf_counter()
    written = 0
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        batch: list[str] = []
        for row in rows:
            batch.append("\t".join(row))
            if len(batch) == BATCH_ROWS:
                copy.write("\n".join(batch) + "\n")
                written += len(batch)
                batch.clear()
                if time.perf_counter() >= report_at + 5:
                    report_at = time.perf_counter()
                    _progress(tag, table, written, total, report_at - started)
        if batch:
            copy.write("\n".join(batch) + "\n")
            written += len(batch)
    _progress(tag, table, written, total, time.perf_counter() - started)


def _progress(tag: str, table: str, written: int, total: int, seconds: float) -> None:
    rate = written / seconds if seconds > 0 else 0.0
    print(
        f"api: {tag} {table}: {written:,} / {total:,} rows ({written / max(total, 1):.0%}), "
        f"{rate:,.0f} rows/s, {seconds:.1f} s",
        flush=True,
    )


def _write_marker(database: Database, dataset: Dataset) -> None:
    with psycopg.connect(database.conninfo()) as connection:
        connection.execute(
            f"CREATE TABLE {MARKER} (data_version integer, sessions bigint, big_operator_id text,"
            " small_operator_id text, loaded_at timestamptz, load_seconds double precision)"
        )
        connection.execute(
            f"INSERT INTO {MARKER} VALUES (%s, %s, %s, %s, %s, %s)",
            (DATA_VERSION, dataset.sessions, dataset.big_operator_id, dataset.small_operator_id,
             dataset.loaded_at, round(dataset.load_seconds, 1)),
        )  # fmt: skip
