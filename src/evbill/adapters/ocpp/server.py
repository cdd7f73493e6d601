"""The OCPP-J endpoint: one websocket per station at ``/ocpp/{charge_point_id}``.

1. **Identity**: HTTP Basic with the charge point id as user, checked against the station's argon2
   hash (security profile 1), and over TLS only for profile 2. Unknown or wrongly authenticated
   stations are refused before the websocket opens, all with the same answer after the same work
   (see ``connect_station``). With the ``pending`` policy, an unknown station may connect but is only
   answered Pending until an operator adds it.
2. **Subprotocol**: the one of the station's registered OCPP version (``ocpp1.6``, ``ocpp2.0.1``,
   ``ocpp2.1``; 2.1 runs the 2.0.1 handlers against the 2.1 schemas), which it must offer: a station
   registered for 1.6 cannot speak 2.0.1. An unknown station under ``pending`` gets the first offered
   that evbill speaks.
3. **Serving**: the version's handlers run until the station goes away. Its live sessions stay in
   the database, so the station can reconnect, here or on another evbill process.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from evbill.adapters.ocpp.pending import serve_pending
from evbill.adapters.ocpp.protocol import Connection
from evbill.adapters.ocpp.station import EvbillStation, Journal, SessionMoney, StationSettings
from evbill.adapters.ocpp.v16 import Station16
from evbill.adapters.ocpp.v21 import Station21
from evbill.adapters.ocpp.v201 import Station201
from evbill.application.charging import central_system as central_system
from evbill.application.charging.central_system import StationContext, StationRefused
from evbill.application.ports import Limiter
from evbill.application.records import Services
from evbill.domain.charging.status_history import offline_report
from evbill.domain.errors import RateLimited
from evbill.domain.sites.model import UnknownStationPolicy

LOGGER = logging.getLogger("evbill.ocpp")
SUBPROTOCOLS: dict[str, type[EvbillStation]] = {
    "ocpp2.1": Station21,
    "ocpp2.0.1": Station201,
    "ocpp1.6": Station16,
}


def basic_password(authorization: str | None, charge_point_id: str) -> str | None:
    """The password of an ``Authorization: Basic`` header whose user is the charge point id."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, separator, password = decoded.partition(":")
    return password if separator and user == charge_point_id else None


