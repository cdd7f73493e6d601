"""The OCPP endpoint's payment sweep ends with the app (its lifespan), before the database goes.

Before, the sweep ran on in its thread after the server stopped; a test that then dropped its
PostgreSQL schema saw "settling due payments failed: relation adhoc_starts does not exist".
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from evbill.adapters.ocpp.server import OcppEndpoint
from evbill.adapters.ocpp.station import StationSettings
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.entrypoints.api.app import create_app


class SlowSweep:
    """A sweep that, once, waits inside its run until released (as a slow database would)."""

    def __init__(self) -> None:
        self.runs = 0
        self.inside = threading.Event()
        self.release = threading.Event()
        self.finished = 0

    def __call__(self) -> None:
        self.runs += 1
        if self.runs == 1:
            self.inside.set()
            assert self.release.wait(10)
        self.finished += 1


def endpoint_with(sweep: SlowSweep, tmp_path: Path) -> tuple[Settings, OcppEndpoint]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'sweep.db'}")
    container = bootstrap(settings)
    return settings, OcppEndpoint(
        container.services, None, StationSettings(), sweep=sweep, sweep_interval=0.01
    )  # type: ignore[arg-type]


def test_stopping_waits_for_the_sweep_under_way_and_starts_no_other(tmp_path: Path) -> None:
    sweep = SlowSweep()
    _, endpoint = endpoint_with(sweep, tmp_path)

    async def scenario() -> tuple[bool, tuple[int, int], int]:
        endpoint.start_sweeping()
        while not sweep.inside.is_set():
            await asyncio.sleep(0.01)
        stopping = asyncio.create_task(endpoint.stop_sweeping())
        await asyncio.sleep(0.1)
        waited = not stopping.done()  # the sweep in its thread is still running: stop waits for it
        sweep.release.set()
        await stopping
        runs = (sweep.runs, sweep.finished)
        endpoint.start_sweeping()  # a station connecting while the app stops starts nothing
        await asyncio.sleep(0.1)
        return waited, runs, sweep.runs

    async def served_again() -> int:
        endpoint.reopen()  # the app's lifespan starts again (on another loop)
        endpoint.start_sweeping()
        while sweep.runs < 3:
            await asyncio.sleep(0.01)
        await endpoint.stop_sweeping()
        return sweep.runs

    waited, runs_at_stop, runs_later = asyncio.run(scenario())
    runs_served_again = asyncio.run(served_again())

    assert waited
    assert runs_at_stop == (1, 1)  # stopped once the run under way had finished
    assert runs_later == 1
    assert runs_served_again >= 3
    assert sweep.finished == sweep.runs


def test_the_app_lifespan_stops_the_sweep(tmp_path: Path) -> None:
    sweep = SlowSweep()
    sweep.release.set()  # every run returns at once
    settings, endpoint = endpoint_with(sweep, tmp_path)
    container = bootstrap(settings)
    container.ocpp_endpoint = endpoint  # type: ignore[misc]
    app = create_app(settings, container=container)

    async def scenario() -> tuple[int, int]:
        async with app.router.lifespan_context(app):
            endpoint.start_sweeping()
            while sweep.runs < 3:
                await asyncio.sleep(0.01)
        after_stop = sweep.runs
        await asyncio.sleep(0.1)
        return after_stop, sweep.runs

    after_stop, later = asyncio.run(scenario())

    assert after_stop >= 3
    assert later == after_stop  # nothing ran after the app stopped
    assert sweep.finished == sweep.runs


@pytest.mark.parametrize("failure", ["boom"])
def test_a_failing_sweep_is_still_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    def failing() -> None:
        raise RuntimeError(failure)

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'sweep.db'}")
    endpoint = OcppEndpoint(
        bootstrap(settings).services, None, StationSettings(), sweep=failing, sweep_interval=0.01
    )  # type: ignore[arg-type]

    async def scenario() -> None:
        endpoint.start_sweeping()
        await asyncio.sleep(0.1)
        await endpoint.stop_sweeping()

    asyncio.run(scenario())

    assert "settling due payments failed: boom" in caplog.text
