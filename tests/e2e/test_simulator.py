"""End to end: ``evbill simulate`` against a small CSMS of our own, over real websockets on 127.0.0.1.

The CSMS here is built on the ocpp library's central-system side, as the real one is: it checks
HTTP Basic auth (user = station id, password ``demo-{id}-password``) and the subprotocol, validates
every message against the OCPP JSON schemas, records every frame it receives (numbers read as exact
decimals) and prices each finished session at 0.35/kWh, which it reports back (1.6: DataTransfer
FinalCost; 2.0.1: totalCost in the Ended response, and a CostUpdated along the way).

Runs are seeded and fast: at speed 3600 a simulated hour takes a real second.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as CentralSystem16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as CentralSystem201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from evbill.entrypoints.simulator import (
    ChargerKind,
    FaultRates,
    OcppVersion,
    SimulationConfig,
    Summary,
    run_simulation,
)

EVBILL = Path(sys.executable).with_name("evbill")
KNOWN_TOKENS = {"04A1B2C3D4", "04E5F6A7B8", "04C9D0E1F2", "04B3A2C1D0"}
PRICE_PER_KWH = Decimal("0.35")
CENT = Decimal("0.01")
START = datetime(2026, 11, 17, 16, 0, tzinfo=UTC)


# --- the CSMS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One OCPP-J message the CSMS received: [2, id, action, payload] or [3, id, payload]."""

    station: str
    connection: int  # 1 on the station's first connection, 2 after its first reconnect, ...
    message: list[Any]

    @property
    def action(self) -> str | None:
        return self.message[2] if self.message[0] == 2 else None

    @property
    def payload(self) -> dict[str, Any]:
        return self.message[3]


@dataclass
class Csms:
    frames: list[Frame] = field(default_factory=list)
    connections: Counter[str] = field(default_factory=Counter)
    subprotocols: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    answers: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))  # to our calls
    pending_first_boot: bool = False  # answer a station's first BootNotification with Pending
    costs: dict[str, Decimal] = field(default_factory=dict)  # final cost per transaction id
    meter_starts: dict[str, int] = field(default_factory=dict)
    transaction_of: dict[str, int] = field(default_factory=dict)  # 1.6: StartTransaction's unique id
    next_transaction_id: int = 100
    url: str = ""

    def calls(self, station: str, *actions: str) -> list[Frame]:
        return [
            frame
            for frame in self.frames
            if frame.station == station and frame.action and (not actions or frame.action in actions)
        ]

    def boot_status(self, station: str) -> str:
        booted_before = any(frame.action == "BootNotification" for frame in self.calls(station)[:-1])
        return "Pending" if self.pending_first_boot and not booted_before else "Accepted"

    def price(self, transaction_id: str, meter_stop_wh: int) -> Decimal:
        energy = Decimal(meter_stop_wh - self.meter_starts[transaction_id]).scaleb(-3)
        cost = (energy * PRICE_PER_KWH).quantize(CENT, rounding=ROUND_HALF_UP)
        self.costs[transaction_id] = cost
        return cost


class Recording:
    """Mixed into the central-system ChargePoints: record each frame before handling it."""

    csms: Csms
    connection_number: int

    async def route_message(self, raw_msg: str) -> None:
        message = json.loads(raw_msg, parse_float=Decimal)
        self.csms.frames.append(Frame(self.id, self.connection_number, message))  # type: ignore[attr-defined]
        await super().route_message(raw_msg)  # type: ignore[misc]


