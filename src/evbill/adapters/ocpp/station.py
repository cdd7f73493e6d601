"""What every connected station does the same way in both OCPP versions.

It keeps the live sessions opened on this connection (so meter values find theirs without a
database read), runs the use cases in worker threads (they are synchronous and hold a database
transaction), hands meter samples to the group-commit journal with the frame that carried them, and
pushes the running cost to the charger every ``cost_interval`` seconds while a session is live.

It also carries the central system's calls to the charger: remote start and stop (each version says
them its own way), a stop before a session's running cost passes what its payment allows (the hold
of an ad hoc session, a prepaid wallet's balance: ``SessionMoney.spending_limit``), and, once a
session has stopped, the payment of it (``SessionMoney.settle``) after the stop's answer went out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from ocpp.messages import CallResult

from evbill.adapters.ocpp.limits import StationRateLimit
from evbill.adapters.ocpp.protocol import Connection, EvbillChargePoint, Journal
from evbill.application.charging import central_system as central_system
from evbill.application.charging.central_system import Cost, StationContext
from evbill.application.records import Services
from evbill.domain import currency as currencies
from evbill.domain.charging.sessions import ChargingSession
from evbill.domain.payments.adhoc import CommandAnswer, must_stop

LOGGER = logging.getLogger("evbill.ocpp")
_PHASES = random.Random()  # not secret: only spreads the stations' running-cost pushes over time


@functools.cache
def _cost_worker() -> ThreadPoolExecutor:
    """One thread for every station's running-cost pushes: at each interval they come all together
    (1,000 live sessions, one rating each), and in the shared pool they would hold up the use cases
    that answer chargers. Here they take their turn; a push is a display, it can wait a moment."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="evbill-running-cost")


@dataclass(frozen=True, slots=True)
class StationSettings:
    heartbeat_interval: int = 300
    cost_interval: float = 60.0  # seconds between running-cost messages; 0 turns them off
    messages_per_second: float = 20.0
    burst: int = 200
    max_frame_bytes: int = 64 * 1024  # chargers send a few KB; larger frames are refused and counted


class SessionMoney(Protocol):
    """How sessions are paid (``application.payments.session_funding``); synchronous, run in threads."""

    def spending_limit(self, session: ChargingSession) -> int | None: ...

    def settle(self, operator_id: str, session_id: str) -> None: ...


