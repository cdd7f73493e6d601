"""Remote start and stop for use cases: the central system's calls to a station connected here.

Use cases run in worker threads; a station is served on the event loop. ``OcppStationCommands``
hands the call to the station's loop and waits for the answer: Accepted or Rejected as the station
said, Timeout when it said nothing in ``timeout`` seconds, NotConnected when it has no websocket to
this process. (With several OCPP processes behind a load balancer the call must reach the process
holding the station's websocket: a message bus between them is not built yet.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any

from evbill.adapters.ocpp.server import OcppEndpoint
from evbill.adapters.ocpp.station import EvbillStation
from evbill.domain.payments.adhoc import CommandAnswer


class OcppStationCommands:
    def __init__(self, endpoint: OcppEndpoint, *, timeout: float = 30.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout

    def remote_start(self, *, charge_point_id: str, evse_number: int, id_tag: str) -> CommandAnswer:
        return self._call(
            charge_point_id, lambda station: station.remote_start(evse_number, id_tag, self.timeout)
        )

    def remote_stop(self, *, charge_point_id: str, transaction_id: str) -> CommandAnswer:
        return self._call(charge_point_id, lambda station: station.remote_stop(transaction_id, self.timeout))

    def _call(
        self,
        charge_point_id: str,
        command: Callable[[EvbillStation], Coroutine[Any, Any, CommandAnswer]],
    ) -> CommandAnswer:
        station = self.endpoint.connected.get(charge_point_id)
        if station is None or station.loop is None or station.gone:
            return CommandAnswer.NOT_CONNECTED
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is station.loop:  # it would wait for itself
            raise RuntimeError("call remote commands from a worker thread, not the station's loop")
        future = asyncio.run_coroutine_threadsafe(command(station), station.loop)
        try:
            return future.result(self.timeout + 5)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return CommandAnswer.TIMEOUT