class Csms16(Recording, CentralSystem16):
    @on("BootNotification")
    def on_boot(self, **_: Any):
        return result16.BootNotification(
            current_time=_now(), interval=300, status=self.csms.boot_status(self.id)
        )

    @after("BootNotification")
    async def ask_after_boot(self, **_: Any):
        answers = self.csms.answers[self.id]
        answers.append(await self.call(call16.GetConfiguration(key=["HeartbeatInterval"])))
        answers.append(await self.call(call16.ChangeConfiguration(key="HeartbeatInterval", value="600")))
        answers.append(await self.call(call16.ChangeConfiguration(key="Volume", value="11")))
        try:
            await self.call(call16.ClearCache(), suppress=False)
        except OCPPError as error:  # the station does not do that: NotImplemented
            answers.append(error)

    @on("Heartbeat")
    def on_heartbeat(self):
        return result16.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def on_status(self, **_: Any):
        return result16.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_tag: str):
        return result16.Authorize(id_tag_info={"status": "Accepted" if id_tag in KNOWN_TOKENS else "Invalid"})

    @on("StartTransaction")
    def on_start(self, meter_start: int, call_unique_id: str, **_: Any):
        self.csms.next_transaction_id += 1
        transaction_id = self.csms.next_transaction_id
        self.csms.meter_starts[str(transaction_id)] = meter_start
        self.csms.transaction_of[call_unique_id] = transaction_id
        return result16.StartTransaction(transaction_id=transaction_id, id_tag_info={"status": "Accepted"})

    @on("MeterValues")
    def on_meter_values(self, **_: Any):
        return result16.MeterValues()

    @on("StopTransaction")
    def on_stop(self, **_: Any):
        return result16.StopTransaction()

    @after("StopTransaction")
    async def report_final_cost(self, transaction_id: int, meter_stop: int, **_: Any):
        cost = self.csms.price(str(transaction_id), meter_stop)
        data = f'{{"transactionId": {transaction_id}, "cost": {cost}, "priceText": "{cost} EUR"}}'
        await self.call(
            call16.DataTransfer(vendor_id="org.openchargealliance.costmsg", message_id="FinalCost", data=data)
        )


class Csms201(Recording, CentralSystem201):
    @on("BootNotification")
    def on_boot(self, **_: Any):
        return result201.BootNotification(
            current_time=_now(), interval=300, status=self.csms.boot_status(self.id)
        )

    @after("BootNotification")
    async def ask_after_boot(self, **_: Any):
        answers = self.csms.answers[self.id]
        wanted = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]
        answers.append(await self.call(call201.GetVariables(get_variable_data=wanted)))
        message = {
            "id": 1,
            "priority": "NormalCycle",
            "message": {"format": "UTF8", "content": "0.35 EUR/kWh"},
        }
        answers.append(await self.call(call201.SetDisplayMessage(message=message)))

    @on("Heartbeat")
    def on_heartbeat(self):
        return result201.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def on_status(self, **_: Any):
        return result201.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **_: Any):
        status = "Accepted" if id_token["id_token"] in KNOWN_TOKENS else "Invalid"
        return result201.Authorize(id_token_info={"status": status})

    @on("TransactionEvent")
    def on_transaction_event(self, event_type: str, transaction_info: dict[str, Any], **payload: Any):
        transaction_id = transaction_info["transaction_id"]
        register = _energy_wh(payload["meter_value"][0]["sampled_value"])
        if event_type == "Started":
            self.csms.meter_starts.setdefault(transaction_id, register)
        if event_type == "Ended":
            return result201.TransactionEvent(total_cost=float(self.csms.price(transaction_id, register)))
        return result201.TransactionEvent()

    @after("TransactionEvent")
    async def report_running_cost(
        self, event_type: str, seq_no: int, transaction_info: dict[str, Any], **_: Any
    ):
        if event_type == "Updated" and seq_no == 1:
            await self.call(
                call201.CostUpdated(total_cost=0.42, transaction_id=transaction_info["transaction_id"])
            )


class Csms21(Csms201):
    """The same CSMS answering a 2.1 station: both ends check the 2.1 schemas."""

    _ocpp_version = "2.1"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _energy_wh(sampled_values: list[dict[str, Any]]) -> int:
    """The Energy.Active.Import.Register among sampled values (snake_case keys), in Wh."""
    for value in sampled_values:
        if value.get("measurand") == "Energy.Active.Import.Register":
            unit = value.get("unit_of_measure", {}).get("unit", "Wh")
            wh = Decimal(str(value["value"])) * (1000 if unit == "kWh" else 1)
            return int(wh)
    raise AssertionError(f"no energy register in {sampled_values}")


def _station_of(path: str) -> str:
    return unquote(path.rsplit("/", 1)[-1])


