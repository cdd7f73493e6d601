"""The requests of the API benchmark: what an operator's back office and dashboards list, how often.

Each kind is ``<collection>[?<what varies>]``; its parameters are drawn (seeded) from the big
operator's own records, read back from the database:

    sessions?evse_id     GET /api/v1/sessions?evse_id=<one of the 10,000 EVSEs>
    sessions?1-day       GET /api/v1/sessions?started_from=<a UTC midnight>&started_to=<the next>
    sessions?cursor      GET /api/v1/sessions?cursor=<where page 2 to 10 of the newest-first list starts>
    locations?cursor     GET /api/v1/locations?cursor=<where a later page of locations starts>

Every request asks for the default page (50 items), as a client that sets no ``limit`` does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg

from bench.api_data import Database, Dataset
from bench.api_load import Request
from evbill.adapters.db.charging.sessions import encode_session_cursor

API = "/api/v1"

# The weights sum to 100: mostly sessions, by site and by time, a little of everything else.
MIX = (
    ("sessions", 14),
    ("sessions?location_id", 10),
    ("sessions?evse_id", 10),
    ("sessions?station_id", 10),
    ("sessions?status=ACTIVE", 5),
    ("sessions?1-day", 8),
    ("sessions?7-day", 7),
    ("sessions?cursor", 10),
    ("locations?city", 5),
    ("locations?cursor", 5),
    ("stations?location_id", 5),
    ("evses?station_id", 5),
    ("connectors?evse_id", 4),
    ("tariffs", 2),
)


@dataclass(frozen=True, slots=True)
class Fixtures:
    """The big operator's ids the requests pick from."""

    city: list[str]
    location_id: list[str]
    station_id: list[str]
    evse_id: list[str]
    session_cursors: list[str]  # continuing the newest-first list at pages 2 to 10
    location_cursors: list[str]  # continuing the location list at each later page
    days: list[str]  # UTC midnights, 2 to 365 days before the data set was loaded (ISO-8601)


def read_fixtures(database: Database, dataset: Dataset) -> Fixtures:
    operator = (dataset.big_operator_id,)
    with psycopg.connect(database.conninfo()) as connection:

        def column(query: str) -> list[Any]:
            return [row[0] for row in connection.execute(query, operator)]

        locations = column("SELECT id FROM locations WHERE operator_id = %s ORDER BY id")
        newest = connection.execute(
            "SELECT started_at, id FROM charging_sessions WHERE operator_id = %s"
            " ORDER BY started_at DESC, id DESC LIMIT 450",
            operator,
        ).fetchall()
        return Fixtures(
            city=column("SELECT DISTINCT city FROM locations WHERE operator_id = %s ORDER BY city"),
            location_id=locations,
            station_id=column("SELECT id FROM charging_stations WHERE operator_id = %s ORDER BY id"),
            evse_id=column("SELECT id FROM evses WHERE operator_id = %s ORDER BY id"),
            session_cursors=[encode_session_cursor(*newest[index]) for index in range(49, len(newest), 50)],
            location_cursors=locations[49:-1:50],
            days=[
                (dataset.loaded_at - timedelta(days=days)).strftime("%Y-%m-%dT00:00:00Z")
                for days in range(2, 366)
            ],
        )


def build_requests(fixtures: Fixtures, count: int, seed: int) -> list[Request]:
    """``count`` requests drawn from ``MIX`` with seeded parameters (the same list every run)."""
    rng = random.Random(seed)
    kinds = rng.choices([kind for kind, _ in MIX], weights=[weight for _, weight in MIX], k=count)
    return [
        Request(kind, f"{API}/{kind.partition('?')[0]}", _parameters(kind, fixtures, rng)) for kind in kinds
    ]


def _parameters(kind: str, fixtures: Fixtures, rng: random.Random) -> tuple[tuple[str, str], ...]:
    collection, _, varies = kind.partition("?")
    if not varies:
        return ()
    if varies == "status=ACTIVE":
        return (("status", "ACTIVE"),)
    if varies.endswith("-day"):
        days = int(varies.removesuffix("-day"))
        start = rng.randrange(days, len(fixtures.days))  # days[i] is i + 2 days ago, days[i - n] n days later
        return (("started_from", fixtures.days[start]), ("started_to", fixtures.days[start - days]))
    if varies == "cursor":
        cursors = fixtures.session_cursors if collection == "sessions" else fixtures.location_cursors
        return (("cursor", rng.choice(cursors)),)
    return ((varies, rng.choice(getattr(fixtures, varies))),)
