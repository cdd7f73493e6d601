"""One simulated station's websocket: open it as a charge point would, then exchange raw OCPP-J Calls.

A Call goes out as ``[2, uniqueId, action, payload]``; the only acceptable answer is the CallResult
``[3, uniqueId, payload]`` with the same id. A CallError ``[4, uniqueId, code, description, details]``
is an error of the server but leaves the conversation in step, so the station carries on; a timeout,
a closed connection or an answer to some other id leaves it out of step, so the station gives up.
Calls the server makes of the station (say a TriggerMessage) are answered ``NotImplemented``, as a
station that does not implement them would, and counted.

    link = await open_link(url="ws://127.0.0.1:9000/ocpp", station=station, password="secret",
                           version=OcppVersion.V16, timeout=60)
    response = await link.call("BootNotification", {...}, timeout=30)
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from urllib.parse import quote

import orjson
import websockets
from websockets.asyncio.client import ClientConnection, connect

from bench.ocpp_frames import OcppVersion, Payload, Station

CALL, CALL_RESULT, CALL_ERROR = 2, 3, 4


class CallFailed(Exception):
    """A Call that got no CallResult; ``fatal`` when the connection can no longer be trusted."""

    def __init__(self, kind: str, *, fatal: bool) -> None:
        super().__init__(kind)
        self.kind = kind
        self.fatal = fatal


class Link:
    """A station's open websocket and the unique ids of its Calls (a counter: unique per connection)."""

    def __init__(self, station: Station, connection: ClientConnection, server_calls: Counter[str]) -> None:
        self.station = station
        self.connection = connection
        self.server_calls = server_calls
        self.calls = 0
        self.broken = False

    async def call(self, action: str, payload: Payload, *, timeout: float) -> Payload:
        """Send one Call and return the payload of its CallResult, or raise ``CallFailed``."""
        self.calls += 1
        unique_id = str(self.calls)
        try:
            async with asyncio.timeout(timeout):
                await self.connection.send(orjson.dumps([CALL, unique_id, action, payload]), text=True)
                return await self._answer(unique_id)
        except TimeoutError:
            raise self._break("timeout") from None
        except websockets.ConnectionClosed as closed:
            raise self._break(
                f"connection closed ({closed.rcvd.code if closed.rcvd else 'abnormal'})"
            ) from None

    async def _answer(self, unique_id: str) -> Payload:
        while True:
            message = orjson.loads(await self.connection.recv(decode=False))
            kind = message[0] if isinstance(message, list) and message else None
            if kind == CALL:
                await self._refuse(message)
                continue
            if kind == CALL_RESULT and message[1] == unique_id:
                return message[2]
            if kind == CALL_ERROR and message[1] == unique_id:
                raise CallFailed(f"CallError {message[2]}", fatal=False)
            raise self._break("answer to an unknown unique id" if kind in (3, 4) else "not OCPP-J")

    async def _refuse(self, message: list) -> None:
        self.server_calls[str(message[2])] += 1
        refusal = [CALL_ERROR, message[1], "NotImplemented", "not implemented by the load generator", {}]
        await self.connection.send(orjson.dumps(refusal), text=True)

    def _break(self, kind: str) -> CallFailed:
        self.broken = True
        return CallFailed(kind, fatal=True)

    async def close(self) -> None:
        await self.connection.close()


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` header value of HTTP Basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


async def open_link(
    *, url: str, station: Station, password: str, version: OcppVersion, timeout: float,
    server_calls: Counter[str],
) -> Link:  # fmt: skip
    """Open ``url/{station id}`` with Basic auth and the version's subprotocol, which the server must pick.

    No compression (chargers rarely negotiate it, and it would cost both sides CPU) and no client
    pings (the server's own keep-alive pings are still answered).
    """
    connection = await connect(
        f"{url.rstrip('/')}/{quote(station.id, safe='')}",
        subprotocols=[version.subprotocol],  # type: ignore[list-item]
        additional_headers={"Authorization": basic_authorization(station.id, password)},
        compression=None, open_timeout=timeout, ping_interval=None, max_queue=None,
        user_agent_header="evbill-bench-ocpp-load", proxy=None,
    )  # fmt: skip
    if connection.subprotocol != version.subprotocol:
        await connection.close()
        raise CallFailed(
            f"subprotocol {connection.subprotocol!r} agreed, not {version.subprotocol}", fatal=True
        )
    return Link(station, connection, server_calls)
