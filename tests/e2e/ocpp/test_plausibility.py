"""Nothing absurd is billed, and a stop always closes its session (OCPP 1.6 over a real websocket).

The station's EVSE is rated 22 kW; the tariff is EUR 0.35 start + 0.39/kWh, 21 % VAT. An
implausible value is kept as evidence (its frame and its sample), flagged, left out of the price,
and the session goes to review instead of billing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from evbill.domain.charging.sessions import SessionStatus
from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect


def meter(timestamp: str, wh: int | str) -> dict:
    return {
        "timestamp": timestamp,
        "sampledValue": [{"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}],
    }


def at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def stored(live, transaction_id):
    with live.container.services.uow() as uow:
        sessions = uow.live_sessions
        session = sessions.find_by_transaction(live.operator_id, live.station_id, str(transaction_id))
        details = sessions.details(live.operator_id, session.id)
        samples = uow.meter_samples.of_session(live.operator_id, session.id)
        reviews = uow.session_reviews.of_session(live.operator_id, session.id)
    return session, details, samples, reviews


async def charge(live, start: dict, values: list[dict], stop: dict) -> tuple[list, list, list]:
    async with connect(live, "ocpp1.6") as socket:
        station = RawStation(socket)
        started = await station.call("StartTransaction", {"connectorId": 1, "idTag": TOKEN, **start})
        transaction_id = started[2]["transactionId"]
        for value in values:
            await station.call(
                "MeterValues", {"connectorId": 1, "transactionId": transaction_id, "meterValue": [value]}
            )
        stopped = await station.call("StopTransaction", {"transactionId": transaction_id, **stop})
        again = await station.call(
            "StartTransaction",
            {"connectorId": 1, "idTag": TOKEN, "meterStart": 5, "timestamp": stop["timestamp"]},
        )
        await station.call(
            "StopTransaction",
            {"transactionId": again[2]["transactionId"], "meterStop": 5, "timestamp": stop["timestamp"]},
        )
        return started, stopped, again


def test_a_register_of_2e12_wh_on_a_22_kw_evse_is_left_out_and_the_session_goes_to_review(live):
    # Given a 30-minute session whose register jumps to 2e12 Wh at 10:20
    started, stopped, _ = asyncio.run(
        charge(
            live,
            {"meterStart": 1_000_000, "timestamp": "2026-11-17T10:00:00Z"},
            [meter("2026-11-17T10:10:00Z", 1_003_000), meter("2026-11-17T10:20:00Z", 2_000_000_000_000)],
            {"meterStop": 1_011_000, "timestamp": "2026-11-17T10:30:00Z", "idTag": TOKEN},
        )
    )
    # Then the stop is answered, and the session is priced from its plausible readings only:
    # 11 kWh -> 0.35 + 11 x 0.39 = 4.64 excl. VAT (not 943,800,000.56)
    assert stopped[0] == 3
    assert stopped[2] == {"idTagInfo": {"status": "Accepted"}}
    session, details, samples, reviews = stored(live, started[2]["transactionId"])
    assert session.status is SessionStatus.REVIEW
    assert session.energy_wh == Decimal("11000")
    assert session.total_excl_vat == Decimal("4.64")
    assert session.total_incl_vat_minor == 561
    # And the absurd value is kept as evidence, flagged, with the reason shown
    assert Decimal("2000000000000") in [sample.energy for sample in samples]
    assert [a["flag"] for a in details["anomalies"] if a["flag"].startswith("implausible")] == [
        "implausible_energy"
    ]
    assert details["review"][0].startswith("implausible_energy: register 2000000000000 Wh")
    assert [(event.action.value, event.status_after.value) for event in reviews] == [("FLAGGED", "REVIEW")]


def test_after_a_register_of_1e21_wh_the_stop_still_closes_the_session_and_the_card_can_charge_again(live):
    started, stopped, again = asyncio.run(
        charge(
            live,
            {"meterStart": 1_000_000, "timestamp": "2026-11-17T12:00:00Z"},
            [meter("2026-11-17T12:10:00Z", "1000000000000000000000")],
            {"meterStop": 1_005_000, "timestamp": "2026-11-17T12:30:00Z"},
        )
    )
    assert stopped[0] == 3  # a CallResult, not an InternalError
    session, _, _, _ = stored(live, started[2]["transactionId"])
    assert session.status is SessionStatus.REVIEW
    assert session.energy_wh == Decimal("5000")
    assert session.total_excl_vat == Decimal("2.30")  # 0.35 + 5 x 0.39
    assert again[2]["idTagInfo"] == {"status": "Accepted"}  # not ConcurrentTx


def test_a_stop_before_the_start_is_not_stored_as_is(live):
    started, stopped, _ = asyncio.run(
        charge(
            live,
            {"meterStart": 1_000_000, "timestamp": "2026-11-17T14:00:00Z"},
            [meter("2026-11-17T14:10:00Z", 1_002_000)],
            {"meterStop": 1_004_000, "timestamp": "2026-11-17T13:30:00Z"},
        )
    )
    assert stopped[0] == 3
    session, details, _, _ = stored(live, started[2]["transactionId"])
    # Priced up to the last plausible reading (14:10), never before the start
    assert session.status is SessionStatus.REVIEW
    assert session.started_at == datetime(2026, 11, 17, 14, 0, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 11, 17, 14, 10, tzinfo=UTC)
    assert session.energy_wh == Decimal("2000")
    assert "implausible_stop" in [a["flag"] for a in details["anomalies"]]


def test_a_start_in_1971_is_not_a_55_year_session(live):
    now = datetime.now(UTC).replace(microsecond=0)
    started, stopped, _ = asyncio.run(
        charge(
            live,
            {"meterStart": 1_000_000, "timestamp": "1971-01-01T00:00:00Z"},
            [meter(at(now - timedelta(minutes=10)), 1_002_000)],
            {"meterStop": 1_004_000, "timestamp": at(now)},
        )
    )
    assert stopped[0] == 3
    session, details, _, _ = stored(live, started[2]["transactionId"])
    # Priced from the first plausible reading: 10 minutes, 2 kWh -> 0.35 + 2 x 0.39 = 1.13
    assert session.status is SessionStatus.REVIEW
    assert session.started_at == now - timedelta(minutes=10)
    assert session.ended_at == now
    assert session.total_excl_vat == Decimal("1.13")
    assert "implausible_start" in [a["flag"] for a in details["anomalies"]]


def test_a_stop_whose_own_register_cannot_be_stored_still_closes_the_session(live):
    # Given a stop reporting 10^30 Wh: more digits than a meter value column holds (the frame keeps it)
    started, stopped, again = asyncio.run(
        charge(
            live,
            {"meterStart": 1_000_000, "timestamp": "2026-11-17T12:00:00Z"},
            [meter("2026-11-17T12:10:00Z", 1_004_000)],
            {"meterStop": 10**30, "timestamp": "2026-11-17T12:30:00Z"},
        )
    )
    # Then the stop is answered and the session is closed for review, priced from what is plausible
    assert stopped[0] == 3
    session, details, samples, _ = stored(live, started[2]["transactionId"])
    assert session.status is SessionStatus.REVIEW
    assert session.energy_wh == Decimal("4000")
    assert [str(sample.energy) for sample in samples] == ["1000000", "1004000"]
    assert any(anomaly["flag"] == "unrecordable_value" for anomaly in details["anomalies"])
    assert again[2]["idTagInfo"] == {"status": "Accepted"}


def test_a_register_dip_is_no_baseline_the_readings_after_it_and_the_stop_count(live):
    # Given 100,000 -> 104,500 Wh, a reading of 50,000 Wh, then 107,500 and 2e12 and a stop at 111,000
    started, stopped, _ = asyncio.run(
        charge(
            live,
            {"meterStart": 100_000, "timestamp": "2026-11-18T10:00:00Z"},
            [
                meter("2026-11-18T10:10:00Z", 101_500),
                meter("2026-11-18T10:30:00Z", 104_500),
                meter("2026-11-18T10:40:00Z", 50_000),
                meter("2026-11-18T10:50:00Z", 107_500),
                meter("2026-11-18T11:00:00Z", 2_000_000_000_000),
            ],
            {"meterStop": 111_000, "timestamp": "2026-11-18T11:30:00Z"},
        )
    )
    assert stopped[0] == 3
    session, details, _, _ = stored(live, started[2]["transactionId"])
    # Then 11 kWh are billed, not 54.5: 0.35 + 11 x 0.39 = 4.64 excl. VAT; the absurd value sends it to review
    assert session.energy_wh == Decimal("11000")
    assert session.total_excl_vat == Decimal("4.64")
    assert session.status is SessionStatus.REVIEW
    flags = [a["flag"] for a in details["anomalies"]]
    assert flags.count("negative_delta") == 1
    assert "register_reset" not in flags


def test_a_rejected_reading_never_becomes_the_baseline(live):
    # Given 100,000, 102,000, 104,000, then 60,000, then 106,000, 108,000 and a stop at 110,000
    started, stopped, _ = asyncio.run(
        charge(
            live,
            {"meterStart": 100_000, "timestamp": "2026-11-18T13:00:00Z"},
            [
                meter(f"2026-11-18T13:{minute:02d}:00Z", wh)
                for minute, wh in ((10, 102_000), (20, 104_000), (30, 60_000), (40, 106_000), (50, 108_000))
            ],
            {"meterStop": 110_000, "timestamp": "2026-11-18T14:00:00Z"},
        )
    )
    assert stopped[0] == 3
    session, details, _, _ = stored(live, started[2]["transactionId"])
    # Then 10 kWh are billed, not 4: 0.35 + 10 x 0.39 = 4.25; the rejected reading stays flagged
    assert session.energy_wh == Decimal("10000")
    assert session.total_excl_vat == Decimal("4.25")
    assert session.status is SessionStatus.COMPLETED
    assert [a["flag"] for a in details["anomalies"]] == ["negative_delta"]
    assert details["anomalies"][0]["detail"] == "register 60000 Wh is below 104000 Wh; reading rejected"


def test_a_negative_start_register_sends_the_session_to_review_not_its_charging_time_to_idle(live):
    """Found by an outside tester: meterStart -500 was ignored as a baseline, so the 10 minutes before
    the first reading had no known energy and were priced as idle, and the session went to billing."""
    started, stopped, _ = asyncio.run(
        charge(
            live,
            {"meterStart": -500, "timestamp": "2026-11-18T10:00:00Z"},
            [meter("2026-11-18T10:10:00Z", 1000)],
            {"meterStop": 2500, "timestamp": "2026-11-18T10:20:00Z"},
        )
    )
    assert stopped[0] == 3
    session, details, _, reviews = stored(live, started[2]["transactionId"])
    assert session.status is SessionStatus.REVIEW
    assert details["review"] == ["negative_register: register -500 Wh ignored"]
    assert [(event.action.value, event.status_after.value) for event in reviews] == [("FLAGGED", "REVIEW")]
