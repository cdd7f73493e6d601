"""``evbill simulate``: charging stations that connect to a CSMS and charge cars, faster than life.

    evbill simulate --url ws://127.0.0.1:8000/ocpp --stations 20 --ocpp 2.0.1 --speed 60 --duration 120
    evbill simulate --url wss://csms.example/ocpp --ids CP1,CP2 --password-template 'demo-{id}-password'
    evbill simulate --url ws://127.0.0.1:8000/ocpp --stations 200 --faults 0 --seed 7 --json > run.json

Progress (stations connected, sessions, messages, errors) is a live line on stderr; the summary per
station and in total goes to stdout, as a table or, with ``--json``, as exact JSON. The exit status is
1, with an ``error:`` line per station, when a station could not connect at all.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evbill.entrypoints.cli.output import fail, write_json
from evbill.entrypoints.simulator.config import (
    DEFAULT_PASSWORD_TEMPLATE,
    DEFAULT_TOKENS,
    ConfigError,
    FaultRates,
    OcppVersion,
    SimulationConfig,
    station_ids,
)
from evbill.entrypoints.simulator.physics import ChargerKind

if TYPE_CHECKING:
    from evbill.entrypoints.simulator.summary import LiveCounters, Summary

EXIT_UNREACHABLE = 1
ERRORS_SHOWN = 5


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        url: Annotated[str, typer.Option(help="CSMS websocket base URL; each station adds /{id}.")],
        stations: Annotated[
            int | None, typer.Option(min=1, help="Number of stations (default 1, or as many as --ids).")
        ] = None,
        ocpp: Annotated[
            OcppVersion, typer.Option(help="Protocol version (subprotocol ocpp1.6/2.0.1/2.1).")
        ] = (OcppVersion.V16),
        ids: Annotated[
            str | None, typer.Option(help="Comma-separated station ids (instead of numbering).")
        ] = None,
        id_prefix: Annotated[str, typer.Option(help="Prefix of numbered station ids.")] = "SIM-",
        password_template: Annotated[
            str, typer.Option(help="Basic-auth password per station; {id} is the station id; '' sends none.")
        ] = DEFAULT_PASSWORD_TEMPLATE,
        tokens: Annotated[str, typer.Option(help="Comma-separated RFID uids the drivers use.")] = ",".join(
            DEFAULT_TOKENS
        ),
        duration: Annotated[float, typer.Option(min=0.1, help="Real seconds to run.")] = 60.0,
        speed: Annotated[float, typer.Option(min=0.01, help="Simulated seconds per real second.")] = 60.0,
        seed: Annotated[
            int | None,
            typer.Option(help="Seed for a reproducible run (default: random, shown in the summary)."),
        ] = None,
        connectors: Annotated[
            int, typer.Option(min=1, max=16, help="Connectors per station, each its own EVSE and meter.")
        ] = 1,
        sessions: Annotated[
            int | None, typer.Option(min=1, help="Stop once each station has had this many cars.")
        ] = None,
        arrival_rate: Annotated[
            float, typer.Option(min=0.001, help="Cars per free connector per hour.")
        ] = 2.0,
        meter_interval: Annotated[
            int, typer.Option(min=1, help="Simulated seconds between meter values.")
        ] = 60,
        chargers: Annotated[str, typer.Option(help="Charger kinds to draw from: ac11,ac22,dc50,dc150.")] = (
            "ac11,ac22,dc50,dc150"
        ),
        faults: Annotated[
            float, typer.Option(min=0.0, help="Fault rate multiplier; 0 turns faults off.")
        ] = 1.0,
        ca_file: Annotated[Path | None, typer.Option(help="CA certificate(s) to trust for wss://.")] = None,
        json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
        verbose: Annotated[bool, typer.Option(help="Log costs, outages and warnings on stderr.")] = False,
    ) -> None:
        """Simulate OCPP charging stations against a CSMS and summarize what they did."""
        try:
            config = SimulationConfig(
                url=url,
                station_ids=_station_ids(ids, stations, id_prefix),
                ocpp_version=ocpp,
                password_template=password_template or None,
                tokens=_split(tokens),
                duration=duration,
                speed=speed,
                seed=seed if seed is not None else random.SystemRandom().randrange(1_000_000),
                connectors=connectors,
                sessions_per_station=sessions,
                arrivals_per_hour=arrival_rate,
                meter_interval=meter_interval,
                chargers=_charger_kinds(chargers),
                faults=FaultRates.realistic(faults),
                ca_file=ca_file,
            )
        except ConfigError as error:
            fail(str(error))
        _configure_logging(verbose)
        summary = _run(config)
        _report(summary, json_output=json_output)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _station_ids(ids: str | None, stations: int | None, prefix: str) -> tuple[str, ...]:
    if ids is None:
        return station_ids(stations or 1, prefix=prefix)
    given = _split(ids)
    if stations is not None and stations != len(given):
        fail(f"--stations {stations} does not match the {len(given)} ids in --ids; give one of them")
    return given


def _charger_kinds(text: str) -> tuple[ChargerKind, ...]:
    kinds = []
    for name in _split(text):
        try:
            kinds.append(ChargerKind(name.lower()))
        except ValueError:
            fail(f"--chargers: {name!r} is not one of {', '.join(kind.value for kind in ChargerKind)}")
    return tuple(kinds)


def _configure_logging(verbose: bool) -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    simulator = logging.getLogger("evbill.simulator")
    simulator.handlers[:] = [RichHandler(console=Console(stderr=True), show_path=False)]
    simulator.setLevel(logging.INFO if verbose else logging.ERROR)
    simulator.propagate = False
    # The ocpp library logs every frame at INFO and every CALLERROR at WARNING; the simulator
    # reports those itself, once, in words.
    logging.getLogger("evbill.simulator.ocpp").setLevel(logging.ERROR)


def _run(config: SimulationConfig) -> Summary:
    import asyncio

    from rich.console import Console
    from rich.live import Live

    from evbill.entrypoints.simulator.runner import run_simulation
    from evbill.entrypoints.simulator.summary import LiveCounters

    live = LiveCounters()
    console = Console(stderr=True)

    async def run_with_progress() -> Summary:
        task = asyncio.create_task(run_simulation(config, live=live))
        if not console.is_terminal:
            return await task
        with Live(_progress_line(live), console=console, transient=True, refresh_per_second=4) as display:
            while not task.done():
                await asyncio.wait({task}, timeout=0.25)
                display.update(_progress_line(live))
        return await task

    return asyncio.run(run_with_progress())


def _progress_line(live: LiveCounters) -> str:
    return (
        f"stations {live.stations_connected:,}/{live.stations_total:,} connected · "
        f"sessions {live.sessions_started:,} started, {live.sessions_finished:,} finished · "
        f"messages {live.messages_sent:,} · errors {live.errors:,}"
    )


def _report(summary: Summary, *, json_output: bool) -> None:
    unreachable = summary.unreachable
    if len(unreachable) < len(summary.stations):
        if json_output:
            write_json(summary.as_dict())
        else:
            from evbill.entrypoints.simulator.table import print_summary

            print_summary(summary)
    for station in unreachable[:ERRORS_SHOWN]:
        typer.echo(f"error: station {station.station_id}: {station.connection_error}", err=True)
    if len(unreachable) > ERRORS_SHOWN:
        typer.echo(
            f"error: and {len(unreachable) - ERRORS_SHOWN:,} more stations could not connect", err=True
        )
    if unreachable:
        raise typer.Exit(EXIT_UNREACHABLE)
