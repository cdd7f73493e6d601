"""A station cannot fill the disk or break its own connection with what it sends.

Frames over the size limit (64 KiB) and calls over the rate limit (20/s, bursts of 200) are answered
with a CallError and not stored: each station's refusals are counted, one row per reason and minute.
JSON nested thousands of levels deep is a FormationViolation, and the connection stays up.
"""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
import websockets
from sqlalchemy import func, select

from evbill.adapters.db.charging import tables as charging_tables
from evbill.adapters.db.migrate import upgrade
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from tests.e2e.ocpp.conftest import RawStation, basic, connect, free_port, seed


def run(coroutine):
    return asyncio.run(coroutine)


def frames_of(live, station_id: str) -> int:
    frames = charging_tables.ocpp_frames
    with live.container.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).where(frames.c.station_id == station_id)) or 0)


def refusals_of(live, station_id: str, seconds: float = 5) -> list[tuple[str, int, int]]:
    """(reason, frames, bytes) counted for the station, once its counts are stored (when it leaves)."""
    refused = charging_tables.ocpp_refused_frames
    deadline = time.monotonic() + seconds
    while True:
        with live.container.engine.connect() as connection:
            rows = connection.execute(
                select(refused.c.reason, refused.c.frames, refused.c.bytes)
                .where(refused.c.station_id == station_id)
                .order_by(refused.c.id)
            ).all()
        if rows or time.monotonic() > deadline:
            return [tuple(row) for row in rows]
        time.sleep(0.05)


def test_a_frame_over_the_size_limit_is_refused_counted_and_not_stored(live):
    charge_point_id, station_id = live.station_for("ocpp2.0.1")
    big = orjson.dumps([2, "big-1", "DataTransfer", {"vendorId": "x", "data": "a" * 70_000}]).decode()
    before = frames_of(live, station_id)

    async def scenario():
        async with connect(live, "ocpp2.0.1") as socket:
            station = RawStation(socket)
            refused = await station.send_raw(big)
            served = await station.call("Heartbeat", {})
            return refused, served

    refused, served = run(scenario())

    assert refused[:3] == [4, "big-1", "FormatViolation"]
    assert served[0] == 3  # the connection stays up
    assert frames_of(live, station_id) == before + 2  # the heartbeat and its answer, not the big frame
    assert refusals_of(live, station_id) == [("too_large", 1, len(big))]


def test_a_flood_over_the_rate_limit_is_answered_and_counted_not_stored_frame_by_frame(live):
    charge_point_id, station_id = live.station_for("ocpp1.6")
    before = frames_of(live, station_id)

    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            return [await station.call("Heartbeat", {}) for _ in range(300)]

    answers = run(scenario())

    served = sum(answer[0] == 3 for answer in answers)
    refused = [answer for answer in answers if answer[0] == 4]
    assert served + len(refused) == 300
    assert len(refused) >= 50  # 200 at once and 20 a second: the rest is refused
    assert {answer[2] for answer in refused} == {"GenericError"}
    assert frames_of(live, station_id) == before + 2 * served  # each served call and its answer only
    counted = refusals_of(live, station_id)
    assert {reason for reason, _, _ in counted} == {"rate_limit"}
    assert len(counted) <= 2  # one row a minute (the flood may straddle two)
    assert sum(frames for _, frames, _ in counted) == len(refused)


def test_deeply_nested_json_is_a_formation_violation_and_the_connection_stays_up(live):
    deep = '[2,"deep-1","DataTransfer",{"vendorId":"x","data":' + "[" * 5000 + "]" * 5000 + "}]"

    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            refused = await station.send_raw(deep)
            served = await station.call("Heartbeat", {})
            return refused, served

    refused, served = run(scenario())

    assert refused[:3] == [4, "deep-1", "FormationViolation"]
    assert served[0] == 3


def test_evbill_serve_closes_a_connection_whose_frame_is_over_four_limits_before_reading_it(tmp_path):
    from tests.e2e.ocpp.test_crash import start_server

    url = f"sqlite:///{tmp_path / 'evbill.db'}"
    upgrade(url)
    container = bootstrap(Settings(database_url=url))
    seed(container, "CP-HUGE-1")
    container.dispose()
    process = start_server(url, port := free_port())

    async def scenario():
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ocpp/CP-HUGE-1",
            subprotocols=["ocpp1.6"],
            additional_headers={"Authorization": basic("CP-HUGE-1")},
            max_size=None,
        ) as socket:
            await socket.send('[2,"huge-1","DataTransfer",{"vendorId":"x","data":"' + "a" * 300_000 + '"}]')
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), timeout=10)
            return closed.value.rcvd.code if closed.value.rcvd else None

    try:
        code = run(scenario())
    finally:
        process.terminate()
        process.wait(timeout=15)

    assert code == 1009  # message too big: 4 x 64 KiB is all the server reads of one message
