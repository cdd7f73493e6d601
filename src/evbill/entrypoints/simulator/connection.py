"""Opening one websocket to the CSMS as a station: its URL, Basic auth, subprotocol, TLS, and why not.

    ws://127.0.0.1:8000/ocpp/SIM-001
    Sec-WebSocket-Protocol: ocpp1.6
    Authorization: Basic base64("SIM-001:demo-SIM-001-password")

A refusal the station cannot fix by trying again (HTTP 400/401/403/404, a subprotocol the CSMS does
not speak) is a ``ConnectFailure``; anything else (refused, unreachable, timed out, HTTP 503) is a
``TransientFailure``. Both say what happened in words a user can act on.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import sys
from dataclasses import dataclass
from typing import Any

from ocpp.exceptions import OCPPError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from evbill.entrypoints.simulator.config import SimulationConfig
from evbill.entrypoints.simulator.dialect import Dialect
from evbill.entrypoints.simulator.model import CsmsSink

logger = logging.getLogger("evbill.simulator")
PERMANENT_HTTP_STATUSES = {400, 401, 403, 404}
OPEN_TIMEOUT = 10.0  # real seconds for the TCP, TLS and websocket handshakes together


class ConnectFailure(Exception):
    """The CSMS refused this station for good (an HTTP status, a subprotocol it does not speak)."""


class TransientFailure(Exception):
    """Worth another try: refused, unreachable, timed out, the CSMS busy."""


class _ProtocolLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The ocpp library's log, without a traceback for each CSMS call the station answers with a
    CALLERROR (an action it does not implement, say): that answer is the whole story."""

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OCPPError):
            self.info("%s: %s", msg % args if args else msg, error)
            return
        super().exception(msg, *args, **kwargs)


PROTOCOL_LOGGER = _ProtocolLogger(logging.getLogger("evbill.simulator.ocpp"))


@dataclass
class Connection:
    """An open websocket, the ocpp ChargePoint reading from it, and an event set once it is gone."""

    websocket: ClientConnection
    charge_point: Any
    lost: asyncio.Event
    reader: asyncio.Task[None]

    def abort(self) -> None:
        """Drop it as a failing network would: no closing handshake."""
        self.websocket.transport.abort()

    async def discard(self) -> None:
        await self.websocket.close()
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


async def open_connection(
    *, station_id: str, config: SimulationConfig, dialect: Dialect, sink: CsmsSink
) -> Connection:
    url = config.station_url(station_id)
    subprotocol = config.ocpp_version.subprotocol
    try:
        websocket = await connect(
            url,
            subprotocols=[Subprotocol(subprotocol)],
            additional_headers=_headers(station_id, config.password_for(station_id)),
            ssl=_ssl_context(url, config),
            open_timeout=OPEN_TIMEOUT,
            user_agent_header="evbill-simulator",
        )
    except InvalidStatus as error:
        response = error.response
        message = f"the CSMS refused {url}: HTTP {response.status_code} {response.reason_phrase}"
        if response.status_code in PERMANENT_HTTP_STATUSES:
            raise ConnectFailure(message) from error
        raise TransientFailure(message) from error
    except (InvalidURI, InvalidHandshake) as error:
        raise ConnectFailure(f"cannot open a websocket to {url}: {error}") from error
    except (OSError, TimeoutError) as error:
        reason = getattr(error, "strerror", None) or str(error) or "timed out"
        raise TransientFailure(f"cannot reach {url}: {reason}") from error
    if websocket.subprotocol != subprotocol:
        await websocket.close()
        raise ConnectFailure(f"the CSMS at {url} did not accept subprotocol {subprotocol}")
    charge_point = dialect.charge_point(
        station_id, websocket, sink=sink, response_timeout=config.response_timeout, logger=PROTOCOL_LOGGER
    )
    lost = asyncio.Event()
    reader = asyncio.create_task(_read(station_id, charge_point, lost))
    return Connection(websocket, charge_point, lost, reader)


def _headers(station_id: str, password: str | None) -> dict[str, str]:
    if password is None:
        return {}
    credentials = base64.b64encode(f"{station_id}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {credentials}"}


def _ssl_context(url: str, config: SimulationConfig) -> ssl.SSLContext | None:
    if not url.startswith("wss://") or config.ca_file is None:
        return None  # ws://, or wss:// with the system's trust store
    return ssl.create_default_context(cafile=str(config.ca_file))


async def _read(station_id: str, charge_point: Any, lost: asyncio.Event) -> None:
    """Route what the CSMS sends (its answers and its calls) until the connection goes."""
    try:
        await charge_point.start()
    except ConnectionClosed:
        pass
    except Exception:
        logger.exception("%s: reading from the CSMS failed", station_id)
    finally:
        lost.set()