@pytest.fixture
def csms() -> Iterator[Csms]:
    """The CSMS, serving ws://127.0.0.1:<free port>/ocpp/{id} from a thread with its own event loop."""
    state = Csms()

    def check_credentials(connection: ServerConnection, request: Any) -> Any:
        station = _station_of(request.path)
        expected = base64.b64encode(f"{station}:demo-{station}-password".encode()).decode()
        if (
            not request.path.startswith("/ocpp/")
            or request.headers.get("Authorization") != f"Basic {expected}"
        ):
            state.refused.append(station)
            return connection.respond(HTTPStatus.UNAUTHORIZED, "unknown station or wrong password\n")
        return None

    async def handle(websocket: ServerConnection) -> None:
        if websocket.subprotocol is None:
            await websocket.close()
            return
        station = _station_of(websocket.request.path)
        state.connections[station] += 1
        state.subprotocols.add(websocket.subprotocol)
        kind = {"ocpp1.6": Csms16, "ocpp2.0.1": Csms201, "ocpp2.1": Csms21}[websocket.subprotocol]
        charge_point = kind(station, websocket)
        charge_point.csms, charge_point.connection_number = state, state.connections[station]
        try:
            await charge_point.start()
        except ConnectionClosed:
            pass

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stopping: list[asyncio.Event] = []

    async def main() -> None:
        async with serve(
            handle,
            "127.0.0.1",
            0,
            subprotocols=["ocpp1.6", "ocpp2.0.1", "ocpp2.1"],
            process_request=check_credentials,
        ) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            state.url = f"ws://127.0.0.1:{port}/ocpp"
            stopping.append(asyncio.Event())
            ready.set()
            await stopping[0].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield state
    loop.call_soon_threadsafe(stopping[0].set)
    thread.join(10)
    loop.close()


# --- helpers ----------------------------------------------------------------------------------------


