"""``evbill serve`` as an operator runs it: TLS with one worker; SIGTERM while a station is silent."""

from __future__ import annotations

import base64
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from evbill.adapters.db.migrate import upgrade
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.entrypoints.cli.server import SHUTDOWN_GRACE_SECONDS
from tests.e2e.ocpp.conftest import PASSWORD, seed

EVBILL = Path(sys.executable).with_name("evbill")


def _environment(database: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EVBILL_")}
    return {**env, "EVBILL_DATABASE_URL": database}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_port(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


def test_serve_with_one_worker_terminates_tls_itself(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    database = f"sqlite:///{tmp_path / 'evbill.db'}"
    upgrade(database)
    port = _free_port()
    server = subprocess.Popen(
        [str(EVBILL), "serve", "--port", str(port), "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
        env=_environment(database),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, server)
        trusted = ssl.create_default_context(cafile=str(cert))
        health = httpx.get(f"https://127.0.0.1:{port}/api/v1/health", verify=trusted, timeout=5)
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
            plain_answered = True
        except httpx.TransportError:
            plain_answered = False
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert health.status_code == 200
    assert health.json()["database"] == "ok"
    assert plain_answered is False  # the port speaks TLS only


def test_sigterm_stops_serve_even_while_a_station_never_answers_the_close(tmp_path: Path) -> None:
    # Given a station connected over a websocket whose charger then goes silent (reads nothing)
    database = f"sqlite:///{tmp_path / 'evbill.db'}"
    upgrade(database)
    seed(bootstrap(Settings(database_url=database)), "CP-SILENT")
    port = _free_port()
    server = subprocess.Popen(
        [str(EVBILL), "serve", "--port", str(port)],
        env=_environment(database),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    station = None
    try:
        _wait_for_port(port, server)
        station = socket.create_connection(("127.0.0.1", port), timeout=10)
        credentials = base64.b64encode(f"CP-SILENT:{PASSWORD}".encode()).decode()
        station.sendall(
            (
                f"GET /ocpp/CP-SILENT HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n"
                f"Authorization: Basic {credentials}\r\n\r\n"
            ).encode()
        )
        handshake = station.recv(4096)
        assert handshake.startswith(b"HTTP/1.1 101"), handshake
        station.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

        # When the service manager sends SIGTERM
        server.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            server.wait(timeout=SHUTDOWN_GRACE_SECONDS + 20)
        except subprocess.TimeoutExpired:
            pass
        took = time.monotonic() - started
    finally:
        if station is not None:
            station.close()
        if server.poll() is None:
            server.kill()
            server.wait()

    # Then evbill has stopped, within its grace period and a little more
    assert server.returncode is not None
    assert server.returncode != -signal.SIGKILL
    assert took < SHUTDOWN_GRACE_SECONDS + 10
