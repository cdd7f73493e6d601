"""One station cannot harm another: what it sends that cannot be stored is refused to it alone.

The journal commits many stations' frames in one group. A hostile station sends, over and over, values
no column can hold: a 1.6 register of 10^30 Wh (more digits than the column), a 2.0.1 seqNo of 2^64,
a message id of 65 characters (PostgreSQL's column holds 64), a frame with a NUL character, a signed
meter value with a lone surrogate, an action that is not a string. Meanwhile another operator's station
sends heartbeats. Every heartbeat is answered; every hostile frame gets its own CallError, and the
hostile station stays connected.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid

import orjson

from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect, seed

HEARTBEATS = 150
ROUNDS = 12


def run(coroutine):
    return asyncio.run(coroutine)


def hostile_16(transaction_id: int, round_: int) -> list[tuple[str, str]]:
    """(raw frame, the CallError code it must get) from the 1.6 station."""
    at = f"2026-11-17T10:{round_:02d}:00Z"

    def meter(sampled: dict) -> str:
        payload = {
            "connectorId": 1,
            "transactionId": transaction_id,
            "meterValue": [{"timestamp": at, "sampledValue": [sampled]}],
        }
        return orjson.dumps([2, f"h{round_}-{secrets.token_hex(3)}", "MeterValues", payload]).decode()

    return [
        (meter({"value": "1000000000000000000000000000000", "unit": "Wh"}), "PropertyConstraintViolation"),
        (
            meter({"value": "SURROGATE", "format": "SignedData"}).replace("SURROGATE", "\\ud800"),
            "PropertyConstraintViolation",
        ),
        (orjson.dumps([2, "x" * 65, "Heartbeat", {}]).decode(), "FormationViolation"),
        ('[2,"nul-' + str(round_) + '","Heartbeat",{}]\x00', "FormationViolation"),
        (orjson.dumps([2, f"a{round_}", {"not": "an action"}, {}]).decode(), "FormationViolation"),
    ]


def hostile_201(transaction_id: str, round_: int) -> list[tuple[str, str]]:
    payload = {
        "eventType": "Updated",
        "timestamp": f"2026-11-17T10:{round_:02d}:30Z",
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 2**64 + round_,
        "transactionInfo": {"transactionId": transaction_id},
        "meterValue": [
            {"timestamp": f"2026-11-17T10:{round_:02d}:30Z", "sampledValue": [{"value": 1000 + round_}]}
        ],
    }
    return [(json.dumps([2, f"s{round_}", "TransactionEvent", payload]), "PropertyConstraintViolation")]


async def neighbour_heartbeats(live, charge_point_id: str) -> list[int]:
    async with connect(live, "ocpp1.6", charge_point_id=charge_point_id) as socket:
        station = RawStation(socket)
        return [(await station.call("Heartbeat", {}))[0] for _ in range(HEARTBEATS)]


async def hostile(live) -> tuple[list[tuple[str, str]], int, int]:
    async with connect(live, "ocpp1.6") as old, connect(live, "ocpp2.0.1") as new:
        station16, station201 = RawStation(old), RawStation(new)
        started = await station16.call(
            "StartTransaction",
            {"connectorId": 1, "idTag": TOKEN, "meterStart": 1000, "timestamp": "2026-11-17T10:00:00Z"},
        )
        tx = str(uuid.uuid4())
        await station201.call(
            "TransactionEvent",
            {"eventType": "Started", "timestamp": "2026-11-17T10:00:00Z", "triggerReason": "Authorized",
             "seqNo": 0, "transactionInfo": {"transactionId": tx}, "evse": {"id": 1, "connectorId": 1},
             "idToken": {"idToken": TOKEN, "type": "ISO14443"}},
        )  # fmt: skip
        answers = []
        for round_ in range(ROUNDS):
            for station, frames in (
                (station16, hostile_16(started[2]["transactionId"], round_)),
                (station201, hostile_201(tx, round_)),
            ):
                for raw, expected in frames:
                    answer = await station.send_raw(raw)
                    answers.append((f"{answer[0]}:{answer[2]}", f"4:{expected}"))
        still16 = (await station16.call("Heartbeat", {}))[0]
        still201 = (await station201.call("Heartbeat", {}))[0]
        return answers, still16, still201


def test_frames_that_cannot_be_stored_are_refused_to_their_sender_alone(live):
    # Given another operator's station beside the hostile ones
    neighbour = f"CP-NEIGHBOUR-{secrets.token_hex(2)}"
    seed(live.container, neighbour)

    # When both send at once
    async def both():
        return await asyncio.gather(neighbour_heartbeats(live, neighbour), hostile(live))

    heartbeats, (answers, still16, still201) = run(both())

    # Then the neighbour was answered every time, and each hostile frame got its own CallError
    assert heartbeats == [3] * HEARTBEATS
    assert [got for got, _ in answers] == [expected for _, expected in answers]
    assert (still16, still201) == (3, 3)  # the hostile stations are still connected and served