class OcppEndpoint:
    def __init__(
        self,
        services: Services,
        journal: Journal,
        settings: StationSettings,
        unknown: UnknownStationPolicy = UnknownStationPolicy.REJECT,
        *,
        limiter: Limiter | None = None,
        failures_per_minute: int = 30,
        money: SessionMoney | None = None,
        sweep: Callable[[], object] | None = None,
        sweep_interval: float = 5.0,
    ) -> None:
        self.limiter = limiter
        self.failures_per_minute = failures_per_minute
        self.services = services
        self.journal = journal
        self.settings = settings
        self.unknown = unknown
        self.connected: dict[str, EvbillStation] = {}
        self.money = money
        self._sweep = sweep
        self._sweep_interval = sweep_interval
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()  # the running sweeper's stop signal (made anew with each)
        self._closed = False  # the app stopped: no sweep starts until it serves again (``reopen``)

    async def _sweep_forever(self) -> None:
        """Finish the payments that are due (holds of starts never begun, sessions stopped unpaid)
        every ``sweep_interval`` seconds, while this process serves stations."""
        assert self._sweep is not None
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self._sweep_interval)
                return  # the app stops: no new sweep
            except TimeoutError:
                pass
            try:
                await asyncio.to_thread(self._sweep)
            except Exception as error:  # the next run tries again; say why without a trace each time
                LOGGER.warning("settling due payments failed: %s", str(error).splitlines()[0][:200])

    def start_sweeping(self) -> None:
        """Begin the payment sweep (once, on the running loop), unless the app is stopping."""
        if self._sweep is not None and self._sweeper is None and not self._closed:
            self._stopping = asyncio.Event()  # on this loop (an app may be served again on another)
            self._sweeper = asyncio.create_task(self._sweep_forever())

    def reopen(self) -> None:
        """The app serves (again): a station's connection may start the sweep."""
        self._closed = False

    async def stop_sweeping(self) -> None:
        """Stop the sweep with the app (its lifespan's end): no new run starts, and one under way is
        waited for, so that nothing touches the database after the app said it stopped. A sweep's
        thread cannot be cancelled; cancelling its task would only stop waiting for it."""
        self._closed = True
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is None:
            return
        self._stopping.set()
        await sweeper

    @property
    def subprotocols(self) -> tuple[str, ...]:
        """The subprotocols evbill speaks, newest first."""
        return tuple(SUBPROTOCOLS)

    def choose_subprotocol(self, offered: Sequence[str]) -> str | None:
        for protocol in offered:
            if protocol in SUBPROTOCOLS:
                return protocol
        return None

    def registered_subprotocol(self, context: StationContext) -> str:
        """The subprotocol of the OCPP version the station is registered for."""
        return f"ocpp{context.station.ocpp_version.value}"

    async def authenticate(
        self, charge_point_id: str, authorization: str | None, *, secure: bool, client: str | None = None
    ) -> StationContext:
        """The station's context, or StationRefused (the websocket is then refused with 401).

        Failed logins are throttled per charge point id and per client address: past
        ``failures_per_minute`` the station is refused (RateLimited) before any argon2 check.
        """
        keys = [f"ocpp-login:id:{charge_point_id}"] + ([f"ocpp-login:address:{client}"] if client else [])
        await self._refuse_if_throttled(keys)
        password = basic_password(authorization, charge_point_id)
        try:
            return await asyncio.to_thread(
                central_system.connect_station, self.services, charge_point_id, password, secure=secure
            )
        except StationRefused:
            if self.limiter is not None:
                for key in keys:
                    await self.limiter.take(key, limit=self.failures_per_minute, period=60)
            raise

    async def _refuse_if_throttled(self, keys: Sequence[str]) -> None:
        if self.limiter is None:
            return
        for key in keys:
            wait = await self.limiter.refuses(key, limit=self.failures_per_minute, period=60)
            if wait is not None:
                raise RateLimited("too many failed logins; try again later", int(wait))

    async def serve_pending(
        self,
        charge_point_id: str,
        subprotocol: str,
        receive: Callable[[], Awaitable[str]],
        send: Callable[[str], Awaitable[None]],
    ) -> None:
        """An unknown station under the pending policy: boot answered Pending, its request recorded."""
        await serve_pending(self.services, charge_point_id, subprotocol, receive, send)

    async def _note_offline(self, context: StationContext) -> None:
        """The station's status history says it went away: what follows is unknown until it reports."""
        station = context.station
        try:
            gone = offline_report(station.operator_id, station.id, datetime.now(UTC))
            await self.journal([], statuses=[gone])
        except Exception:  # the server is stopping, the database is away: the gap stays unmarked
            LOGGER.info("%s: its going offline was not recorded", station.charge_point_id, exc_info=True)

    async def serve(
        self,
        context: StationContext,
        subprotocol: str,
        receive: Callable[[], Awaitable[str]],
        send: Callable[[str], Awaitable[None]],
    ) -> None:
        """Run the station's handlers until the connection ends."""
        station_type = SUBPROTOCOLS[subprotocol]
        station = station_type(
            context,
            Connection(receive, send),
            services=self.services,
            journal=self.journal,
            settings=self.settings,
            money=self.money,
        )
        self.start_sweeping()
        charge_point_id = context.station.charge_point_id
        previous = self.connected.get(charge_point_id)
        self.connected[charge_point_id] = station
        if previous is not None:
            LOGGER.info("%s reconnected; the older connection is dropped", charge_point_id)
        started = datetime.now(UTC)
        try:
            await station.start()
        finally:
            await station.stop()
            if self.connected.get(charge_point_id) is station:
                del self.connected[charge_point_id]
                await self._note_offline(context)
            LOGGER.info("%s disconnected after %s", charge_point_id, datetime.now(UTC) - started)
