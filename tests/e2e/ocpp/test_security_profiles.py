"""OCPP security profile 2: HTTP Basic over TLS only. Plain ws is refused, even with a forged header."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
import time
from dataclasses import replace

import pytest
import uvicorn
import websockets

from evbill.adapters.db.migrate import upgrade
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.sites.model import SecurityProfile
from evbill.entrypoints.api.app import create_app
from tests.e2e.ocpp.conftest import RawStation, basic, free_port, seed


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    url = f"sqlite:///{folder / 'evbill.db'}"
    upgrade(url)
    settings = Settings(database_url=url, ocpp_cost_interval=0)
    container = bootstrap(settings)
    operator_id, station_id = seed(container, "CP-TLS-1")
    with container.services.uow() as uow:  # this station demands TLS
        station = uow.stations.get(operator_id, station_id)
        uow.stations.update(
            replace(station, security_profile=SecurityProfile.TLS_BASIC, version=station.version + 1),
            expected_version=station.version,
        )
        uow.commit()
    plain_port, tls_port = free_port(), free_port()
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                create_app(settings, container=container),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                **extra,
            )
        )
        # The plain server trusts no proxy (by default uvicorn trusts 127.0.0.1: a local TLS proxy).
        for port, extra in (
            (plain_port, {"forwarded_allow_ips": "192.0.2.1"}),  # a documentation address, never our peer
            (tls_port, {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}),
        )
    ]
    threads = [threading.Thread(target=server.run, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while not all(server.started for server in servers) and time.monotonic() < deadline:
        time.sleep(0.05)
    client_tls = ssl.create_default_context(cafile=str(cert))
    yield plain_port, tls_port, client_tls
    for server in servers:
        server.should_exit = True
    for thread in threads:
        thread.join(timeout=10)
    container.dispose()


def attempt(url: str, headers: dict, tls: ssl.SSLContext | None = None):
    async def go():
        try:
            async with websockets.connect(
                url, subprotocols=["ocpp1.6"], additional_headers=headers, ssl=tls
            ) as socket:
                return (await RawStation(socket).call("Heartbeat", {}))[0]
        except websockets.exceptions.InvalidStatus as refused:
            return refused.response.status_code

    return asyncio.run(go())


def test_a_profile_2_station_is_refused_over_plain_websockets(tls_server):
    plain_port, _, _ = tls_server

    status = attempt(f"ws://127.0.0.1:{plain_port}/ocpp/CP-TLS-1", {"Authorization": basic("CP-TLS-1")})

    assert status == 401


def test_a_forged_forwarded_proto_header_from_an_untrusted_peer_does_not_make_plain_websockets_secure(
    tls_server,
):
    plain_port, _, _ = tls_server
    headers = {"Authorization": basic("CP-TLS-1"), "X-Forwarded-Proto": "https"}

    assert attempt(f"ws://127.0.0.1:{plain_port}/ocpp/CP-TLS-1", headers) == 401


def test_a_profile_2_station_is_served_over_tls(tls_server):
    _, tls_port, client_tls = tls_server

    answer = attempt(
        f"wss://127.0.0.1:{tls_port}/ocpp/CP-TLS-1", {"Authorization": basic("CP-TLS-1")}, client_tls
    )

    assert answer == 3  # a CallResult: connected and answered


def test_over_plain_websockets_a_profile_2_station_gets_the_same_answer_with_a_right_or_a_wrong_password(
    tls_server,
):
    plain_port, _, _ = tls_server

    def answer(password: str):
        async def go():
            try:
                async with websockets.connect(
                    f"ws://127.0.0.1:{plain_port}/ocpp/CP-TLS-1",
                    subprotocols=["ocpp1.6"],
                    additional_headers={"Authorization": basic("CP-TLS-1", password)},
                ):
                    return None
            except websockets.exceptions.InvalidStatus as refused:
                return refused.response.status_code, refused.response.body

        return asyncio.run(go())

    right, wrong = answer("e2e-station-password-0001"), answer("not-the-password-0001")

    assert right == wrong
    assert right[0] == 401