def evbill(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it, without the user's EVBILL_* settings."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EVBILL_")}
    environment["COLUMNS"] = "160"
    return subprocess.run(
        [str(EVBILL), *arguments], cwd=folder, capture_output=True, text=True, env=environment, timeout=60
    )


def simulate(csms: Csms, version: OcppVersion, **changes: Any) -> Summary:
    config = SimulationConfig(
        url=csms.url,
        station_ids=("CP1", "CP2"),
        ocpp_version=version,
        seed=11,
        speed=3600,
        duration=25,
        connectors=2,
        sessions_per_station=2,
        arrivals_per_hour=6,
        meter_interval=120,
        chargers=(ChargerKind.DC150,),
        start=START,
        linger=0.3,
    )
    return asyncio.run(run_simulation(replace(config, **changes)))


def register_16(sampled_values: list[dict[str, Any]]) -> int:
    """The energy register among 1.6 sampled values, in Wh; 1.6 sends every value as a string."""
    (energy,) = [value for value in sampled_values if value["measurand"] == "Energy.Active.Import.Register"]
    assert isinstance(energy["value"], str)
    assert energy["unit"] in ("Wh", "kWh")
    return int(Decimal(energy["value"]) * (1000 if energy["unit"] == "kWh" else 1))


def register_201(meter_value: list[dict[str, Any]]) -> int:
    """The energy register of a 2.0.1 meterValue, in Wh; 2.0.1 sends numbers."""
    (energy,) = [
        value
        for value in meter_value[0]["sampledValue"]
        if value["measurand"] == "Energy.Active.Import.Register"
    ]
    assert isinstance(energy["value"], int | Decimal)
    unit = energy["unitOfMeasure"]["unit"]
    assert unit in ("Wh", "kWh")
    return int(energy["value"] * (1000 if unit == "kWh" else 1))


def transactions_16(csms: Csms, station: str) -> dict[int, list[tuple[int, Frame]]]:
    """Each CSMS transaction id with its Start, MeterValues and Stop as (position, frame), in order."""
    calls = csms.calls(station)
    found: dict[int, list[tuple[int, Frame]]] = defaultdict(list)
    for position, frame in enumerate(calls):
        if frame.action == "StartTransaction":
            found[csms.transaction_of[frame.message[1]]].append((position, frame))
        elif frame.action in ("MeterValues", "StopTransaction"):
            found[frame.payload["transactionId"]].append((position, frame))
    return dict(found)


def transactions_201(csms: Csms, station: str) -> dict[str, list[Frame]]:
    found: dict[str, list[Frame]] = defaultdict(list)
    for frame in csms.calls(station, "TransactionEvent"):
        found[frame.payload["transactionInfo"]["transactionId"]].append(frame)
    return dict(found)


def authorized_before(csms: Csms, station: str, frame: Frame, token: str, key: str) -> bool:
    calls = csms.calls(station)
    earlier = calls[: calls.index(frame)]
    return any(
        call.action == "Authorize"
        and (call.payload[key] == token or call.payload[key] == {"idToken": token, "type": "ISO14443"})
        for call in earlier
    )


def check_summary_matches(summary: Summary, csms: Csms, energy: dict[str, int]) -> None:
    """The simulator's own account agrees with what the CSMS received and priced."""
    for station in summary.stations:
        assert station.connected
        assert station.errors == 0
        for session in station.sessions:
            key = session.csms_transaction_id or session.transaction_id
            assert session.energy_wh == energy[key]
            assert station.final_costs[key] == csms.costs[key]


# --- a run without faults: every session complete, in protocol order, with exact energy ---------------


def test_ocpp16_stations_boot_charge_and_stop_in_protocol_order(csms: Csms) -> None:
    summary = simulate(csms, OcppVersion.V16)

    assert summary.total("sessions_finished") == 4
    assert csms.subprotocols == {"ocpp1.6"}
    assert not csms.refused
    energy: dict[str, int] = {}
    for station in ("CP1", "CP2"):
        calls = csms.calls(station)
        assert calls[0].action == "BootNotification"
        assert calls[0].payload["chargePointVendor"] == "evbill"
        transactions = transactions_16(csms, station)
        assert len(transactions) == 2
        for transaction_id, frames in transactions.items():
            actions = [frame.action for _, frame in frames]
            assert actions == ["StartTransaction", *["MeterValues"] * (len(frames) - 2), "StopTransaction"]
            assert [position for position, _ in frames] == sorted(position for position, _ in frames)
            start, stop = frames[0][1].payload, frames[-1][1].payload
            assert authorized_before(csms, station, frames[0][1], start["idTag"], "idTag")
            registers = [start["meterStart"]]
            registers += [
                register_16(frame.payload["meterValue"][0]["sampledValue"]) for _, frame in frames[1:-1]
            ]
            registers += [stop["meterStop"]]
            assert registers == sorted(registers)
            assert registers[-1] > registers[0] > 1_000_000
            assert register_16(stop["transactionData"][-1]["sampledValue"]) == stop["meterStop"]
            assert stop["reason"] in ("EVDisconnected", "Local")
            energy[str(transaction_id)] = stop["meterStop"] - start["meterStart"]
        statuses = [frame.payload["status"] for frame in csms.calls(station, "StatusNotification")]
        assert {"Available", "Preparing", "Charging", "SuspendedEV"} <= set(statuses)
    check_summary_matches(summary, csms, energy)
    for station in ("CP1", "CP2"):
        configuration, heartbeat_changed, unknown_key, clear_cache = csms.answers[station]
        assert configuration.configuration_key == [
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"}
        ]
        assert heartbeat_changed.status == "Accepted"
        assert unknown_key.status == "NotSupported"
        assert clear_cache.code == "NotImplemented"


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
def test_ocpp201_stations_send_transaction_events_with_increasing_seq_no(
    csms: Csms, version: OcppVersion
) -> None:
    summary = simulate(csms, version)

    assert summary.total("sessions_finished") == 4
    assert csms.subprotocols == {version.subprotocol}
    assert not csms.refused
    energy: dict[str, int] = {}
    for station in ("CP1", "CP2"):
        assert csms.calls(station)[0].action == "BootNotification"
        transactions = transactions_201(csms, station)
        assert len(transactions) == 2
        for transaction_id, frames in transactions.items():
            payloads = [frame.payload for frame in frames]
            assert [payload["seqNo"] for payload in payloads] == list(range(len(payloads)))
            assert [payload["eventType"] for payload in payloads] == (
                ["Started", *["Updated"] * (len(payloads) - 2), "Ended"]
            )
            started, ended = payloads[0], payloads[-1]
            assert started["triggerReason"] == "Authorized"
            assert started["evse"]["connectorId"] == 1
            assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"
            token = started["idToken"]["idToken"]
            assert authorized_before(csms, station, frames[0], token, "idToken")
            states = {payload["transactionInfo"]["chargingState"] for payload in payloads[1:-1]}
            assert states <= {"Charging", "SuspendedEV"}
            assert "Charging" in states
            assert not any(payload.get("offline") for payload in payloads)
            registers = [register_201(payload["meterValue"]) for payload in payloads]
            assert registers == sorted(registers)
            assert registers[-1] > registers[0]
            assert ended["transactionInfo"]["stoppedReason"] in ("EVDisconnected", "Local")
            energy[transaction_id] = registers[-1] - registers[0]
            running = [cost for cost in summary_station(summary, station).costs if not cost.final]
            assert any(
                cost.transaction == transaction_id and cost.amount == Decimal("0.42") for cost in running
            )
    check_summary_matches(summary, csms, energy)
    for station in ("CP1", "CP2"):
        variables, display = csms.answers[station]
        assert variables.get_variable_result == [
            {
                "attribute_status": "Accepted",
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
                "attribute_value": "300",
            }
        ]
        assert display.status == "Accepted"


def summary_station(summary: Summary, station_id: str) -> Any:
    (station,) = [station for station in summary.stations if station.station_id == station_id]
    return station


def test_a_seeded_run_sends_the_same_energy_again(csms: Csms) -> None:
    first = simulate(csms, OcppVersion.V201, station_ids=("CP1",), connectors=1, sessions_per_station=1)
    second = simulate(csms, OcppVersion.V201, station_ids=("CP1",), connectors=1, sessions_per_station=1)

    assert first.stations[0].sessions == second.stations[0].sessions


def test_a_pending_station_boots_again_and_then_charges(csms: Csms) -> None:
    csms.pending_first_boot = True

    summary = simulate(csms, OcppVersion.V16, station_ids=("CP1",), connectors=1, sessions_per_station=1)

    assert [frame.action for frame in csms.calls("CP1")[:2]] == ["BootNotification", "BootNotification"]
    assert csms.connections["CP1"] == 1
    assert summary.total("sessions_finished") == 1


# --- faults: offline buffering, faulted connectors, duplicates ------------------------------------------


OFFLINE_EVERY_SESSION = FaultRates(offline=1.0)


def test_ocpp201_offline_events_are_sent_after_reconnecting_in_order_marked_offline(csms: Csms) -> None:
    summary = simulate(
        csms, OcppVersion.V201, connectors=1, sessions_per_station=1, faults=OFFLINE_EVERY_SESSION
    )

    assert summary.total("outages") >= 2
    assert summary.total("sessions_finished") == 2
    for station in ("CP1", "CP2"):
        assert csms.connections[station] >= 2
        assert [frame.connection for frame in csms.calls(station, "BootNotification")] == [1]
        (frames,) = transactions_201(csms, station).values()
        assert [frame.payload["seqNo"] for frame in frames] == list(range(len(frames)))
        stamps = [frame.payload["timestamp"] for frame in frames]
        assert stamps == sorted(stamps)
        offline = [frame for frame in frames if frame.payload.get("offline") is True]
        assert offline, "some events were recorded while offline"
        assert all(frame.connection >= 2 for frame in offline)
        registers = [register_201(frame.payload["meterValue"]) for frame in frames]
        assert registers == sorted(registers)


def test_ocpp16_buffered_meter_values_arrive_late_in_order_without_gaps(csms: Csms) -> None:
    summary = simulate(
        csms, OcppVersion.V16, connectors=1, sessions_per_station=1, faults=OFFLINE_EVERY_SESSION
    )

    assert summary.total("outages") >= 2
    assert summary.total("sessions_finished") == 2
    spans_reconnect = False
    for station in ("CP1", "CP2"):
        assert csms.connections[station] >= 2
        (frames,) = transactions_16(csms, station).values()
        meter_values = [frame for _, frame in frames if frame.action == "MeterValues"]
        stamps = [
            datetime.fromisoformat(frame.payload["meterValue"][0]["timestamp"]) for frame in meter_values
        ]
        gaps = {(later - earlier).total_seconds() for earlier, later in zip(stamps, stamps[1:], strict=False)}
        assert gaps == {120.0}, "every periodic sample arrives, once, in order"
        connections = [frame.connection for frame in meter_values]
        assert connections == sorted(connections)
        spans_reconnect = spans_reconnect or len(set(connections)) > 1
        assert frames[-1][1].action == "StopTransaction"
    assert spans_reconnect


def test_ocpp16_a_faulted_connector_ends_its_transaction(csms: Csms) -> None:
    summary = simulate(csms, OcppVersion.V16, faults=FaultRates(faulted=1.0))

    stopped_by_fault = [
        frame for station in ("CP1", "CP2") for frame in csms.calls(station, "StopTransaction")
        if frame.payload["reason"] == "Other"
    ]  # fmt: skip
    assert stopped_by_fault
    for stop in stopped_by_fault:
        (start,) = [
            frame for _, frame in transactions_16(csms, stop.station)[stop.payload["transactionId"]][:1]
        ]
        connector = start.payload["connectorId"]
        calls = csms.calls(stop.station)
        statuses = [
            frame.payload
            for frame in calls[: calls.index(stop)]
            if frame.action == "StatusNotification" and frame.payload["connectorId"] == connector
        ]
        assert {"status": "Faulted", "errorCode": "GroundFailure"}.items() <= statuses[-1].items()
    assert summary.total("errors") == 0


def test_ocpp201_duplicates_repeat_a_transaction_event_with_its_id_or_its_content(csms: Csms) -> None:
    summary = simulate(
        csms,
        OcppVersion.V201,
        station_ids=("CP1",),
        connectors=1,
        sessions_per_station=1,
        faults=FaultRates(duplicate=1.0),
    )

    (frames,) = transactions_201(csms, "CP1").values()
    contents = Counter(json.dumps(frame.payload, sort_keys=True, default=str) for frame in frames)
    assert set(contents.values()) == {2}
    assert summary.stations[0].duplicates_sent == len(contents)
    unique_ids = Counter(frame.message[1] for frame in frames)
    assert 2 in unique_ids.values(), "some retried with the same unique id"
    assert 1 in unique_ids.values(), "some sent anew with the same content"


# --- the command ------------------------------------------------------------------------------------


def test_simulate_help_lists_the_options(tmp_path: Path) -> None:
    run = evbill(tmp_path, "simulate", "--help")

    assert run.returncode == 0
    for option in ("--url", "--stations", "--ocpp", "--password-template", "--speed", "--faults", "--json"):
        assert option in run.stdout


def test_simulate_prints_the_summary_as_json(csms: Csms, tmp_path: Path) -> None:
    run = evbill(
        tmp_path,
        "simulate", "--url", csms.url, "--stations", "2", "--ocpp", "2.0.1", "--sessions", "1",
        "--connectors", "1", "--speed", "3600", "--duration", "20", "--faults", "0", "--seed", "3",
        "--chargers", "dc150", "--arrival-rate", "30", "--json",
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout, parse_float=Decimal)
    assert summary["totals"]["sessions_finished"] == 2
    assert summary["totals"]["errors"] == 0
    assert [station["id"] for station in summary["stations"]] == ["SIM-001", "SIM-002"]
    energy = sum(
        Decimal(session["energy_kwh"]) for station in summary["stations"] for session in station["sessions"]
    )
    assert summary["totals"]["energy_kwh"] == energy > 0
    assert summary["totals"]["final_cost_total"] == sum(csms.costs.values())


def test_simulate_with_a_wrong_password_exits_1_with_the_http_status(csms: Csms, tmp_path: Path) -> None:
    run = evbill(
        tmp_path, "simulate", "--url", csms.url, "--password-template", "wrong-{id}", "--duration", "5"
    )

    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        f"error: station SIM-001: the CSMS refused {csms.url}/SIM-001: HTTP 401 Unauthorized"
    ]
    assert csms.refused == ["SIM-001"]


def test_a_station_that_cannot_reach_the_csms_is_reported_unreachable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"ws://127.0.0.1:{port}/ocpp"
    config = SimulationConfig(url=url, station_ids=("CP1",), duration=5, connect_attempts=2)

    summary = asyncio.run(run_simulation(config))

    (station,) = summary.unreachable
    assert station.connection_error is not None
    assert station.connection_error.startswith(f"cannot reach {url}/CP1: ")
    assert summary.total("messages_sent") == 0
