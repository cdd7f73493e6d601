"""OCPP 2.0.1: the Started, Updated and Ended of one transaction in any order give the same session.

Tariff: EUR 0.35 start + 0.39/kWh, 21 % VAT (see conftest). One transaction: Started (seqNo 1, 14:30,
register 500000 Wh, the driver's token), Updated (seqNo 2, 15:20, 510000 Wh), Ended (seqNo 3, 16:00,
520000 Wh): 20 kWh, 0.35 + 7.80 = 8.15 excl. VAT, 9.8615 -> 9.86 incl.

Without the Started (its token, its reading and its time), only 10 kWh from 15:20 would be priced,
for nobody: the session must not be billed that way.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from evbill.domain.charging.sessions import SessionStatus
from tests.e2e.ocpp.conftest import TOKEN, RawStation, connect
from tests.e2e.ocpp.test_ocpp201 import event, session_of

STARTED_AT = datetime(2026, 11, 17, 14, 30, tzinfo=UTC)


def run(coroutine):
    return asyncio.run(coroutine)


def events(tx: str) -> dict[str, dict]:
    token = {"idToken": TOKEN, "type": "ISO14443"}
    return {
        "S": event(
            "Started", 1, tx, "2026-11-17T14:30:00Z", 500000, idToken=token,
            evse={"id": 1, "connectorId": 1}, info={"chargingState": "Charging"},
        ),
        "U": event("Updated", 2, tx, "2026-11-17T15:20:00Z", 510000, info={"chargingState": "Charging"}),
        "E": event(
            "Ended", 3, tx, "2026-11-17T16:00:00Z", 520000, idToken=token,
            info={"stoppedReason": "Local"},
        ),
    }  # fmt: skip


def send(live, subprotocol: str, tx: str, order: str) -> dict[str, list]:
    sent = events(tx)

    async def scenario():
        answers = {}
        async with connect(live, subprotocol) as socket:
            station = RawStation(socket)
            for kind in order:
                answers[kind] = await station.call("TransactionEvent", sent[kind])
        return answers

    return run(scenario())


def stored(live, session_id: str):
    with live.container.services.uow(read_only=True) as uow:
        samples = uow.meter_samples.of_session(live.operator_id, session_id)
        details = uow.live_sessions.details(live.operator_id, session_id) or {}
        reviews = uow.session_reviews.of_session(live.operator_id, session_id)
    return samples, details, reviews


@pytest.mark.parametrize("order", ["SUE", "USE", "UES", "ESU", "EUS", "SEU"])
def test_any_order_of_started_updated_ended_stores_the_session_as_in_order(live, order):
    tx = f"ORDER-{order}-{uuid.uuid4().hex[:8]}"

    answers = send(live, "ocpp2.0.1", tx, order)

    session = session_of(live, tx)
    assert session.status is SessionStatus.COMPLETED
    assert session.token_uid == TOKEN
    assert session.customer_id is not None
    assert session.contract_id is not None
    assert session.price_rule == "OPERATOR_DEFAULT"  # as for this token in order (AD_HOC without it)
    assert session.started_at == STARTED_AT
    assert session.energy_wh == Decimal("20000")
    assert session.total_excl_vat == Decimal("8.15")
    assert session.total_incl_vat_minor == 986
    assert answers["S"][2]["idTokenInfo"]["status"] == "Accepted"
    samples, details, _ = stored(live, session.id)
    assert sorted(sample.seq_no for sample in samples) == [1, 2, 3]
    assert "awaiting_started" not in details
    assert details["cdr"]["total_energy"] == 20.0
    assert details["cdr"]["cdr_token"]["uid"] == TOKEN
    if order.index("E") > order.index("S"):
        assert answers["E"][2] == {"totalCost": 9.86}


def test_an_ended_before_its_started_is_answered_from_what_is_known_and_held_for_review(live):
    """Ended alone: 520000 Wh at 16:00, nothing before it: the start fee, 0.35 x 1.21 = 0.4235 -> 0.42.
    Its Started is missing: the session waits in REVIEW and is not paid for; the Started re-rates it."""
    tx = f"ORDER-E-{uuid.uuid4().hex[:8]}"

    answers = send(live, "ocpp2.0.1", tx, "E")

    assert answers["E"][2] == {"totalCost": 0.42}
    session = session_of(live, tx)
    assert session.status is SessionStatus.REVIEW
    assert session.token_uid == TOKEN  # the Ended carried it
    _, details, reviews = stored(live, session.id)
    assert details["awaiting_started"] == "Ended"
    assert any("Started event has not arrived" in reason for reason in details["review"])
    assert [review.action.value for review in reviews] == ["FLAGGED"]

    send(live, "ocpp2.0.1", tx, "US")

    session = session_of(live, tx)
    assert session.status is SessionStatus.COMPLETED
    assert session.total_excl_vat == Decimal("8.15")
    assert session.started_at == STARTED_AT
    _, details, reviews = stored(live, session.id)
    assert "awaiting_started" not in details
    assert [review.action.value for review in reviews] == ["FLAGGED", "RERATED"]
    assert reviews[-1].status_after is SessionStatus.COMPLETED
    assert "Started" in reviews[-1].reason


def test_a_resent_started_after_the_end_changes_nothing(live):
    tx = f"ORDER-SES-{uuid.uuid4().hex[:8]}"

    send(live, "ocpp2.0.1", tx, "SUES")

    session = session_of(live, tx)
    assert session.status is SessionStatus.COMPLETED
    assert session.total_excl_vat == Decimal("8.15")
    samples, _, reviews = stored(live, session.id)
    assert sorted(sample.seq_no for sample in samples) == [1, 2, 3]
    assert reviews == []
