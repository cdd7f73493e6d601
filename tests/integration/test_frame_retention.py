"""The retention policy for raw frames: ``evbill frames retain`` archives and purges old routine frames,
keeps every frame of a charging session, and nothing else can delete or change a frame.

Given a station's frames: three routine frames from two years ago, two of a session from then, and
two routine frames of today; with a one-year period, the three old routine frames are archived to a
gzip JSON-lines file and deleted; the four others stay. Plain DELETE and UPDATE are still refused.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from evbill.adapters.db.charging import tables as charging_tables
from evbill.adapters.db.charging.rows import frame_row
from evbill.config import Settings
from evbill.domain.charging.frames import Direction, Frame
from evbill.entrypoints.cli.main import build_app
from tests.integration.db_records import a_session, an_operator, given_site
from tests.support import CliRunner

FRAMES = charging_tables.ocpp_frames
NOW = datetime.now(UTC)


def _given_frames(uow_factory, engine) -> tuple[list[int], list[int]]:
    """(ids of the old routine frames, ids of every other frame)."""
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        site = given_site(uow, operator.id)
        session = a_session(site)
        uow.sessions.add(session)
        uow.commit()

    def frame(at: datetime, session_id: str | None, n: int) -> dict:
        return frame_row(
            Frame(
                operator.id,
                site.station.id,
                "CP-RET-1",
                Direction.IN,
                at,
                2,
                f"m{n}",
                "Heartbeat",
                f'[2,"m{n}","Heartbeat",{{}}]',
                session_id,
            )  # fmt: skip
        )

    old = NOW - timedelta(days=730)
    rows = [
        frame(old, None, 1),
        frame(old, session.id, 2),
        frame(old + timedelta(minutes=1), None, 3),
        frame(old + timedelta(minutes=2), session.id, 4),
        frame(old + timedelta(minutes=3), None, 5),
        frame(NOW, None, 6),
        frame(NOW, None, 7),
    ]
    with engine.begin() as connection:
        ids = list(
            connection.execute(
                insert(FRAMES).returning(FRAMES.c.id, sort_by_parameter_order=True), rows
            ).scalars()
        )
    return [ids[0], ids[2], ids[4]], [ids[1], ids[3], ids[5], ids[6]]


def _ids(engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(select(FRAMES.c.id).order_by(FRAMES.c.id)).scalars())


def test_old_routine_frames_are_archived_and_purged_and_session_frames_kept(
    database_url, database_engine, uow_factory, tmp_path
):
    old_routine, kept = _given_frames(uow_factory, database_engine)
    archive = tmp_path / "frames.jsonl.gz"
    app = build_app(Settings(database_url=database_url))

    result = CliRunner().invoke(
        app, ["frames", "retain", "--older-than", "365", "--archive", str(archive), "--purge", "--json"]
    )

    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) | {"cutoff": None} == {
        "cutoff": None,
        "old_frames": 3,
        "archived": 3,
        "purged": 3,
    }
    archived = [orjson.loads(line) for line in gzip.decompress(archive.read_bytes()).splitlines()]
    assert [line["id"] for line in archived] == old_routine
    assert archived[0]["raw"] == '[2,"m1","Heartbeat",{}]'
    assert _ids(database_engine) == kept
    purges = charging_tables.ocpp_frame_purges
    with database_engine.connect() as connection:
        runs = connection.execute(select(purges.c.open, purges.c.frames, purges.c.archive)).all()
    assert [tuple(run) for run in runs] == [(False, 3, str(archive))]


def test_without_archive_or_purge_nothing_changes_and_an_archive_is_never_overwritten(
    database_url, database_engine, uow_factory, tmp_path
):
    _given_frames(uow_factory, database_engine)
    before = _ids(database_engine)
    app = build_app(Settings(database_url=database_url))
    existing = tmp_path / "taken.jsonl.gz"
    existing.write_bytes(b"earlier archive")

    dry = CliRunner().invoke(app, ["frames", "retain", "--older-than", "365"])
    refused = CliRunner().invoke(
        app, ["frames", "retain", "--older-than", "365", "--archive", str(existing), "--purge"]
    )

    assert dry.exit_code == 0
    assert "3 frames older than" in dry.stdout
    assert "nothing changed" in dry.stdout
    assert refused.exit_code == 1
    assert existing.read_bytes() == b"earlier archive"
    assert _ids(database_engine) == before


@pytest.mark.parametrize("statement", ["delete", "update"])
def test_frames_stay_append_only_for_everything_but_a_retention_run(database_engine, uow_factory, statement):
    old_routine, _ = _given_frames(uow_factory, database_engine)
    change = (
        delete(FRAMES).where(FRAMES.c.id == old_routine[0])
        if statement == "delete"
        else update(FRAMES).where(FRAMES.c.id == old_routine[0]).values(raw="[]")
    )

    with (
        database_engine.connect() as connection,
        pytest.raises(DBAPIError, match="ocpp_frames is append-only"),
    ):
        connection.execute(change)
    assert old_routine[0] in _ids(database_engine)
