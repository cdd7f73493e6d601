"""Paying at the charger without an account (AFIR), over real websockets, the `ocpp` library as charger.

Each test gets a station of its own (one EVSE) at the E2E location, under the tariff of EUR 0.35 start
+ 0.39/kWh, 21 % VAT (conftest). The driver opens ``/pay/{evse}``, posts a sandbox card token to
``/pay/{evse}/start``; evbill holds the hold (EUR 50.00 by default) and sends RemoteStartTransaction
(1.6) or RequestStartTransaction (2.0.1); the station starts with the idTag it was given; at the stop
evbill captures the final price and releases the rest.

Settings here: remote calls wait 2 s for an answer, a station has 2 s to start after accepting, due
payments are finished every 0.3 s, running costs are pushed every 0.5 s.

Amounts (computed by hand):
* 10 kWh: 0.35 + 10 x 0.39 = 4.25 excl. VAT, x 1.21 = 5.1425 -> 5.14 captured; 50.00 - 5.14 = 44.86
  released; the sandbox's fee 1.4 % x 5.14 = 0.07196 -> 0.07 + 0.25 = 0.32.
* 9 kWh: 0.35 + 9 x 0.39 = 3.86, x 1.21 = 4.6706 -> 4.67, within a tenth of a 5.00 hold: stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16

from evbill.application.access.keys import create_api_key, platform_actor
from evbill.application.charging.review import rerate_session
from evbill.application.payments.reconciliation import check_books
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Role
from evbill.domain.payments.adhoc import CommandAnswer
from evbill.entrypoints.api.app import create_app
from tests.billing_data import save_seller
from tests.conftest import _postgres_schema, postgres_url
from tests.e2e.ocpp.conftest import SUFFIXES, add_station, basic, free_port, seed


@dataclass
class Paying:
    http: str
    ws: str
    container: Container
    operator_id: str
    location_id: str
    api_key: str
    dialect: str

    def station(self, subprotocol: str = "ocpp1.6") -> tuple[str, str]:
        """A new station of its own (charge point id, EVSE uid) registered for ``subprotocol``."""
        charge_point_id = f"CP-PAY-{secrets.token_hex(3)}"
        station_id = add_station(
            self.container, self.operator_id, self.location_id, charge_point_id, subprotocol
        )
        with self.container.services.uow() as uow:
            evse = uow.evses.list(self.operator_id, filters={"station_id": station_id}, after=None, limit=1)[
                0
            ]
        return charge_point_id, evse.id


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def paying(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paying]:
    from evbill.adapters.db.migrate import upgrade

    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('pay') / 'evbill.sqlite3'}"])
    else:
        base = postgres_url()
        if base is None:
            pytest.skip("EVBILL_TEST_POSTGRES_URL not set")
        urls = _postgres_schema(base)
    for url in urls:
        upgrade(url)
        settings = Settings(
            database_url=url,
            ocpp_cost_interval=0.5,
            ocpp_command_timeout=2,
            adhoc_start_timeout=2,
            payments_sweep_interval=0.3,
            pay_starts_per_minute=10_000,  # every request comes from 127.0.0.1 here
            pay_reads_per_minute=10_000,
        )
        container = bootstrap(settings)
        operator_id, _ = seed(container, f"CP-PAYSEED-{secrets.token_hex(2)}", subprotocols=tuple(SUFFIXES))
        save_seller(container.services, operator_id)  # a receipt is issued at each captured session's end
        with container.services.uow() as uow:
            location_id = uow.locations.list(operator_id, filters={}, after=None, limit=1)[0].id
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, container=container), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        _, api_key = create_api_key(container.services, operator_id=operator_id, role=Role.ADMIN, name="pay")
        try:
            yield Paying(
                f"http://127.0.0.1:{port}",
                f"ws://127.0.0.1:{port}/ocpp",
                container,
                operator_id,
                location_id,
                api_key,
                request.param,
            )
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            container.dispose()


def paid_at(paying: Paying, answer: httpx.Response, moment: datetime) -> None:
    """The driver's request as if made at ``moment``: the charger here reports a session that began
    in the past, and a session cannot begin before its payment was requested."""
    services = paying.container.services
    with services.uow() as uow:
        found = uow.session_payments.get_start(paying.operator_id, answer.json()["id"])
        assert found is not None
        moved = replace(found, created_at=moment - timedelta(seconds=1))
        assert uow.session_payments.update_start(moved, expected=frozenset({found.status}))
        uow.commit()


@dataclass(frozen=True)
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def meter(moment: datetime, wh: int) -> dict[str, Any]:
    return {
        "timestamp": iso(moment),
        "sampled_value": [{"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}],
    }


class Charger16(ChargePoint16):
    """A 1.6 charger: answers remote starts as told ("Accepted", "Rejected" or "silent": 3 s late)."""

    def __init__(self, charge_point_id: str, connection: Any, answer: str = "Accepted") -> None:
        super().__init__(charge_point_id, connection)
        self.answer = answer
        self.remote_starts: list[dict[str, Any]] = []
        self.remote_stops: list[int] = []
        self.running_costs: list[str] = []

    @on(Action16.remote_start_transaction)
    async def on_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any) -> Any:
        self.remote_starts.append({"id_tag": id_tag, "connector_id": connector_id})
        if self.answer == "silent":
            await asyncio.sleep(3)
            return result16.RemoteStartTransaction(status="Accepted")
        return result16.RemoteStartTransaction(status=self.answer)

    @on(Action16.remote_stop_transaction)
    async def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        self.remote_stops.append(transaction_id)
        return result16.RemoteStopTransaction(status="Accepted")

    @on(Action16.data_transfer)
    async def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: str = "", **_: Any):
        if message_id == "RunningCost":
            self.running_costs.append(data)
        return result16.DataTransfer(status="Accepted")


def charger_2(version: str) -> type:
    """A 2.0.1 or 2.1 charger (``version``: v201 or v21) on that version of the `ocpp` library."""
    base = importlib.import_module(f"ocpp.{version}").ChargePoint
    results = importlib.import_module(f"ocpp.{version}.call_result")
    actions = importlib.import_module(f"ocpp.{version}.enums").Action

    class Charger2(base):  # type: ignore[misc,valid-type]
        def __init__(self, charge_point_id: str, connection: Any) -> None:
            super().__init__(charge_point_id, connection)
            self.remote_starts: list[dict[str, Any]] = []
            self.remote_stops: list[str] = []

        @on(actions.request_start_transaction)
        async def on_request_start(self, id_token: dict[str, Any], remote_start_id: int, **extra: Any) -> Any:
            self.remote_starts.append({"id_token": id_token, "remote_start_id": remote_start_id, **extra})
            return results.RequestStartTransaction(status="Accepted")

        @on(actions.request_stop_transaction)
        async def on_request_stop(self, transaction_id: str, **_: Any) -> Any:
            self.remote_stops.append(transaction_id)
            return results.RequestStopTransaction(status="Accepted")

        @on(actions.cost_updated)
        async def on_cost_updated(self, **_: Any) -> Any:
            return results.CostUpdated()

    return Charger2


VERSION_MODULES = {"ocpp2.0.1": "v201", "ocpp2.1": "v21"}


@contextlib.asynccontextmanager
async def charger(
    paying: Paying, charge_point_id: str, subprotocol: str = "ocpp1.6", answer: str = "Accepted"
) -> AsyncIterator[Any]:
    async with websockets.connect(
        f"{paying.ws}/{charge_point_id}",
        subprotocols=[subprotocol],  # type: ignore[list-item]
        additional_headers={"Authorization": basic(charge_point_id)},
    ) as socket:
        station = (
            Charger16(charge_point_id, socket, answer)
            if subprotocol == "ocpp1.6"
            else charger_2(VERSION_MODULES[subprotocol])(charge_point_id, socket)
        )
        serving = asyncio.create_task(station.start())
        try:
            yield station
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await serving


def client(paying: Paying) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=paying.http, timeout=20)


def admin(paying: Paying) -> dict[str, str]:
    return {"Authorization": f"Bearer {paying.api_key}"}


async def start(http: httpx.AsyncClient, evse: str, token: str = "tok_visa", key: str | None = None) -> Any:
    return await http.post(
        f"/pay/{evse}/start",
        json={"payment_method": token},
        headers={"Idempotency-Key": key or secrets.token_hex(8)},
    )


async def until(
    http: httpx.AsyncClient, url: str, status: str, timeout: float = 10, payment: str | None = None
) -> dict[str, Any]:
    """The start once it has ``status`` (and its payment ``payment``: a failed start's hold is released
    just after the start is marked failed)."""
    deadline = time.monotonic() + timeout
    while True:
        body = (await http.get(url)).json()
        paid = payment is None or (body["payment"] or {}).get("status") == payment
        if body["status"] == status and paid or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.1)


def payment_entries(paying: Paying, payment_id: str) -> list[tuple[str, str, int]]:
    with paying.container.services.uow(read_only=True) as uow:
        entries = [
            e
            for e in uow.ledger.entries(paying.operator_id, after=None, limit=10_000)
            if e.reference == f"payment:{payment_id}"
        ]
    return [
        (entry.cause.value, posting.account, posting.amount)
        for entry in entries
        for posting in entry.postings
    ]


def test_the_payment_link_shows_the_place_the_full_price_incl_vat_and_the_hold(paying: Paying) -> None:
    _, evse = paying.station()

    async def scenario() -> Any:
        async with client(paying) as http:
            return await http.get(f"/pay/{evse}")

    link = run(scenario())

    assert link.status_code == 200
    body = link.json()
    assert body["evse_uid"] == evse
    assert body["location"]["city"] == "Amsterdam"
    assert body["currency"] == "EUR"
    assert body["price_text"] == "start EUR 0.4235; EUR 0.4719/kWh. Incl. VAT."
    # 0.35 x 1.21 = 0.4235 per session; 0.39 x 1.21 = 0.4719 per kWh
    assert [(c["dimension"], c["unit"], c["price_incl_vat"]) for c in body["price_components"]] == [
        ("FLAT", "session", "0.4235"),
        ("ENERGY", "kWh", "0.4719"),
    ]
    assert body["hold"] == "50.00"
    assert body["start_url"] == f"/pay/{evse}/start"


def test_an_ad_hoc_session_is_held_started_remotely_and_captured_at_the_stop(paying: Paying) -> None:
    charge_point_id, evse = paying.station()
    begin = datetime.now(UTC) - timedelta(hours=1)

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            await station.call(call16.BootNotification(charge_point_model="E2E", charge_point_vendor="Test"))
            first = await start(http, evse, key="driver-request-1")
            again = await start(http, evse, key="driver-request-1")  # the same request, resent
            other = await start(http, evse, key="driver-request-2")  # another driver, same EVSE
            paid_at(paying, first, begin)  # the driver paid just before the start
            tag = first.json()["id_tag"]
            authorized = await station.call(call16.Authorize(id_tag=tag))  # AuthorizeRemoteTxRequests
            started = await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=tag, meter_start=1_000_000, timestamp=iso(begin)
                )
            )
            status_url = first.json()["status_url"]
            charging = await until(http, status_url, "charging")
            await station.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=started.transaction_id,
                    meter_value=[meter(begin + timedelta(minutes=30), 1_005_000)],
                )
            )
            await station.call(
                call16.StopTransaction(
                    meter_stop=1_010_000,
                    timestamp=iso(begin + timedelta(hours=1)),
                    transaction_id=started.transaction_id,
                    reason="EVDisconnected",
                )
            )
            finished = await until(http, status_url, "finished")
            return first, again, other, authorized, started, charging, finished, station.remote_starts

    first, again, other, authorized, started, charging, finished, remote_starts = run(scenario())

    # Then one hold, one remote start with the start's idTag, and the session linked to the hold
    assert first.status_code == 201
    assert first.json()["status"] == "starting"
    assert first.json()["payment"]["status"] == "authorised"
    assert first.json()["payment"]["authorised"] == "50.00"
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409
    assert remote_starts == [{"id_tag": first.json()["id_tag"], "connector_id": 1}]
    assert len(first.json()["id_tag"]) == 20
    assert authorized.id_tag_info["status"] == "Accepted"
    assert started.id_tag_info["status"] == "Accepted"
    assert charging["session_id"] is not None
    # And at the stop 5.14 is captured, 44.86 released, the fee 0.32 recorded
    assert finished["captured"] == "5.14"
    payment = finished["payment"]
    assert (payment["status"], payment["captured"], payment["released"], payment["fees"]) == (
        "captured",
        "5.14",
        "44.86",
        "0.32",
    )
    assert finished["receipt_url"] == f"/pay/{finished['evse_uid']}/starts/{finished['id']}/receipt"
    # And each money event posted its balanced entry; the books reconcile
    subject = f"receivable:adhoc:{finished['id']}"
    assert payment_entries(paying, payment["id"]) == [
        ("payment_captured", "gateway_clearing:sandbox", 514),
        ("payment_captured", subject, -514),
        ("gateway_fee", "gateway_fees", 32),
        ("gateway_fee", "gateway_clearing:sandbox", -32),
    ]
    assert check_books(paying.container.services, operator_ids=[paying.operator_id]).findings == ()
    # And the session was receipted at the capture, once: the start's receipt link gives that
    # receipt (5.14, paid by the capture), and its entry nets the start's receivable to 0
    with paying.container.services.uow(read_only=True) as uow:
        made = uow.invoices.receipt_of_session(paying.operator_id, finished["session_id"])
        open_balance = {b.account: b.balance for b in uow.ledger.balances(paying.operator_id)}[subject]
    assert made is not None
    # the driver, who has no API key, opens the receipt link: the receipt's PDF
    pdf = httpx.get(paying.http + finished["receipt_url"], timeout=20)
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf"), pdf.text
    assert pdf.content.startswith(b"%PDF-")
    assert f'filename="{made.number}.pdf"' in pdf.headers["content-disposition"]
    # and the operator's API gives the same receipt for the session
    session_receipt = f"/api/v1/sessions/{finished['session_id']}/receipt"
    linked = httpx.post(paying.http + session_receipt, headers=admin(paying), timeout=20).json()
    assert (linked["id"], linked["number"]) == (made.id, made.number)
    assert (linked["kind"], linked["status"], linked["paid"], linked["totals"]["payable"]) == (
        "receipt",
        "paid",
        "5.14",
        "5.14",
    )
    assert open_balance == 0


def test_an_ad_hoc_session_with_microsecond_timestamps_is_captured_at_the_stop(paying: Paying) -> None:
    """Start .123456, stop 1 h and .815878 s later (3600.692422 s, sent with its microseconds): the
    stop closes the session and 10 kWh are captured, 5.14, the rest of the hold released."""
    charge_point_id, evse = paying.station()
    begin = (datetime.now(UTC) - timedelta(hours=1, seconds=5)).replace(microsecond=123456)
    end = begin + timedelta(hours=1, microseconds=692422)

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            await station.call(call16.BootNotification(charge_point_model="E2E", charge_point_vendor="Test"))
            first = await start(http, evse)
            paid_at(paying, first, begin)
            tag = first.json()["id_tag"]
            started = await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=tag, meter_start=2_000_000, timestamp=iso(begin)
                )
            )
            status_url = first.json()["status_url"]
            await until(http, status_url, "charging")
            await station.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=started.transaction_id,
                    meter_value=[meter(begin + timedelta(minutes=30, microseconds=1), 2_005_000)],
                )
            )
            stopped = await station.call(
                call16.StopTransaction(
                    meter_stop=2_010_000,
                    timestamp=iso(end),
                    transaction_id=started.transaction_id,
                    reason="EVDisconnected",
                )
            )
            finished = await until(http, status_url, "finished", payment="captured")
            return stopped, finished

    stopped, finished = run(scenario())

    assert iso(end).endswith(".815878Z")
    assert stopped.id_tag_info is None or stopped.id_tag_info["status"] == "Accepted"
    assert finished["captured"] == "5.14"
    payment = finished["payment"]
    assert (payment["status"], payment["captured"], payment["released"]) == ("captured", "5.14", "44.86")
    with paying.container.services.uow(read_only=True) as uow:
        session = uow.sessions.get(paying.operator_id, finished["session_id"])
    assert session is not None
    assert (session.started_at, session.ended_at) == (begin, end)  # as sent
    assert session.charging_s == Decimal("3600.692")
    assert session.total_incl_vat_minor == 514
    assert check_books(paying.container.services, operator_ids=[paying.operator_id]).findings == ()


def test_a_charger_whose_clock_runs_ahead_keeps_the_hold_until_the_operator_prices_the_session(
    paying: Paying,
) -> None:
    # Given a charger whose clock runs an hour ahead: its start is stamped 1 minute ahead (within the
    # clock skew), its stop, sent right after, 60 minutes ahead with 10 kWh (the tester's case)
    charge_point_id, evse = paying.station()
    now = datetime.now(UTC)

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            first = await start(http, evse)
            tag = first.json()["id_tag"]
            started = await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=tag, meter_start=0, timestamp=iso(now + timedelta(minutes=1))
                )
            )
            status_url = first.json()["status_url"]
            await until(http, status_url, "charging")
            await station.call(
                call16.StopTransaction(
                    meter_stop=10_000,
                    timestamp=iso(now + timedelta(minutes=60)),
                    transaction_id=started.transaction_id,
                    reason="EVDisconnected",
                )
            )
            await asyncio.sleep(1.5)  # the sweep (every 0.3 s) had its chances to settle the start
            return (await http.get(status_url)).json()

    waiting = run(scenario())

    # Then the session, whose stop is after the server's clock, has no plausible time and no energy:
    # it awaits review, and the hold is neither released (10 kWh free) nor captured
    session, details, receipt = _session_and_receipt(paying, waiting["session_id"])
    assert session.status.value == "REVIEW"
    assert session.started_at == session.ended_at
    assert "implausible_stop" in [a["flag"] for a in details["anomalies"]]
    assert waiting["status"] == "charging"
    assert waiting["payment"]["status"] == "authorised"
    assert receipt is None
    # When, once the server's clock has passed the charger's stop (an hour later: an end ahead of the
    # server's clock stays implausible), the operator prices it over the charger's own 59 minutes:
    # 10 kWh, 5.14 is captured
    an_hour_later = now + timedelta(minutes=61)
    rerate_session(
        replace(paying.container.services, clock=FixedClock(an_hour_later)),
        platform_actor(paying.operator_id),
        session.id,
        reason="the charger's clock ran an hour ahead",
        ended_at=session.started_at + timedelta(minutes=59),
    )

    async def settled() -> Any:
        async with client(paying) as http:
            return await until(http, waiting["status_url"], "finished", payment="captured")

    finished = run(settled())
    assert finished["captured"] == "5.14"
    assert (finished["payment"]["status"], finished["payment"]["released"]) == ("captured", "44.86")


def test_a_declined_card_starts_nothing(paying: Paying) -> None:
    charge_point_id, evse = paying.station()

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            answer = await start(http, evse, token="tok_declined")
            return answer, station.remote_starts

    answer, remote_starts = run(scenario())

    assert answer.status_code == 201
    assert answer.json()["status"] == "failed"
    assert answer.json()["failure"] == "declined: card_declined"
    assert remote_starts == []


def test_3d_secure_then_the_station_never_starts_and_the_hold_is_released(paying: Paying) -> None:
    charge_point_id, evse = paying.station()
    begin = datetime.now(UTC) - timedelta(minutes=5)

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            asked = await start(http, evse, token="tok_3ds")
            confirmed = await http.post(asked.json()["confirm_url"])
            # no StartTransaction within 2 s: failed, and the hold released just after
            failed = await until(http, asked.json()["status_url"], "failed", payment="released")
            late = await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=asked.json()["id_tag"], meter_start=0, timestamp=iso(begin)
                )
            )
            return asked, confirmed, failed, late, station.remote_starts

    asked, confirmed, failed, late, remote_starts = run(scenario())

    assert asked.json()["status"] == "requires_action"
    assert asked.json()["next_action_url"].startswith("https://sandbox.evbill.invalid/3ds/")
    assert confirmed.json()["status"] == "starting"
    assert len(remote_starts) == 1
    assert failed["failure"] == "the station did not start the session in time"
    assert failed["payment"]["status"] == "released"
    assert failed["payment"]["released"] == "50.00"
    assert late.id_tag_info["status"] == "Invalid"  # the station is told to stop: nothing pays for it
    assert late.transaction_id == 0  # and no session is opened for it


@pytest.mark.parametrize(
    ("answer", "failure"),
    [
        ("Rejected", "the station rejected the start"),
        ("silent", "the station did not answer the start in time"),
        ("offline", "the station is offline"),
    ],
)
def test_a_start_the_station_does_not_accept_releases_the_hold(
    paying: Paying, answer: str, failure: str
) -> None:
    charge_point_id, evse = paying.station()

    async def scenario() -> Any:
        async with client(paying) as http:
            if answer == "offline":
                return await start(http, evse)
            async with charger(paying, charge_point_id, answer=answer):
                return await start(http, evse)

    answered = run(scenario()).json()

    assert answered["status"] == "failed"
    assert answered["failure"] == failure
    assert (answered["payment"]["status"], answered["payment"]["released"]) == ("released", "50.00")


def test_a_session_that_delivered_no_energy_releases_the_hold(paying: Paying) -> None:
    # the tariff has a start fee (0.4235 incl. VAT), but a session that delivered nothing is not charged
    charge_point_id, evse = paying.station()
    begin = datetime.now(UTC) - timedelta(minutes=5)

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            first = await start(http, evse)
            paid_at(paying, first, begin)  # the driver paid just before the start
            started = await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=first.json()["id_tag"], meter_start=500, timestamp=iso(begin)
                )
            )
            await station.call(
                call16.StopTransaction(
                    meter_stop=500,
                    timestamp=iso(begin + timedelta(minutes=1)),
                    transaction_id=started.transaction_id,
                )
            )
            return await until(http, first.json()["status_url"], "finished")

    finished = run(scenario())

    assert finished["captured"] == "0.00"
    assert (finished["payment"]["status"], finished["payment"]["released"]) == ("released", "50.00")
    assert payment_entries(paying, finished["payment"]["id"]) == []  # a release moves no money


def test_a_free_session_releases_the_whole_hold(paying: Paying) -> None:
    from evbill.application.access.keys import platform_actor
    from evbill.application.tariffs import catalog
    from evbill.domain.tariffs.catalog import AssignmentScope

    charge_point_id, evse = paying.station()
    services = paying.container.services
    free = {
        "country_code": "NL",
        "party_id": "EVB",
        "id": f"FREE-{secrets.token_hex(2)}",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0, "vat": 21.0, "step_size": 1}]}],
        "last_updated": "2026-01-01T00:00:00Z",
    }
    tariff = catalog.create_tariff(services, platform_actor(paying.operator_id), free)
    catalog.assign_tariff(
        services,
        platform_actor(paying.operator_id),
        tariff_id=tariff.record.id,
        scope=AssignmentScope.EVSE,
        scope_id=evse,
    )
    begin = datetime.now(UTC) - timedelta(minutes=5)

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            first = await start(http, evse)
            paid_at(paying, first, begin)  # the driver paid just before the start
            started = await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=first.json()["id_tag"], meter_start=0, timestamp=iso(begin)
                )
            )
            await station.call(
                call16.StopTransaction(
                    meter_stop=0,
                    timestamp=iso(begin + timedelta(minutes=1)),
                    transaction_id=started.transaction_id,
                )
            )
            return await until(http, first.json()["status_url"], "finished")

    finished = run(scenario())

    assert finished["captured"] == "0.00"
    assert (finished["payment"]["status"], finished["payment"]["released"]) == ("released", "50.00")
    assert payment_entries(paying, finished["payment"]["id"]) == []  # a release moves no money


def test_the_session_is_stopped_remotely_before_its_cost_passes_the_hold(paying: Paying) -> None:
    charge_point_id, evse = paying.station()
    begin = datetime.now(UTC) - timedelta(hours=1)

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            held = await http.put(
                "/api/v1/hold-amounts",
                json={"location_id": paying.location_id, "amount": "5.00", "currency": "EUR"},
                headers=admin(paying),
            )
            first = await start(http, evse)
            paid_at(paying, first, begin)  # the driver paid just before the start
            await http.put(
                "/api/v1/hold-amounts",
                json={"location_id": paying.location_id, "amount": "50.00", "currency": "EUR"},
                headers=admin(paying),
            )
            started = await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=first.json()["id_tag"], meter_start=0, timestamp=iso(begin)
                )
            )
            tx = started.transaction_id
            # 5 kWh: 0.35 + 1.95 = 2.30 x 1.21 = 2.783 -> 2.78, well below 5.00
            await station.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[meter(begin + timedelta(minutes=20), 5_000)],
                )
            )
            await asyncio.sleep(1.5)
            stops_at_5_kwh = list(station.remote_stops)
            # 9 kWh: 4.67, within a tenth of the 5.00 hold (and rising 1.89 a push): stop
            await station.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[meter(begin + timedelta(minutes=40), 9_000)],
                )
            )
            deadline = time.monotonic() + 5
            while not station.remote_stops and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await station.call(
                call16.StopTransaction(
                    meter_stop=9_000,
                    timestamp=iso(begin + timedelta(minutes=41)),
                    transaction_id=tx,
                    reason="Remote",
                )
            )
            finished = await until(http, first.json()["status_url"], "finished")
            return held, first, stops_at_5_kwh, station.remote_stops, tx, finished

    held, first, stops_at_5_kwh, remote_stops, tx, finished = run(scenario())

    assert held.status_code == 200
    assert first.json()["hold"] == "5.00"
    assert stops_at_5_kwh == []
    assert remote_stops == [tx]
    assert finished["captured"] == "4.67"
    assert finished["payment"]["released"] == "0.33"


@pytest.mark.parametrize("subprotocol", ["ocpp2.0.1", "ocpp2.1"])
def test_ocpp_2_request_start_and_stop_with_the_answer_returned(paying: Paying, subprotocol: str) -> None:
    charge_point_id, evse = paying.station(subprotocol)
    calls = importlib.import_module(f"ocpp.{VERSION_MODULES[subprotocol]}.call")
    begin = datetime.now(UTC) - timedelta(hours=1)
    commands = paying.container.station_commands

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id, subprotocol) as station:
            first = await start(http, evse)
            paid_at(paying, first, begin)  # the driver paid just before the start
            tag = first.json()["id_tag"]
            started = await station.call(
                calls.TransactionEvent(
                    event_type="Started",
                    timestamp=iso(begin),
                    trigger_reason="RemoteStart",
                    seq_no=0,
                    transaction_info={"transaction_id": f"TX-{charge_point_id}", "remote_start_id": 1},
                    id_token={"id_token": tag, "type": "Central"},
                    evse={"id": 1, "connector_id": 1},
                    meter_value=[
                        {
                            "timestamp": iso(begin),
                            "sampled_value": [{"value": 0, "measurand": "Energy.Active.Import.Register"}],
                        }
                    ],
                )
            )
            await until(http, first.json()["status_url"], "charging")
            stop = await asyncio.to_thread(
                commands.remote_stop, charge_point_id=charge_point_id, transaction_id=f"TX-{charge_point_id}"
            )
            unknown = await asyncio.to_thread(
                commands.remote_stop, charge_point_id="CP-NOWHERE", transaction_id=f"TX-{charge_point_id}"
            )
            await station.call(
                calls.TransactionEvent(
                    event_type="Ended",
                    timestamp=iso(begin + timedelta(hours=1)),
                    trigger_reason="RemoteStop",
                    seq_no=1,
                    transaction_info={"transaction_id": f"TX-{charge_point_id}", "stopped_reason": "Remote"},
                    meter_value=[
                        {
                            "timestamp": iso(begin + timedelta(hours=1)),
                            "sampled_value": [
                                {"value": 10_000, "measurand": "Energy.Active.Import.Register"}
                            ],
                        }
                    ],
                )
            )
            finished = await until(http, first.json()["status_url"], "finished")
            return first, station.remote_starts, started, stop, unknown, station.remote_stops, finished

    first, remote_starts, started, stop, unknown, remote_stops, finished = run(scenario())

    assert remote_starts[0]["id_token"] == {"id_token": first.json()["id_tag"], "type": "Central"}
    assert remote_starts[0]["evse_id"] == 1
    assert started.id_token_info["status"] == "Accepted"
    assert (stop, unknown) == (CommandAnswer.ACCEPTED, CommandAnswer.NOT_CONNECTED)
    assert remote_stops == [f"TX-{charge_point_id}"]
    assert finished["captured"] == "5.14"  # 10 kWh, as in the 1.6 session


def test_an_unknown_evse_is_not_found_and_the_qr_code_is_the_operators_own(paying: Paying) -> None:
    _, evse = paying.station()

    async def scenario() -> Any:
        async with client(paying) as http:
            return (
                await http.get("/pay/00000000-0000-0000-0000-000000000000"),
                await start(http, "00000000-0000-0000-0000-000000000000"),
                await http.get(f"/api/v1/evses/{evse}/payment-qr.png", headers=admin(paying)),
                await http.get(f"/api/v1/evses/{evse}/payment-qr.svg", headers=admin(paying)),
                await start(http, evse, token="4242 4242 4242 4242"),
                await start(http, evse, token="tok_unknown"),
                await start(http, evse),  # the next driver (the station is not connected here)
            )

    link, started, png, svg, card_number, unknown_token, still_free = run(scenario())

    assert (link.status_code, started.status_code) == (404, 404)
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    assert card_number.status_code == 422
    assert "4242" not in card_number.text
    # a token the gateway does not know is refused naming the field, and leaves the EVSE free
    assert unknown_token.status_code == 422
    assert [e["path"] for e in unknown_token.json()["errors"]] == ["$.payment_method"]
    assert (still_free.status_code, still_free.json()["failure"]) == (201, "the station is offline")


@pytest.mark.postgres
def test_concurrent_starts_at_one_evse_give_one_hold(paying: Paying) -> None:
    if paying.dialect != "postgresql":
        pytest.skip("concurrency is PostgreSQL's")
    first_cp, first_evse = paying.station()
    second_cp, second_evse = paying.station()

    async def scenario() -> Any:
        async with (
            client(paying) as http,
            charger(paying, first_cp) as first,
            charger(paying, second_cp) as second,
        ):
            # four drivers at once at one EVSE; one driver's request sent three times at once at another
            others = await asyncio.gather(*(start(http, first_evse) for _ in range(4)))
            resent = await asyncio.gather(*(start(http, second_evse, key="one-driver") for _ in range(3)))
            return others, resent, first.remote_starts, second.remote_starts

    others, resent, first_starts, second_starts = run(scenario())

    assert sorted(answer.status_code for answer in others) == [201, 409, 409, 409]
    assert {answer.status_code for answer in resent} == {201}
    assert len({answer.json()["id"] for answer in resent}) == 1
    assert (len(first_starts), len(second_starts)) == (1, 1)
    with paying.container.services.uow(read_only=True) as uow:
        payments = uow.payments.list(paying.operator_id, after=None, limit=200)
        starts = [
            uow.session_payments.get_start(paying.operator_id, p.subject.removeprefix("adhoc:"))
            for p in payments
            if p.subject.startswith("adhoc:")
        ]
    held_at = [start.evse_id for start in starts if start is not None]
    assert (held_at.count(first_evse), held_at.count(second_evse)) == (1, 1)  # one hold each


def test_a_wallet_paid_session_is_stopped_before_the_wallet_runs_out_and_paid_from_it(paying: Paying) -> None:
    from evbill.application.access.keys import platform_actor
    from evbill.application.offers.customers import TOKENS, create_customer
    from evbill.application.offers.plans import create_contract, create_plan
    from evbill.application.payments.wallets import create_wallet, get_wallet, top_up_wallet
    from evbill.application.records import create
    from evbill.domain.offers.plans import PlanKind

    # Given a driver paying from a wallet holding 5.00
    services, owner = paying.container.services, platform_actor(paying.operator_id)
    uid = f"W-{secrets.token_hex(4)}"
    driver = create_customer(
        services,
        owner,
        {"kind": "INDIVIDUAL", "name": "W", "language": "nl", "currency": "EUR", "country": "NL"},
    )
    create(
        services,
        owner,
        TOKENS,
        {"customer_id": driver.id, "uid": uid, "type": "RFID", "contract_id": uid, "status": "ACTIVE"},
    )
    since = services.clock.now() - timedelta(days=1)  # the contract covers the session's start
    plan, _ = create_plan(
        services,
        owner,
        name=f"Wallet {uid}",
        kind=PlanKind.PAY_PER_USE,
        currency="EUR",
        version={"effective_from": since},
    )
    plan_id = plan.id
    create_contract(
        services,
        owner,
        customer_id=driver.id,
        start=since,
        end=None,
        activate=True,
        terms={
            "plan_id": plan_id,
            "billing_cycle": "MONTHLY",
            "payment_method": "PREPAID_WALLET",
            "payment_due_days": 14,
            "grace_days": 7,
            "credit_limit_minor": None,
        },
    )
    wallet = create_wallet(services, owner, customer_id=driver.id, currency="EUR").wallet
    top_up_wallet(
        services,
        paying.container.payment_gateway,
        owner,
        wallet.id,
        amount=500,
        payment_method="tok_visa",
        idempotency_key=f"top-up-{uid}",
    )
    charge_point_id, _ = paying.station()
    begin = datetime.now(UTC) - timedelta(minutes=50)

    async def scenario() -> Any:
        async with charger(paying, charge_point_id) as station:
            started = await station.call(
                call16.StartTransaction(connector_id=1, id_tag=uid, meter_start=0, timestamp=iso(begin))
            )
            tx = started.transaction_id
            await station.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[meter(begin + timedelta(minutes=20), 5_000)],
                )
            )
            await asyncio.sleep(1.5)
            early = list(station.remote_stops)
            await station.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[meter(begin + timedelta(minutes=40), 9_000)],
                )
            )
            deadline = time.monotonic() + 5
            while not station.remote_stops and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await station.call(
                call16.StopTransaction(
                    meter_stop=9_000,
                    timestamp=iso(begin + timedelta(minutes=41)),
                    transaction_id=tx,
                    reason="Remote",
                )
            )
            deadline = time.monotonic() + 5
            while get_wallet(services, owner, wallet.id).balance == 500 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            return started, early, station.remote_stops, tx

    started, early, remote_stops, tx = run(scenario())

    # Then the session was accepted, stopped at 4.67 (within a tenth of 5.00), and paid from the wallet
    assert started.id_tag_info["status"] == "Accepted"
    assert early == []
    assert remote_stops == [tx]
    assert get_wallet(services, owner, wallet.id).balance == 500 - 467


def _session_and_receipt(paying: Paying, session_id: str) -> tuple[Any, Any, Any]:
    with paying.container.services.uow() as uow:
        session = uow.sessions.get(paying.operator_id, session_id)
        details = uow.live_sessions.details(paying.operator_id, session_id)
        receipt = uow.invoices.receipt_of_session(paying.operator_id, session_id)
    return session, details, receipt


def test_a_charger_cannot_backdate_the_start_before_the_driver_paid(paying: Paying) -> None:
    # Given a start paid now, whose StartTransaction claims it began 45 hours ago, and a stop at
    # 1,000 kWh (the tester's s4: billed 1000 kWh, 402.15 left open against an anonymous driver)
    charge_point_id, evse = paying.station()
    begin = datetime.now(UTC) - timedelta(hours=45)

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            first = await start(http, evse)
            started = await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=first.json()["id_tag"], meter_start=0, timestamp=iso(begin)
                )
            )
            await station.call(
                call16.StopTransaction(
                    meter_stop=1_000_000,
                    timestamp=iso(datetime.now(UTC)),
                    transaction_id=started.transaction_id,
                )
            )
            return await until(http, first.json()["status_url"], "finished")

    finished = run(scenario())
    session, details, receipt = _session_and_receipt(paying, finished["session_id"])
    with paying.container.services.uow() as uow:
        paid = uow.session_payments.get_start(paying.operator_id, finished["id"])
    # Then the session begins when the driver asked, not before; it awaits review, nothing is billed
    # from the backdated readings, and nothing is left open against the driver
    assert paid is not None
    assert session.started_at == paid.created_at
    assert session.status.value == "REVIEW"
    assert "implausible_start" in [a["flag"] for a in details["anomalies"]]
    assert session.energy_wh == 0
    assert finished["captured"] == "0.00"
    assert finished["payment"]["status"] == "released"
    assert receipt is None


def test_a_session_costing_more_than_the_hold_takes_the_hold_and_waits_for_the_operator(
    paying: Paying,
) -> None:
    # Given a 5.00 hold and a charger that ignores the remote stop: 20 kWh in an hour on 22 kW,
    # 0.35 + 20 x 0.39 = 8.15 excl., x 1.21 = 9.8615 -> 9.86 incl. VAT
    charge_point_id, evse = paying.station()
    begin = datetime.now(UTC) - timedelta(hours=1)

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            await http.put(
                "/api/v1/hold-amounts",
                json={"location_id": paying.location_id, "amount": "5.00", "currency": "EUR"},
                headers=admin(paying),
            )
            first = await start(http, evse)
            paid_at(paying, first, begin)
            await http.put(
                "/api/v1/hold-amounts",
                json={"location_id": paying.location_id, "amount": "50.00", "currency": "EUR"},
                headers=admin(paying),
            )
            started = await station.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=first.json()["id_tag"], meter_start=0, timestamp=iso(begin)
                )
            )
            await station.call(
                call16.StopTransaction(
                    meter_stop=20_000,
                    timestamp=iso(begin + timedelta(hours=1)),
                    transaction_id=started.transaction_id,
                )
            )
            return await until(http, first.json()["status_url"], "finished")

    finished = run(scenario())
    session, details, receipt = _session_and_receipt(paying, finished["session_id"])
    # Then the hold is taken, never more; the rest is for the operator: the session is in review
    # (no receipt left open against an anonymous driver), and the text speaks in currency units
    assert session.total_incl_vat_minor == 986
    assert finished["captured"] == "5.00"
    assert finished["failure"] == (
        "the session cost 9.86 EUR, 4.86 EUR more than the hold of 5.00 EUR: at most the hold is taken;"
        " the session awaits review"
    )
    assert session.status.value == "REVIEW"
    assert details["review"][-1] == finished["failure"]
    assert receipt is None


def test_a_start_replayed_after_the_ad_hoc_session_ended_is_invalid_and_opens_nothing(paying: Paying) -> None:
    """10 kWh captured as 5.14 (see the module's docstring); the same StartTransaction again after the
    stop is answered Invalid, opens no second session, and its stop finds no transaction to price."""
    charge_point_id, evse = paying.station()
    begin = datetime.now(UTC) - timedelta(hours=1)

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id) as station:
            first = await start(http, evse)
            paid_at(paying, first, begin)
            tag = first.json()["id_tag"]
            start_call = call16.StartTransaction(
                connector_id=1, id_tag=tag, meter_start=1_000_000, timestamp=iso(begin)
            )
            started = await station.call(start_call)
            await station.call(
                call16.StopTransaction(
                    meter_stop=1_010_000, timestamp=iso(begin + timedelta(hours=1)),
                    transaction_id=started.transaction_id, reason="EVDisconnected",
                )
            )  # fmt: skip
            finished = await until(http, first.json()["status_url"], "finished")
            replayed = await station.call(start_call)
            stopped = await station.call(
                call16.StopTransaction(
                    meter_stop=1_040_000, timestamp=iso(begin + timedelta(hours=2)),
                    transaction_id=replayed.transaction_id, reason="DeAuthorized",
                )
            )  # fmt: skip
            await asyncio.sleep(0.5)
            return finished, replayed, stopped, (await http.get(first.json()["status_url"])).json()

    finished, replayed, stopped, after = run(scenario())

    assert finished["captured"] == "5.14"
    assert replayed.id_tag_info["status"] == "Invalid"
    assert replayed.transaction_id == 0
    assert stopped.id_tag_info is None
    with paying.container.services.uow(read_only=True) as uow:
        sessions = uow.sessions.list(paying.operator_id, filters={"evse_id": evse}, after=None, limit=10)
    assert [(session.id, session.status.value) for session in sessions] == [
        (finished["session_id"], "COMPLETED")
    ]
    assert (after["status"], after["captured"], after["payment"]["captured"]) == ("finished", "5.14", "5.14")


def test_an_ocpp_2_ad_hoc_session_whose_updated_comes_before_its_started_is_linked_and_captured(
    paying: Paying,
) -> None:
    """Registers 0 (Started, seqNo 0) -> 5000 (Updated, seqNo 1, sent first) -> 10000 Wh (Ended): 10 kWh,
    5.14 captured as in the 1.6 session; without the Started the session would be nobody's."""
    charge_point_id, evse = paying.station("ocpp2.0.1")
    calls = importlib.import_module("ocpp.v201.call")
    begin = datetime.now(UTC) - timedelta(hours=1)
    tx = f"TX-{charge_point_id}"

    def reading(moment: datetime, wh: int) -> list[dict[str, Any]]:
        return [
            {
                "timestamp": iso(moment),
                "sampled_value": [{"value": wh, "measurand": "Energy.Active.Import.Register"}],
            }
        ]

    async def scenario() -> Any:
        async with client(paying) as http, charger(paying, charge_point_id, "ocpp2.0.1") as station:
            first = await start(http, evse)
            paid_at(paying, first, begin)
            tag = first.json()["id_tag"]
            await station.call(
                calls.TransactionEvent(
                    event_type="Updated", timestamp=iso(begin + timedelta(minutes=30)),
                    trigger_reason="MeterValuePeriodic", seq_no=1, transaction_info={"transaction_id": tx},
                    meter_value=reading(begin + timedelta(minutes=30), 5_000),
                )
            )  # fmt: skip
            started = await station.call(
                calls.TransactionEvent(
                    event_type="Started", timestamp=iso(begin), trigger_reason="RemoteStart", seq_no=0,
                    transaction_info={"transaction_id": tx, "remote_start_id": 1},
                    id_token={"id_token": tag, "type": "Central"}, evse={"id": 1, "connector_id": 1},
                    meter_value=reading(begin, 0),
                )
            )  # fmt: skip
            ended = await station.call(
                calls.TransactionEvent(
                    event_type="Ended", timestamp=iso(begin + timedelta(hours=1)),
                    trigger_reason="EVDeparted", seq_no=2,
                    transaction_info={"transaction_id": tx, "stopped_reason": "EVDisconnected"},
                    meter_value=reading(begin + timedelta(hours=1), 10_000),
                )
            )  # fmt: skip
            finished = await until(http, first.json()["status_url"], "finished")
            return started, ended, finished

    started, ended, finished = run(scenario())

    assert started.id_token_info["status"] == "Accepted"
    assert ended.total_cost == 5.14
    assert finished["captured"] == "5.14"
    with paying.container.services.uow(read_only=True) as uow:
        session = uow.sessions.get(paying.operator_id, finished["session_id"])
    assert session is not None
    assert (session.transaction_id, session.token_uid, session.energy_wh) == (tx, finished["id_tag"], 10000)
