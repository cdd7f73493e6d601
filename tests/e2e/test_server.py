"""The service as an operator runs it: `evbill db upgrade`, `evbill serve`, a real HTTP server."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import uvicorn

from evbill.entrypoints.cli.listening import listening_socket, worker_sockets

EVBILL = Path(sys.executable).with_name("evbill")


def run(*args, env):
    return subprocess.run([str(EVBILL), *args], capture_output=True, text=True, env=env, timeout=120)


def environment(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBILL_")}
    return {**env, "EVBILL_DATABASE_URL": f"sqlite:///{tmp_path / 'evbill.db'}", **extra}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_refuses_a_database_that_is_not_migrated(tmp_path):
    result = run("serve", "--port", str(free_port()), env=environment(tmp_path))

    assert result.returncode == 1
    assert "run `evbill db upgrade` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_then_status_says_current(tmp_path):
    env = environment(tmp_path)

    before = run("db", "status", env=env)
    upgraded = run("db", "upgrade", env=env)
    again = run("db", "upgrade", env=env)
    after = run("db", "status", env=env)

    assert before.returncode == 1
    assert upgraded.returncode == 0
    assert again.returncode == 0  # idempotent
    assert after.stdout.strip() == "current"


def test_an_operator_and_key_made_with_the_cli_work_against_a_real_server(tmp_path):
    env = environment(tmp_path)
    run("db", "upgrade", env=env)
    operator_id = run(
        "operator", "create", "--name", "CLI Op", "--country", "DE", "--currency", "EUR", env=env
    )
    key = run("apikey", "create", "--operator", operator_id.stdout.strip(), "--role", "admin", env=env)
    port = free_port()
    server = subprocess.Popen(
        [str(EVBILL), "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        operators = httpx.get(f"{base}/operators", headers={"Authorization": f"Bearer {key.stdout.strip()}"})
        unknown_op = run("apikey", "create", "--operator", "nope", "--role", "admin", env=env)
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert health.json() == {"status": "ok", "version": "0.1.0", "database": "ok", "schema_current": True}
    assert [o["name"] for o in operators.json()["items"]] == ["CLI Op"]
    assert unknown_op.returncode == 1
    assert "operator 'nope' not found" in unknown_op.stderr


def test_serve_with_workers_gives_each_worker_its_own_socket_on_the_port_with_nagle_off():
    config = uvicorn.Config("evbill.entrypoints.api.asgi:build", host="127.0.0.1", port=0, workers=2)

    listeners = worker_sockets(config)
    try:
        ports = {listener.getsockname()[1] for listener in listeners}
        for listener in listeners:
            listener.listen()  # as each worker's server does with the socket it is given
        with socket.create_connection(("127.0.0.1", ports.pop())) as client:
            accepted = _accept_on_any(listeners)
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0  # inherited
                assert client.fileno() >= 0
        assert len(listeners) == 2
        assert not ports  # both on the same port
        assert all(listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for listener in listeners)
    finally:
        for listener in listeners:
            listener.close()


def test_a_single_shared_socket_has_nagle_off_too():
    config = uvicorn.Config("evbill.entrypoints.api.asgi:build", host="127.0.0.1", port=0, workers=2)

    with listening_socket(config) as listener:
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def _accept_on_any(listeners):
    ready, _, _ = select.select(listeners, [], [], 5)
    accepted, _ = ready[0].accept()
    return accepted


def test_serve_demo_prints_working_keys_and_commands_for_the_port_it_listens_on(tmp_path):
    # Given a fresh database and a port other than the default
    env, port = environment(tmp_path), free_port()
    server = subprocess.Popen(
        [str(EVBILL), "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # When it has loaded the demo and says where it listens
        said: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(line.startswith("evbill API on") for line in said):
            said.append(server.stderr.readline())
        key = said[1].split(":", 1)[1].split()[0]
        base = f"http://127.0.0.1:{port}/api/v1"
        while time.monotonic() < deadline:
            try:
                sessions = httpx.get(
                    f"{base}/sessions", headers={"Authorization": f"Bearer {key}"}, timeout=5
                )
                break
            except httpx.TransportError:
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)

    # Then the commands it suggests name that port, and its key lists the demo's sessions
    hints = [line for line in said if line.startswith(("try: curl", "and watch chargers"))]
    assert len(hints) == 2
    assert f"http://127.0.0.1:{port}/api/v1/sessions" in hints[0]
    assert f"--url ws://127.0.0.1:{port}/ocpp" in hints[1]
    assert sessions.status_code == 200
    assert len(sessions.json()["items"]) == 50
