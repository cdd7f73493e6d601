"""Who a station is and what it may say: its registered OCPP version, OCPP-J message ids, transaction ids
that tell nothing, and authentication that answers alike, after the same work, whatever was wrong."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import replace

import pytest
import websockets

from evbill.application.charging.central_system import StationRefused, connect_station
from evbill.domain.sites.model import SecurityProfile
from tests.e2e.ocpp.conftest import PASSWORD, TOKEN, RawStation, basic, connect


def run(coroutine):
    return asyncio.run(coroutine)


def offer(live, subprotocols: list[str]):
    """The subprotocol agreed with the 1.6 station offering ``subprotocols``, or (status, body) refused."""

    async def scenario():
        try:
            async with websockets.connect(
                f"{live.url}/{live.charge_point_id}",
                subprotocols=subprotocols,
                additional_headers={"Authorization": basic(live.charge_point_id)},
            ) as socket:
                return socket.subprotocol
        except websockets.exceptions.InvalidStatus as refused:
            return refused.response.status_code, refused.response.body

    return run(scenario())


def test_a_station_speaks_the_ocpp_version_it_is_registered_for(live):
    assert offer(live, ["ocpp2.0.1"]) == (
        400, f"station {live.charge_point_id} is registered for ocpp1.6: offer it".encode()
    )  # fmt: skip
    assert offer(live, ["ocpp2.1", "ocpp2.0.1", "ocpp1.6"]) == "ocpp1.6"


@pytest.mark.parametrize(
    ("subprotocol", "code"), [("ocpp1.6", "FormationViolation"), ("ocpp2.0.1", "FormatViolation")]
)
def test_an_ocpp_message_id_has_at_most_36_characters(live, subprotocol, code):
    async def scenario():
        async with connect(live, subprotocol) as socket:
            station = RawStation(socket)
            fits = await station.send_raw(f'[2,"{"a" * 36}","Heartbeat",{{}}]')
            too_long = await station.send_raw(f'[2,"{"b" * 37}","Heartbeat",{{}}]')
            return fits, too_long

    fits, too_long = run(scenario())

    assert fits[:2] == [3, "a" * 36]
    assert too_long[:3] == [4, "b" * 37, code]


def test_ocpp_16_transaction_ids_are_random_not_a_platform_wide_counter(live):
    async def scenario():
        async with connect(live, "ocpp1.6") as socket:
            station = RawStation(socket)
            ids = []
            for minute in range(6):
                start = {
                    "connectorId": 1,
                    "idTag": TOKEN,
                    "meterStart": 0,
                    "timestamp": f"2026-11-16T10:0{minute}:00Z",
                }
                ids.append((await station.call("StartTransaction", start))[2]["transactionId"])
            return ids

    ids = run(scenario())

    assert len(set(ids)) == 6
    assert all(0 < number < 2**31 for number in ids)
    assert [later - earlier for earlier, later in zip(ids, ids[1:], strict=False)] != [1] * 5


@dataclasses.dataclass
class CountingHasher:
    """The real hasher, with the hashes each password was checked against written down."""

    real: object
    checked: list[str] = dataclasses.field(default_factory=list)

    def hash(self, password: str) -> str:
        return self.real.hash(password)  # type: ignore[attr-defined]

    def verify(self, password_hash: str, password: str) -> bool:
        self.checked.append(password_hash)
        return self.real.verify(password_hash, password)  # type: ignore[attr-defined]


def attempt(services, charge_point_id: str, password: str, *, secure: bool) -> tuple[str, int]:
    """(the refusal's words with the id taken out, how many argon2 checks it cost)."""
    counting = CountingHasher(services.passwords)
    try:
        connect_station(replace(services, passwords=counting), charge_point_id, password, secure=secure)
    except StationRefused as refused:
        return refused.message.replace(repr(charge_point_id), "<id>"), len(counting.checked)
    raise AssertionError("not refused")


def test_an_unknown_id_a_wrong_password_and_profile_2_without_tls_are_refused_alike_after_the_same_work(live):
    services = live.container.services
    charge_point_id, station_id = live.station_for("ocpp2.0.1")
    with services.uow() as uow:  # the 2.0.1 station demands TLS
        station = uow.stations.get(live.operator_id, station_id)
        uow.stations.update(
            replace(station, security_profile=SecurityProfile.TLS_BASIC, version=station.version + 1),
            expected_version=station.version,
        )
        uow.commit()

    unknown = attempt(services, "CP-NOBODY-HAS-THIS", "a-guessed-password-0001", secure=False)
    wrong = attempt(services, live.charge_point_id, "a-guessed-password-0001", secure=False)
    without_tls_right = attempt(services, charge_point_id, PASSWORD, secure=False)
    without_tls_wrong = attempt(services, charge_point_id, "a-guessed-password-0001", secure=False)

    assert unknown == wrong == without_tls_right == without_tls_wrong
    assert unknown[1] == 1  # one argon2 check each, known station or not