class EvbillStation(EvbillChargePoint):
    """A connected station with its live sessions, on top of the protocol base."""

    def __init__(
        self,
        context: StationContext,
        connection: Connection,
        *,
        services: Services,
        journal: Journal,
        settings: StationSettings,
        money: SessionMoney | None = None,
    ) -> None:
        station = context.station
        super().__init__(
            station.charge_point_id,
            connection,
            operator_id=station.operator_id,
            station_id=station.id,
            journal=journal,
            rate_limit=StationRateLimit(settings.messages_per_second, settings.burst),
            max_frame_bytes=settings.max_frame_bytes,
        )
        self.context = context
        self.services = services
        self.journal = journal
        self.settings = settings
        self.live: dict[str, ChargingSession] = {}
        self.meters: dict[str, central_system.RunningMeter] = {}  # of live sessions, by session id
        self._cost_task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()  # calls queued by later() (the loop keeps weak refs)
        self.gone = False  # the websocket has closed
        self.money = money
        # the loop serving it, for remote calls from worker threads (built on it: set before it is listed)
        self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        self._limits: dict[str, tuple[int | None, int | None]] = {}  # session id: (limit, last cost shown)
        self._stopping: set[str] = set()  # sessions asked to stop for their limit

    # Helpers for the version handlers

    async def run(self, function: Callable[..., Any], /, **arguments: Any) -> Any:
        """A synchronous use case in a worker thread (it opens and commits its own transaction)."""
        return await asyncio.to_thread(function, self.services, self.context, **arguments)

    async def session_of(self, transaction_id: str) -> ChargingSession | None:
        session = self.live.get(transaction_id)
        if session is None:
            session = await self.run(central_system.find_session, transaction_id=transaction_id)
            if session is not None and session.status.value == "ACTIVE":
                self.opened(session)  # its running costs go on
        return session

    async def start(self) -> None:
        """Serve the station; its sessions still live from before (a reconnect, a server restart)
        get their running costs again without waiting for their next message."""
        self.later(self._resume())
        await super().start()

    async def _resume(self) -> None:
        for session in await self.run(central_system.live_sessions):
            if session.transaction_id and session.transaction_id not in self.live:
                self.opened(session)

    def opened(self, session: ChargingSession) -> None:
        if session.transaction_id:
            self.live[session.transaction_id] = session
        if self.settings.cost_interval > 0 and self._cost_task is None:
            self._cost_task = asyncio.create_task(self._push_costs())

    def closed(self, transaction_id: str) -> None:
        session = self.live.pop(transaction_id, None)
        if session is not None:
            self.meters.pop(session.id, None)

    def shown(self, cost: Cost) -> Decimal:
        """The cost as the charger shows it: settled, with the currency's decimals."""
        places = currencies.exponent(cost.shown.currency)
        return cost.shown.as_decimal().quantize(Decimal(1).scaleb(-places))

    def zero(self) -> Decimal:
        """Free: 0 with the operator currency's decimals (0.00 in EUR)."""
        return Decimal(0).quantize(Decimal(1).scaleb(-currencies.exponent(self.context.currency)))

    def later(self, coroutine: Awaitable[Any]) -> None:
        """Run a call to the charger after the current reply has gone out."""

        async def after() -> None:
            await asyncio.sleep(0)
            try:
                await coroutine
            except Exception as error:
                if self.gone:  # it left right after the reply: expected, and nothing to debug
                    LOGGER.info("%s: a call to the charger was not made: it has disconnected", self.id)
                elif isinstance(error, TimeoutError):
                    LOGGER.warning("%s: the charger did not answer a call in time", self.id)
                else:
                    LOGGER.warning("%s: a call to the charger failed", self.id, exc_info=True)

        def done(task: asyncio.Task[None]) -> None:
            self._calls.discard(task)
            if task.cancelled() and inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled before it began (the station left at once): never run

        task = asyncio.create_task(after())
        self._calls.add(task)
        task.add_done_callback(done)

    # Running cost

    async def _push_costs(self) -> None:
        # The first push comes after 0.5 to 1.5 intervals, then every interval: stations that all
        # started sessions together (after a restart, a power cut) do not all ask for a rating in the
        # same second for ever after.
        wait = self.settings.cost_interval * (0.5 + _PHASES.random())
        while True:
            await asyncio.sleep(wait)
            wait = self.settings.cost_interval
            for transaction_id, session in list(self.live.items()):
                try:
                    cost = await asyncio.get_running_loop().run_in_executor(
                        _cost_worker(), self._running_cost, transaction_id, session
                    )
                    if cost is not None:
                        await self.send_running_cost(transaction_id, cost)
                        await self._keep_within_limit(transaction_id, cost)
                except Exception:
                    LOGGER.warning("%s: running cost of %s failed", self.id, transaction_id, exc_info=True)
            # A session that ended while its push was being computed may have left its meter behind.
            for session_id in set(self.meters) - {live.id for live in self.live.values()}:
                self.meters.pop(session_id, None)

    def _running_cost(self, transaction_id: str, session: ChargingSession) -> central_system.Cost | None:
        """On the cost thread: None if the session ended or the station left while this push waited."""
        live = self.live.get(transaction_id)
        if live is None or live.id != session.id:
            return None
        meter = self.meters.setdefault(session.id, central_system.RunningMeter())
        return central_system.running_cost(self.services, self.context, session, datetime.now(UTC), meter)

    # Money: what a session may cost, and paying for it once it stopped

    async def _keep_within_limit(self, transaction_id: str, cost: Cost) -> None:
        """Stop the session remotely before its running cost passes what its payment allows."""
        session = cost.session
        if self.money is None or session.id in self._stopping:
            return
        if session.id not in self._limits:
            limit = await asyncio.to_thread(self.money.spending_limit, session)
            self._limits[session.id] = (limit, None)
        limit, previous = self._limits[session.id]
        shown = cost.shown.minor_units
        self._limits[session.id] = (limit, shown)
        if limit is not None and must_stop(limit=limit, shown=shown, previous=previous):
            self._stopping.add(session.id)
            LOGGER.info("%s: stopping %s: its cost %s nears its limit %s", self.id, session.id, shown, limit)
            self.later(self.remote_stop(transaction_id))

    def settle_later(self, session_id: str | None) -> None:
        """Pay the stopped session (capture its hold, charge the card on file, spend the wallet)."""
        if self.money is None or session_id is None:
            return
        self._limits.pop(session_id, None)
        self.later(asyncio.to_thread(self.money.settle, self.context.station.operator_id, session_id))

    # Remote start and stop

    def remote_start_call(self, evse_number: int, id_tag: str) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError(f"{type(self).__name__} must say how its OCPP version starts remotely")

    def remote_stop_call(self, transaction_id: str) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError(f"{type(self).__name__} must say how its OCPP version stops remotely")

    async def remote_start(
        self, evse_number: int, id_tag: str, timeout: float | None = None
    ) -> CommandAnswer:
        action, payload = self.remote_start_call(evse_number, id_tag)
        return await self._command(action, payload, timeout)

    async def remote_stop(self, transaction_id: str, timeout: float | None = None) -> CommandAnswer:
        action, payload = self.remote_stop_call(transaction_id)
        session = self.live.get(transaction_id)
        return await self._command(action, payload, timeout, session.id if session else None)

    async def _command(
        self, action: str, payload: dict[str, Any], timeout: float | None, session_id: str | None = None
    ) -> CommandAnswer:
        if self.gone:
            return CommandAnswer.NOT_CONNECTED
        try:
            response = await self.call_exact(action, payload, session_id=session_id, timeout=timeout)
        except TimeoutError:
            return CommandAnswer.TIMEOUT
        except Exception:  # the websocket went away under the call
            LOGGER.info("%s: %s was not delivered", self.id, action, exc_info=True)
            return CommandAnswer.NOT_CONNECTED
        accepted = isinstance(response, CallResult) and (response.payload or {}).get("status") == "Accepted"
        return CommandAnswer.ACCEPTED if accepted else CommandAnswer.REJECTED

    async def send_running_cost(self, transaction_id: str, cost: Cost) -> None:
        """Each OCPP version says it its own way: 2.0.1 CostUpdated, 1.6 a RunningCost DataTransfer."""
        raise NotImplementedError(f"{type(self).__name__} must say how its OCPP version sends a running cost")

    async def stop(self) -> None:
        self.gone = True
        await self.count_refused_frames()
        for call in list(self._calls):  # nobody is there to answer them
            call.cancel()
        self.live.clear()  # running costs still queued for this station are skipped
        self._limits.clear()
        self.meters.clear()
        if self._cost_task is not None:
            self._cost_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cost_task
