"""A real browser against a real server: Debian's chromium driven by Playwright.

Playwright cannot download its own browsers here, so it drives ``/usr/bin/chromium`` (apt-get
install chromium; `.ci/run` installs it). Without that browser the tests skip and say why, except
under CI (the ``CI`` environment variable set), where a missing browser fails the run: CI must not
pass by testing nothing.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from evbill.application.access.keys import create_api_key, create_operator
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Role
from evbill.entrypoints.api.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope, not session: Playwright's sync API runs an event loop in this thread while it is
# open, and every later test that calls asyncio.run() would fail with "cannot be called from a
# running event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        reason = f"no browser at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI is set, so the browser tests must run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass(frozen=True)
class Server:
    url: str
    key: str  # an admin API key of the one operator


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """evbill's API on 127.0.0.1 (uvicorn in a thread) over a migrated SQLite file, one operator."""
    from evbill.adapters.db.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'evbill.sqlite3'}"
    upgrade(url)
    settings = Settings(database_url=url)
    container = bootstrap(settings)
    operator = create_operator(
        container.services, name="Browser Charging", legal_name="Browser Charging B.V.",
        country="NL", default_currency="EUR",
    )  # fmt: skip
    _, key = create_api_key(container.services, operator_id=operator.id, role=Role.ADMIN, name="browser")
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, container=container), host="127.0.0.1", port=port, log_level="warning"
    )
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uvicorn_server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start within 30 s"
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", key)
    uvicorn_server.should_exit = True
    thread.join(timeout=10)
    container.dispose()
