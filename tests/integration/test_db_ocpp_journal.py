"""The group-commit journal: it stores what SQLAlchemy would, and one bad message harms no other.

The journal binds each column itself and hands the rows to the driver (``DriverInsert``). The same
frames and samples written through SQLAlchemy's insert must give the same rows, digit for digit, on
SQLite and PostgreSQL: exact decimals at the column's full scale, instants in UTC, enums as their
values, nulls as nulls, text with quotes, percent signs and non-ASCII characters.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Engine, insert, select

from evbill.adapters.db.charging import tables as charging_tables
from evbill.adapters.db.charging.journal import GroupCommitJournal
from evbill.adapters.db.charging.rows import frame_row, sample_row
from evbill.domain.charging.frames import Direction, Frame, Unstorable
from evbill.domain.metering.cleaning import EnergyUnit, MeterSample, PowerUnit, ReadingContext
from tests.integration.db_records import a_session, an_operator, given_site

PLUS_TWO = timezone(timedelta(hours=2))


def _frames(operator_id: str, station_id: str) -> list[Frame]:
    def frame(direction: Direction, at: datetime, raw: str, **what: object) -> Frame:
        return Frame(operator_id=operator_id, station_id=station_id, charge_point_id="CP-ÄÖ-1",
                     direction=direction, at=at, raw=raw, **what)  # type: ignore[arg-type]  # fmt: skip

    return [
        frame(Direction.IN, datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=PLUS_TWO),
              '[2,"a1","MeterValues",{"note":"100% \\"quoted\\" ü"}]',
              message_type=2, unique_id="a1", action="MeterValues"),
        frame(Direction.OUT, datetime(2026, 11, 21, 8, 0, 1, tzinfo=UTC), '[3,"a1",{}]',
              message_type=3, unique_id="a1", action="MeterValues"),
        frame(Direction.IN, datetime(2026, 11, 21, 8, 0, 2, tzinfo=UTC), "not json at all %s %(x)s",
              message_type=None, unique_id=None, action=None),
    ]  # fmt: skip


def _samples() -> list[MeterSample]:
    return [
        MeterSample(datetime(2026, 11, 21, 10, 0, tzinfo=PLUS_TWO), energy=Decimal("1234567890.0123456789"),
                    power=Decimal("-7.5"), current=Decimal("16.0000000001"), energy_unit=EnergyUnit.KWH,
                    power_unit=PowerUnit.KW, multiplier=-3, context=ReadingContext.TRANSACTION_BEGIN,
                    seq_no=7, offline=True, signed_data='OCMF|{"FV":"1.0"}|{"SA":"ECDSA-secp256r1-SHA256"}'),
        MeterSample(datetime(2026, 11, 21, 8, 5, tzinfo=UTC), energy=None, power=Decimal(0)),
    ]  # fmt: skip


def _stored(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with engine.connect() as connection:
        frames = connection.execute(
            select(charging_tables.ocpp_frames).order_by(charging_tables.ocpp_frames.c.id)
        ).all()
        samples = connection.execute(
            select(charging_tables.meter_samples).order_by(charging_tables.meter_samples.c.id)
        ).all()
    return [tuple(row)[1:] for row in frames], [tuple(row)[1:] for row in samples]  # without the counter


def _frame_ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        ids = select(charging_tables.ocpp_frames.c.id).order_by(charging_tables.ocpp_frames.c.id)
        return list(connection.execute(ids).scalars())


def test_the_journal_stores_the_rows_sqlalchemy_would(uow_factory, database_engine: Engine) -> None:
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        site = given_site(uow, operator.id)
        session = a_session(site)
        uow.sessions.add(session)
        uow.commit()
    frames, samples = _frames(operator.id, site.station.id), _samples()

    async def journal_them() -> None:
        journal = GroupCommitJournal(database_engine)
        await journal(frames, [(operator.id, session.id, sample) for sample in samples])

    asyncio.run(journal_them())
    with database_engine.begin() as connection:  # the tables are append-only: the same again, after
        rows = [sample_row(operator.id, session.id, sample) for sample in samples]
        connection.execute(insert(charging_tables.meter_samples), rows)
        connection.execute(insert(charging_tables.ocpp_frames), [frame_row(frame) for frame in frames])
    all_frames, all_samples = _stored(database_engine)
    frame_ids = _frame_ids(database_engine)
    # the samples point at the frame that carried them, the first of the message: compared apart
    all_samples, carriers = [row[:-1] for row in all_samples], [row[-1] for row in all_samples]
    by_journal = all_frames[: len(frames)], all_samples[: len(samples)]
    by_sqlalchemy = all_frames[len(frames) :], all_samples[len(samples) :]

    assert by_journal == by_sqlalchemy
    assert carriers == [frame_ids[0]] * len(samples) + [None] * len(samples)
    stored_frames, stored_samples = by_journal
    assert [row[3] for row in stored_frames] == ["in", "out", "in"]
    assert stored_frames[0][4] == datetime(2026, 11, 21, 8, 0, 0, 123456, tzinfo=UTC)
    assert stored_frames[2][8] == "not json at all %s %(x)s"
    assert stored_samples[0][3] == Decimal("1234567890.0123456789")
    assert stored_samples[0][4:6] == ("kWh", -3)
    assert stored_samples[1][3] is None


def test_on_sqlite_one_checkpointer_runs_beside_each_journal(uow_factory, database_engine):
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        site = given_site(uow, operator.id)
        uow.commit()

    def checkpointers() -> set[threading.Thread]:
        return {thread for thread in threading.enumerate() if thread.name == "evbill-checkpoint"}

    # An earlier test's journal, gone, may leave its checkpointer a last half second to notice:
    # count only the threads this journal started, not the ones that ended meanwhile.
    before = checkpointers()
    journal = GroupCommitJournal(database_engine)

    async def journal_frames(into: GroupCommitJournal) -> None:
        await into(_frames(operator.id, site.station.id), [])
        await into(_frames(operator.id, site.station.id), [])

    asyncio.run(journal_frames(journal))

    expected = 1 if database_engine.dialect.name == "sqlite" else 0  # PostgreSQL checkpoints itself
    started = checkpointers() - before
    assert len(started) == expected
    assert journal._checkpointer in (started or {None})


def test_reading_a_sessions_samples_on_from_a_mark_returns_each_sample_once_in_order(uow_factory) -> None:
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        site = given_site(uow, operator.id)
        session, other = a_session(site), a_session(site)
        uow.sessions.add(session)
        uow.sessions.add(other)
        uow.commit()
    first, second = _samples(), [MeterSample(datetime(2026, 11, 21, 8, 10, tzinfo=UTC), energy=Decimal(5))]

    def add(session_id: str, samples: list[MeterSample]) -> None:
        with uow_factory() as uow:
            uow.meter_samples.add_many(operator.id, session_id, samples)
            uow.commit()

    def after(mark: int) -> tuple[list[MeterSample], int]:
        with uow_factory(read_only=True) as uow:
            samples, next_mark = uow.meter_samples.of_session_after(operator.id, session.id, mark)
        return list(samples), next_mark

    add(session.id, first)
    add(other.id, second)  # another session's samples are never read
    read_first, mark = after(0)
    nothing, same_mark = after(mark)
    add(session.id, second)
    read_second, last_mark = after(mark)

    assert read_first == first
    assert mark > 0
    assert (nothing, same_mark) == ([], mark)
    assert read_second == second
    assert last_mark > mark
    with uow_factory(read_only=True) as uow:
        assert list(uow.meter_samples.of_session(operator.id, session.id)) == first + second


def test_with_several_writers_every_append_is_committed_once_and_each_sessions_samples_in_order(
    uow_factory, database_engine
) -> None:
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        site = given_site(uow, operator.id)
        sessions = [a_session(site) for _ in range(5)]
        for session in sessions:
            uow.sessions.add(session)
        uow.commit()
    start = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)

    def sample(n: int) -> MeterSample:
        return MeterSample(start + timedelta(seconds=n), energy=Decimal(n))

    async def a_station(session_id: str, journal: GroupCommitJournal) -> None:
        for n in range(40):  # one message at a time, each sent once the last was acknowledged
            await journal((), [(operator.id, session_id, sample(n))])

    async def all_stations() -> None:
        journal = GroupCommitJournal(database_engine, writers=3, max_batch=7)
        await asyncio.gather(*(a_station(session.id, journal) for session in sessions))

    asyncio.run(all_stations())
    with uow_factory(read_only=True) as uow:
        stored = [list(uow.meter_samples.of_session(operator.id, session.id)) for session in sessions]

    assert stored == [[sample(n) for n in range(40)]] * 5


def _a_station_and_session(uow_factory):
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        site = given_site(uow, operator.id)
        session = a_session(site)
        uow.sessions.add(session)
        uow.commit()
    return operator, site, session


@pytest.mark.parametrize(
    ("frame_changes", "sample"),
    [
        ({}, MeterSample(datetime(2026, 11, 21, 8, 0, tzinfo=UTC), energy=Decimal("1e30"))),  # 31 digits
        ({}, MeterSample(datetime(2026, 11, 21, 8, 0, tzinfo=UTC), energy=Decimal("0.00000000001"))),
        ({}, MeterSample(datetime(2026, 11, 21, 8, 0, tzinfo=UTC), seq_no=2**64)),
        ({}, MeterSample(datetime(2026, 11, 21, 8, 0, tzinfo=UTC), seq_no=2**31)),  # PostgreSQL's INTEGER
        ({}, MeterSample(datetime(2026, 11, 21, 8, 0, tzinfo=UTC), signed_data="\ud800")),
        ({}, MeterSample(datetime(2026, 11, 21, 8, 0, tzinfo=UTC), signed_data="OCMF|\x00")),
        ({"unique_id": "x" * 65}, None),
        ({"action": {"not": "text"}}, None),
        ({"raw": "[2,\x00]"}, None),
    ],
)
def test_a_message_that_cannot_be_stored_is_refused_when_queued_and_nothing_of_it_is_stored(
    uow_factory, database_engine, frame_changes, sample
) -> None:
    operator, site, session = _a_station_and_session(uow_factory)
    frames = [replace(_frames(operator.id, site.station.id)[0], **frame_changes)]
    samples = [] if sample is None else [(operator.id, session.id, sample)]

    async def queue() -> None:
        journal = GroupCommitJournal(database_engine)
        with pytest.raises(Unstorable):
            journal(frames, samples)
        await journal(_frames(operator.id, site.station.id)[1:2])  # and the journal goes on

    asyncio.run(queue())

    stored_frames, stored_samples = _stored(database_engine)
    assert [row[3] for row in stored_frames] == ["out"]
    assert stored_samples == []


def test_a_message_the_database_refuses_fails_alone_and_the_rest_of_its_group_is_committed(
    uow_factory, database_engine
) -> None:
    # Given a group of ten messages, one of them for a station the database does not know
    operator, site, session = _a_station_and_session(uow_factory)
    good = _frames(operator.id, site.station.id)[0]
    unknown = replace(good, station_id="no-such-station")
    messages = [[good]] * 4 + [[unknown]] + [[good]] * 5

    async def commit_together() -> list[BaseException | None]:
        journal = GroupCommitJournal(database_engine, max_batch=100)
        futures = [journal(frames, [(operator.id, session.id, _samples()[1])]) for frames in messages]
        return await asyncio.gather(*futures, return_exceptions=True)

    # When they are committed together
    outcomes = asyncio.run(commit_together())

    # Then only that message failed, as Unstorable, and the nine others are stored with their samples
    assert [type(outcome).__name__ for outcome in outcomes] == ["NoneType"] * 4 + ["Unstorable"] + [
        "NoneType"
    ] * 5
    stored_frames, stored_samples = _stored(database_engine)
    assert len(stored_frames) == 9
    assert sorted(row[-1] for row in stored_samples) == _frame_ids(database_engine)


def test_the_written_out_rows_equal_the_generic_mappings_rows() -> None:
    """``frame_row``/``sample_row`` are written out for speed; they give what the records' mappings give."""
    from evbill.adapters.db.records import FRAMES, METER_SAMPLES, FrameRow, MeterSampleRow

    for frame in _frames("op-1", "st-1"):
        for session_id in (None, "session-9"):
            fields = [getattr(frame, name) for name in FrameRow.__dataclass_fields__ if name != "id"]
            fields[-1] = session_id or frame.session_id
            expected = FRAMES.to_row(FrameRow(None, *fields))
            del expected["id"]
            assert frame_row(frame, session_id) == expected
    for sample in _samples():
        expected = METER_SAMPLES.to_row(
            MeterSampleRow(
                None, "op-1", "session-9", sample.timestamp, sample.energy, str(sample.energy_unit),
                sample.multiplier, sample.power, str(sample.power_unit), sample.current, sample.state,
                sample.seq_no, sample.context, sample.offline, sample.signed_data, 41,
            )
        )  # fmt: skip
        del expected["id"]
        assert sample_row("op-1", "session-9", sample, 41) == expected
