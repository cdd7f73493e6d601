"""Operators close, re-rate or void a stuck or faulty session (API and CLI), audited, with a reason.

Tariff EUR 0.35 start + 0.39/kWh, 21 % VAT; the station's EVSE is rated 22 kW.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import httpx

from evbill.domain.charging.sessions import SessionStatus
from evbill.entrypoints.cli.main import build_app
from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect
from tests.e2e.ocpp.test_plausibility import meter
from tests.support import CliRunner


def api(live, method: str, path: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {live.api_key}"}
    return httpx.request(method, f"{live.api}{path}", headers=headers, timeout=10, **kwargs)


async def session_without_a_stop(live, start: str, values: list[dict]) -> tuple[str, list]:
    """A session whose StopTransaction never comes; then the same card tries to start again."""
    async with connect(live, "ocpp1.6") as socket:
        station = RawStation(socket)
        started = await station.call(
            "StartTransaction",
            {"connectorId": 1, "idTag": TOKEN, "meterStart": 1_000_000, "timestamp": start},
        )
        transaction_id = started[2]["transactionId"]
        for value in values:
            await station.call(
                "MeterValues", {"connectorId": 1, "transactionId": transaction_id, "meterValue": [value]}
            )
    with live.container.services.uow() as uow:
        session = uow.live_sessions.find_by_transaction(
            live.operator_id, live.station_id, str(transaction_id)
        )
    return session.id, started


async def start_again(live, timestamp: str) -> list:
    async with connect(live, "ocpp1.6") as socket:
        station = RawStation(socket)
        again = await station.call(
            "StartTransaction", {"connectorId": 1, "idTag": TOKEN, "meterStart": 7, "timestamp": timestamp}
        )
        await station.call(
            "StopTransaction",
            {"transactionId": again[2]["transactionId"], "meterStop": 7, "timestamp": timestamp},
        )
        return again


def test_an_operator_closes_a_stuck_session_through_the_api_priced_from_the_data_received(live):
    # Given a session whose stop never came: 8 kWh by 11:00
    session_id, _ = asyncio.run(
        session_without_a_stop(
            live,
            "2026-11-19T10:00:00Z",
            [meter("2026-11-19T10:30:00Z", 1_004_000), meter("2026-11-19T11:00:00Z", 1_008_000)],
        )
    )
    refused = asyncio.run(start_again(live, "2026-11-19T12:00:00Z"))
    assert refused[2]["idTagInfo"] == {"status": "ConcurrentTx"}
    # A decision needs a reason
    assert api(live, "POST", f"/sessions/{session_id}/close", json={"reason": " "}).status_code in (400, 422)
    # When an operator closes it
    closed = api(live, "POST", f"/sessions/{session_id}/close", json={"reason": "car left, stop never came"})
    # Then it ends at its last meter value, priced: 0.35 + 8 x 0.39 = 3.47 excl., 4.1987 -> 4.20 incl.
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["status"], body["ended_at"]) == ("COMPLETED", "2026-11-19T11:00:00Z")
    assert body["total_cost"] == {"excl_vat": "3.47", "incl_vat": "4.20"}
    review = api(live, "GET", f"/sessions/{session_id}/review").json()
    assert [(e["action"], e["status_before"], e["status_after"], e["reason"]) for e in review["events"]] == [
        ("CLOSED", "ACTIVE", "COMPLETED", "car left, stop never came")
    ]
    audit = api(live, "GET", "/audit-log", params={"limit": 200}).json()["items"]
    assert any(entry.get("entity_id") == session_id for entry in audit)
    # And the card charges again
    assert asyncio.run(start_again(live, "2026-11-19T12:30:00Z"))[2]["idTagInfo"] == {"status": "Accepted"}
    # A closed session cannot be closed twice
    assert api(live, "POST", f"/sessions/{session_id}/close", json={"reason": "again"}).status_code == 409


def test_a_session_in_review_is_rerated_and_accepted_or_voided(live):
    # Given a session in review (a register of 2e12 Wh on a 22 kW EVSE), closed by the operator
    session_id, _ = asyncio.run(
        session_without_a_stop(
            live,
            "2026-11-19T14:00:00Z",
            [meter("2026-11-19T14:10:00Z", 2_000_000_000_000), meter("2026-11-19T14:30:00Z", 1_010_000)],
        )
    )
    closed = api(live, "POST", f"/sessions/{session_id}/close", json={"reason": "stuck"}).json()
    assert closed["status"] == "REVIEW"
    review = api(live, "GET", f"/sessions/{session_id}/review").json()
    assert review["reasons"][0].startswith("implausible_energy: register 2000000000000 Wh")
    # When the operator re-rates it, it is billed from its plausible data: 0.35 + 10 x 0.39 = 4.25
    rerated = api(live, "POST", f"/sessions/{session_id}/rerate", json={"reason": "checked the meter photo"})
    assert rerated.status_code == 200, rerated.text
    assert (rerated.json()["status"], rerated.json()["total_cost"]["excl_vat"]) == ("COMPLETED", "4.25")
    # And the CLI voids it, with its reason on record
    result = CliRunner().invoke(
        build_app(live.container.settings),
        ["session", "void", session_id, "--operator", live.operator_id, "--reason", "goodwill", "--json"],
    )
    assert result.exit_code == 0, result.output
    voided = json.loads(result.stdout)
    assert (voided["status"], voided["total_incl_vat_minor"]) == ("VOIDED", 0)
    with live.container.services.uow() as uow:
        session = uow.sessions.get(live.operator_id, session_id)
        events = uow.session_reviews.of_session(live.operator_id, session_id)
    assert session.status is SessionStatus.VOIDED
    assert session.total_excl_vat == Decimal(0)
    assert [(e.action.value, e.reason) for e in events] == [
        ("CLOSED", "stuck"),
        ("RERATED", "checked the meter photo"),
        ("VOIDED", "goodwill"),
    ]


def test_a_stuck_session_without_a_meter_value_closed_by_the_operator_is_priced_with_a_complete_cdr(live):
    # Given a session whose only reading is its meterStart, and whose stop never came
    session_id, _ = asyncio.run(session_without_a_stop(live, "2026-11-20T10:00:00Z", []))
    # When an operator closes it (through the CLI, as the tester did)
    result = CliRunner().invoke(
        build_app(live.container.settings),
        ["session", "close", session_id, "--operator", live.operator_id, "--reason", "x", "--json"],
    )
    assert result.exit_code == 0, result.output
    # Then it is rated like any other with what is known: no energy, its start fee 0.35 (0.4235 -> 0.42)
    with live.container.services.uow() as uow:
        session = uow.sessions.get(live.operator_id, session_id)
    assert (session.status, session.energy_wh) == (SessionStatus.COMPLETED, Decimal(0))
    assert (session.total_excl_vat, session.total_incl_vat_minor) == (Decimal("0.35"), 42)
    assert [(part.dimension.value, part.excl_vat) for part in session.parts] == [("FLAT", Decimal("0.35"))]
    # And its CDR is complete: a charging period and its cost incl. VAT
    cdr = api(live, "GET", f"/sessions/{session_id}/cdr").json()
    assert len(cdr["charging_periods"]) == 1
    assert cdr["total_cost"] == {"excl_vat": 0.35, "incl_vat": 0.42}


def test_an_operator_corrects_the_energy_of_a_session_in_review_audited_with_the_readings_kept(live):
    # Given a session in review (a register of 2e12 Wh), 30 minutes, 10 kWh by its readings
    session_id, _ = asyncio.run(
        session_without_a_stop(
            live,
            "2026-11-22T14:00:00Z",
            [meter("2026-11-22T14:10:00Z", 2_000_000_000_000), meter("2026-11-22T14:30:00Z", 1_010_000)],
        )
    )
    assert api(live, "POST", f"/sessions/{session_id}/close", json={"reason": "stuck"}).json()["status"] == (
        "REVIEW"
    )
    path = f"/sessions/{session_id}/energy-correction"
    # An energy a 22 kW EVSE cannot deliver in 30 minutes (at most 12,200 Wh) is refused
    refused = api(live, "POST", path, json={"reason": "typo", "energy_wh": "50000"})
    assert refused.status_code == 422, refused.text
    # When the operator sets 12 kWh from the meter's photo
    corrected = api(live, "POST", path, json={"reason": "meter photo: 12 kWh", "energy_wh": "12000"})
    # Then it is priced with it and billable: 0.35 + 12 x 0.39 = 5.03 excl. VAT, x 1.21 = 6.0863 -> 6.09
    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert (body["status"], body["energy_kwh"]) == ("COMPLETED", "12")
    assert body["total_cost"] == {"excl_vat": "5.03", "incl_vat": "6.09"}
    # And the charger's readings and anomalies stay, with the correction beside them, audited
    with live.container.services.uow() as uow:
        details = uow.live_sessions.details(live.operator_id, session_id)
        samples = uow.meter_samples.of_session(live.operator_id, session_id)
    assert Decimal("2000000000000") in [sample.energy for sample in samples]
    assert "implausible_energy" in [a["flag"] for a in details["anomalies"]]
    assert details["energy_correction"] == {
        "energy_wh": "12000",
        "billed_energy_wh_before": "10000",
        "total_incl_vat_before": "5.1425",
        "reason": "meter photo: 12 kWh",
        "by": details["energy_correction"]["by"],
    }
    review = api(live, "GET", f"/sessions/{session_id}/review").json()
    assert [(e["action"], e["status_before"], e["status_after"]) for e in review["events"]] == [
        ("CLOSED", "ACTIVE", "REVIEW"),
        ("CORRECTED", "REVIEW", "COMPLETED"),
    ]


def test_a_start_refused_as_concurrent_blocks_nobody_and_waits_in_review(live):
    """Found by an outside tester: a start answered ConcurrentTx opened an ACTIVE session that then
    answered ConcurrentTx to the card everywhere, and one stopped at once was billed 0.45 (start fee
    and a minute of idle fee) for a transaction the charger was told not to run."""

    async def scenario() -> tuple[list, list, list, list]:
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            first = await station.call(
                "StartTransaction",
                {"connectorId": 1, "idTag": TOKEN, "meterStart": 100, "timestamp": "2026-11-20T10:00:00Z"},
            )
            # a second start of the same card while the first charges: refused, never stopped
            ghost = await station.call(
                "StartTransaction",
                {"connectorId": 1, "idTag": TOKEN, "meterStart": 100, "timestamp": "2026-11-20T10:00:01Z"},
            )
            await station.call(
                "StopTransaction",
                {
                    "transactionId": first[2]["transactionId"],
                    "meterStop": 5100,
                    "timestamp": "2026-11-20T11:00:00Z",
                },
            )
            # a third one while the first charged no more: the ghost does not block the card
            later = await station.call(
                "StartTransaction",
                {"connectorId": 1, "idTag": TOKEN, "meterStart": 5100, "timestamp": "2026-11-20T12:00:00Z"},
            )
            # and, while that one charges, a refused start the charger stopped at once
            return first, ghost, later, await _refused_then_stopped(station)

    async def _refused_then_stopped(station: RawStation) -> list:
        refused = await station.call(
            "StartTransaction",
            {"connectorId": 1, "idTag": TOKEN, "meterStart": 0, "timestamp": "2026-11-20T12:00:03Z"},
        )
        await station.call(
            "StopTransaction",
            {
                "transactionId": refused[2]["transactionId"],
                "meterStop": 0,
                "timestamp": "2026-11-20T12:00:03Z",
            },
        )
        return refused

    first, ghost, later, refused = asyncio.run(scenario())
    assert [answer[2]["idTagInfo"]["status"] for answer in (first, ghost, later, refused)] == [
        "Accepted", "ConcurrentTx", "Accepted", "ConcurrentTx",
    ]  # fmt: skip
    with live.container.services.uow() as uow:
        stopped = uow.live_sessions.find_by_transaction(
            live.operator_id, live.station_id, str(refused[2]["transactionId"])
        )
    assert stopped is not None
    assert stopped.status is SessionStatus.REVIEW  # not billed until an operator accepts it
    review = api(live, "GET", f"/sessions/{stopped.id}/review").json()
    assert any(
        reason.startswith("START_REFUSED: the start was answered ConcurrentTx")
        for reason in review["reasons"]
    )
    # And the refused transaction the charger never stopped, closed by an operator, still waits
    with live.container.services.uow() as uow:
        left = uow.live_sessions.find_by_transaction(
            live.operator_id, live.station_id, str(ghost[2]["transactionId"])
        )
    assert left is not None
    assert left.status is SessionStatus.ACTIVE
    closed = api(live, "POST", f"/sessions/{left.id}/close", json={"reason": "never stopped"})
    assert (closed.status_code, closed.json()["status"]) == (200, "REVIEW"), closed.text
