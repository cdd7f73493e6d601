"""`make run` as a newcomer meets it: the command it suggests is the README's, the port is chosen with
`make run PORT=...`, and a restart keeps the one demo key instead of minting new ones."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import REPO

EVBILL = Path(sys.executable).with_name("evbill")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def readme_simulate_command() -> str:
    """The README's simulate command, its continuation lines joined."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"```sh\n(\.venv/bin/evbill simulate .*?)\n```", text, re.DOTALL)
    assert block is not None
    return " ".join(part.strip() for part in block.group(1).split("\\\n"))


def serve_demo(database: Path, port: int, *, simulate: bool = False) -> tuple[list[str], str | None, str]:
    """Start ``evbill serve --demo``, read what it says until it listens, list sessions with the key
    it printed (if any), stop it; returns the lines and the key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBILL_")}
    env["EVBILL_DATABASE_URL"] = f"sqlite:///{database}"
    server = subprocess.Popen(
        [str(EVBILL), "serve", "--demo", "--port", str(port)],
        env=env, cwd=database.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    said: list[str] = []
    try:
        assert server.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(line.startswith("evbill API on") for line in said):
            said.append(server.stderr.readline().rstrip("\n"))
        keys = re.findall(r"(evb_[0-9a-f]+_[A-Za-z0-9_-]{20,})", "\n".join(said))
        key = keys[0] if keys else None
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        simulated = ""
        if simulate:  # the command it suggests, run as suggested (for 5 s instead of 60)
            command = next(line for line in said if line.startswith("and watch chargers: "))
            suggested = command.removeprefix("and watch chargers: ")
            ran = subprocess.run(
                f"{suggested} --duration 5", shell=True, env={**env, "COLUMNS": "200"},
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            simulated = ran.stdout
    finally:
        server.terminate()
        server.wait(timeout=15)
    return said, key, simulated


def test_make_run_suggests_the_readmes_command_and_a_restart_mints_no_key(tmp_path: Path) -> None:
    database, port = tmp_path / "evbill.db", free_port()
    # Given a first start on a fresh database
    first, key, _ = serve_demo(database, port)
    # Then it suggests exactly the README's simulate command (for its own program path and port)
    expected = readme_simulate_command().replace(".venv/bin/evbill", str(EVBILL), 1)
    expected = expected.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    assert f"and watch chargers: {expected}" in first
    assert key is not None
    # And it says how each demo invoice was paid (the amounts: tests/e2e/api/test_demo_payments.py)
    summary = "\n".join(first)
    for pattern in (
        r"AMS-\d{4}-000001 Demo Late Payer: overdue: 12\.09 EUR open since \d{4}-\d\d-15, "
        r"1 reminder\(s\) sent",
        r"AMS-\d{4}-\d{6} Demo Fleet: card on file, charged at issue: \d+\.\d\d EUR paid",
        r"AMS-\d{4}-\d{6} Demo Wallet: prepaid wallet: 12\.09 EUR paid from wallet ",
        r"AMS-\d{4}-\d{6} Demo Office: bank transfer: 12\.09 EUR by a camt\.053 statement, matched by its "
        r"reference RF\d\dAMS\d{10}",
        r"BAV-\d{4}-\d{6} Demo Fleet: refunded: 5\.00 of the \d+\.\d\d USD charged to the card",
    ):
        assert re.search(pattern, summary), pattern
    # And `evbill ledger check` finds its books sound
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBILL_")}
    checked = subprocess.run(
        [str(EVBILL), "ledger", "check"], env={**env, "EVBILL_DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (checked.returncode, checked.stdout.strip().endswith("sound")) == (0, True), checked.stdout
    prefix = key.split("_")[1]
    # When it is started again
    again, new_key, _ = serve_demo(database, port)
    # Then no key is printed in full, the demo key's prefix is, and how to make another
    assert new_key is None
    assert "demo data already loaded; its admin keys (shown in full at first start):" in again
    assert any(line.startswith("  Amsterdam Charging B.V.: evb_" + prefix + "_...") for line in again)
    assert any("evbill apikey create --operator <id> --role admin" in line for line in again)
    assert f"and watch chargers: {expected}" in again


def test_the_suggested_simulation_charges_the_demo_ac_stations_as_ac_and_explains_its_columns(
    tmp_path: Path,
) -> None:
    # Given the demo served / When the suggested simulate command runs against it
    _, _, simulated = serve_demo(tmp_path / "evbill.db", free_port(), simulate=True)
    # Then both AC stations charge as 22 kW AC, and a legend says what the columns count
    rows = [line.split() for line in simulated.splitlines() if line.strip().startswith(("AMS-", "HLM-"))]
    assert [(row[0], row[1]) for row in rows] == [("AMS-ZUID-AC1", "ac22"), ("HLM-STATION-AC1", "ac22")]
    legend = " ".join(simulated.split())
    assert "sessions: finished/started" in legend
    assert "final costs: sum of the final costs the CSMS sent" in legend


def test_make_run_takes_the_port_from_port() -> None:
    # When `make run PORT=8123` is planned (dry run)
    result = subprocess.run(
        ["make", "-n", "-C", str(REPO), "run", "PORT=8123"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    # Then evbill serves the demo on that port
    assert result.returncode == 0, result.stderr
    assert ".venv/bin/evbill serve --demo --host 127.0.0.1 --port 8123" in result.stdout
