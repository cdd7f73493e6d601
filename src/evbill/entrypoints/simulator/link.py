"""One station's websocket to the CSMS: connect with Basic auth, boot, send in order, survive outages.

Messages go out one at a time, in the order they were submitted (OCPP-J allows one open call per
side). *Buffered* messages, the transaction messages, survive a lost connection: they wait, and go
out after the station reconnects, in their original order with their original timestamps. A retry
reuses the message's unique id, as a station that never saw the answer does. Other messages
(heartbeat, status, authorize) are dropped while offline; the station re-announces its status after
reconnecting. A reconnect is not a reboot: no new BootNotification.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ocpp.exceptions import OCPPError
from websockets.exceptions import ConnectionClosed

from evbill.entrypoints.simulator.clock import SimulatedClock, wait_or_stop
from evbill.entrypoints.simulator.config import SimulationConfig
from evbill.entrypoints.simulator.connection import (
    ConnectFailure,
    Connection,
    TransientFailure,
    open_connection,
)
from evbill.entrypoints.simulator.dialect import Dialect
from evbill.entrypoints.simulator.model import CsmsSink, Outgoing
from evbill.entrypoints.simulator.summary import StationTally

logger = logging.getLogger("evbill.simulator")
DEFAULT_HEARTBEAT_INTERVAL = 300
MAX_TIMEOUTS_PER_MESSAGE = 3


class Outcome(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"  # the CSMS answered with a CALLERROR, or never answered
    DROPPED = "dropped"  # not sent: offline, or nothing left to send


@dataclass(frozen=True)
class Reply:
    outcome: Outcome
    response: Any = None


class _Lost(Exception):
    """The connection went away while a message was waiting for its answer."""


@dataclass
class _Item:
    outgoing: Outgoing
    future: asyncio.Future[Reply]
    unique_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    payload: Any = None
    built: bool = False
    timeouts: int = 0


class Link:
    def __init__(
        self,
        *,
        station_id: str,
        model: str,
        config: SimulationConfig,
        dialect: Dialect,
        clock: SimulatedClock,
        sink: CsmsSink,
        tally: StationTally,
        rng: random.Random,
        on_reconnect: Callable[[], None],
    ) -> None:
        self.station_id, self._model, self._config = station_id, model, config
        self._dialect, self._clock, self._sink, self._tally = dialect, clock, sink, tally
        self._rng, self._on_reconnect = rng, on_reconnect
        self.heartbeat_interval = DEFAULT_HEARTBEAT_INTERVAL
        self._queue: deque[_Item] = deque()
        self._queued, self._ready, self._idle = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._idle.set()
        self._hurry = asyncio.Event()  # cut an outage short: the run is ending
        self._unfinished = 0
        self._closing = False
        self._outage = 0  # simulated seconds of the outage under way
        self._connection: Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def online(self) -> bool:
        return self._ready.is_set()

    # --- opening and closing ---------------------------------------------------------------------

    async def open(self, stop: asyncio.Event) -> str | None:
        """Connect and boot; None once accepted, else why not (after a few tries if it may pass)."""
        delay, last = 0.25, "no attempt made"
        for attempt in range(1, self._config.connect_attempts + 1):
            try:
                connection = await self._connect()
            except ConnectFailure as failure:
                return str(failure)
            except TransientFailure as error:
                last = str(error)
            else:
                try:
                    if await self._boot(connection, stop):
                        self._install(connection)
                        self._tasks = [
                            asyncio.create_task(self._send_loop()),
                            asyncio.create_task(self._supervise()),
                        ]
                        return None
                    await connection.discard()
                    return "the CSMS did not accept the BootNotification before the run ended"
                except (_Lost, TimeoutError, OCPPError) as error:
                    await connection.discard()
                    last = f"BootNotification failed: {str(error) or type(error).__name__}"
            if attempt == self._config.connect_attempts or not await wait_or_stop(delay, stop):
                break
            delay *= 2
        return last

    async def drain(self, timeout: float) -> None:
        """Wait until everything submitted has been sent (or given up on)."""
        self._hurry.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            logger.warning("%s: %d messages still unsent at the end", self.station_id, self._unfinished)
            self._tally.error()

    async def close(self) -> None:
        self._closing = True
        self._hurry.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._set_online(False)
        if self._connection is not None:
            await self._connection.discard()

    def go_offline(self, simulated_seconds: int) -> bool:
        """Drop the connection as a failing network would, and stay away this long."""
        if not self.online or self._closing or self._connection is None:
            return False
        self._outage = simulated_seconds
        self._tally.outages += 1
        self._set_online(False)
        self._connection.abort()
        logger.info("%s: offline for %d simulated seconds", self.station_id, simulated_seconds)
        return True

    # --- submitting and sending ------------------------------------------------------------------

    def submit(self, outgoing: Outgoing) -> asyncio.Future[Reply]:
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        if self._closing or (not outgoing.buffered and not self.online):
            future.set_result(Reply(Outcome.DROPPED))
            return future
        self._queue.append(_Item(outgoing, future))
        self._unfinished += 1
        self._idle.clear()
        self._queued.set()
        return future

    async def _send_loop(self) -> None:
        while True:
            while not self._queue:
                self._queued.clear()
                await self._queued.wait()
            item = self._queue.popleft()
            try:
                await self._deliver(item)
            except Exception:  # a bug with one message must not silence the station
                logger.exception("%s: cannot send %r", self.station_id, item.payload)
                self._tally.error()
            finally:
                self._finish(item, Reply(Outcome.DROPPED))

    async def _deliver(self, item: _Item) -> None:
        while True:
            connection = await self._wait_online()
            if not item.built:
                item.payload, item.built = item.outgoing.build(), True
            if item.payload is None:
                return
            try:
                response = await self._exchange(connection, item.payload, item.unique_id)
            except _Lost:
                if item.outgoing.buffered:
                    continue
                return
            except TimeoutError:
                item.timeouts += 1
                self._problem(f"no answer to {type(item.payload).__name__}; reconnecting")
                connection.abort()
                if item.outgoing.buffered and item.timeouts < MAX_TIMEOUTS_PER_MESSAGE:
                    continue
                self._finish(item, Reply(Outcome.FAILED))
                return
            except OCPPError as error:
                self._problem(
                    f"{type(item.payload).__name__} answered with {error.code}: {error.description}"
                )
                self._finish(item, Reply(Outcome.FAILED))
                return
            self._answered(item, response)
            if item.outgoing.buffered and self._rng.random() < self._config.faults.duplicate:
                await self._duplicate(connection, item)
            return

    def _answered(self, item: _Item, response: Any) -> None:
        if item.outgoing.on_response is not None:
            try:
                item.outgoing.on_response(response)
            except Exception:  # a bug in reading one answer must not stop the station
                logger.exception("%s: cannot read the answer to %s", self.station_id, item.payload)
                self._tally.error()
        self._finish(item, Reply(Outcome.DELIVERED, response))

    async def _duplicate(self, connection: Connection, item: _Item) -> None:
        """Send it again: with the same unique id (a retry) or as a new message with the same content."""
        unique_id = item.unique_id if self._rng.random() < 0.5 else str(uuid.uuid4())
        self._tally.duplicates_sent += 1
        try:
            await self._exchange(connection, item.payload, unique_id)
        except (_Lost, TimeoutError, OCPPError):
            pass  # the original got through; whatever the echo met changes nothing

    def _finish(self, item: _Item, reply: Reply) -> None:
        if item.future.done():
            return
        item.future.set_result(reply)
        self._unfinished -= 1
        if self._unfinished == 0:
            self._idle.set()

    async def _exchange(self, connection: Connection, payload: Any, unique_id: str) -> Any:
        """One CALL and its answer, abandoned if the connection goes first."""
        self._tally.sent()
        call = asyncio.ensure_future(
            connection.charge_point.call(payload, suppress=False, unique_id=unique_id)
        )
        lost = asyncio.ensure_future(connection.lost.wait())
        try:
            done, _ = await asyncio.wait({call, lost}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            call.cancel()
            raise
        finally:
            lost.cancel()
        if call not in done:
            call.cancel()
            raise _Lost
        try:
            return call.result()
        except ConnectionClosed as error:
            raise _Lost from error

    async def _wait_online(self) -> Connection:
        while True:
            await self._ready.wait()
            if self._connection is not None and not self._connection.lost.is_set():
                return self._connection
            await asyncio.sleep(0)

    # --- connections -----------------------------------------------------------------------------

    async def _connect(self) -> Connection:
        return await open_connection(
            station_id=self.station_id, config=self._config, dialect=self._dialect, sink=self._sink
        )

    async def _boot(self, connection: Connection, stop: asyncio.Event) -> bool:
        """BootNotification until Accepted, waiting the interval the CSMS asks (or backing off)."""
        backoff = 0.5
        while True:
            payload = self._dialect.boot(self.station_id, self._model)
            result = self._dialect.boot_result(await self._exchange(connection, payload, str(uuid.uuid4())))
            if result.accepted:
                self.heartbeat_interval = result.interval or DEFAULT_HEARTBEAT_INTERVAL
                return True
            logger.info("%s: BootNotification %s, retrying", self.station_id, result.status)
            delay = self._clock.real_seconds(result.interval) if result.interval > 0 else backoff
            backoff = min(backoff * 2, 30.0)
            if not await wait_or_stop(max(delay, 0.05), stop):
                return False

    async def _supervise(self) -> None:
        """After a connection is lost: wait out the outage, reconnect, let the backlog flow."""
        while True:
            try:
                if not await self._recover():
                    return
            except Exception:  # a bug here must not leave the station silent for the rest of the run
                logger.exception("%s: reconnecting failed", self.station_id)
                self._tally.error()

    async def _recover(self) -> bool:
        """Wait for the connection to go, then bring it back; False when the link is closing."""
        assert self._connection is not None
        await self._connection.lost.wait()
        self._set_online(False)
        self._drop_unbuffered()
        if self._closing:
            return False
        outage, self._outage = self._outage, 0
        if outage:
            await wait_or_stop(self._clock.real_seconds(outage), self._hurry)
        else:
            self._problem("connection lost; reconnecting")
        await self._connection.discard()
        connection = await self._reconnect()
        if connection is None:
            return False
        self._install(connection)
        self._on_reconnect()
        return True

    async def _reconnect(self) -> Connection | None:
        delay = 0.25
        while not self._closing:
            try:
                return await self._connect()
            except (ConnectFailure, TransientFailure) as error:
                self._problem(str(error))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        return None

    def _install(self, connection: Connection) -> None:
        self._connection = connection
        self._tally.connected = True
        self._set_online(True)

    def _set_online(self, online: bool) -> None:
        if online == self.online:
            return
        if online:
            self._ready.set()
        else:
            self._ready.clear()
        self._tally.online(online)

    def _drop_unbuffered(self) -> None:
        kept: deque[_Item] = deque()
        for item in self._queue:
            if item.outgoing.buffered:
                kept.append(item)
            else:
                self._finish(item, Reply(Outcome.DROPPED))
        self._queue = kept

    def _problem(self, message: str) -> None:
        logger.warning("%s: %s", self.station_id, message)
        self._tally.error()
