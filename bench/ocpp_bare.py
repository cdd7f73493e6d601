"""The bare reference CSMS: the ``ocpp`` library behind ``websockets``, answering and storing nothing.

The issue measures evbill's OCPP server against "a bare server built on the ``ocpp`` library that
stores nothing". This is that server: one ``ChargePoint`` subclass per protocol version whose ``@on``
handlers return the smallest valid response, served by ``websockets`` with subprotocol negotiation
(``ocpp1.6`` / ``ocpp2.0.1``). The library's defaults are kept on purpose, schema validation of every
request and response included (``ocpp.messages.ASYNC_VALIDATION`` runs it in the default thread pool):
that is what "built on the ocpp library" means, and it is where much of the time goes.

    python -m bench.ocpp_bare --port 9000 --cpu 0
    {"listening": "ws://127.0.0.1:9000/ocpp", "pid": 4242, "cpu_affinity": [0], ...}

The endpoint is ``ws://HOST:PORT/ocpp/{charge_point_id}``. HTTP Basic auth must name the same charge
point as the path (checked because it is free); the password is not checked, as there is no store.
It runs until SIGTERM or SIGINT, so ``python -m cProfile -o bare.prof -m bench.ocpp_bare`` works.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import itertools
import os
import signal
import sys
from datetime import UTC, datetime
from http import HTTPStatus

import ocpp.messages
import orjson
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16 import datatypes as datatypes16
from ocpp.v16.enums import Action as Action16
from ocpp.v16.enums import AuthorizationStatus, RegistrationStatus
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201 import datatypes as datatypes201
from ocpp.v201.enums import Action as Action201
from ocpp.v201.enums import AuthorizationStatusEnumType, RegistrationStatusEnumType
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from bench.ocpp_process import pin_to_cpu, raise_open_files_limit

PATH_PREFIX = "/ocpp/"
HEARTBEAT_SECONDS = 300
TRANSACTION_NUMBERS = itertools.count(1)  # a counter, not a store: 1.6 needs a transactionId back


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class CentralSystem16(ChargePoint16):
    """OCPP 1.6: acknowledges everything a charge point sends during a charging session."""

    @on(Action16.boot_notification)
    def on_boot_notification(self, **_payload):
        return result16.BootNotification(now(), HEARTBEAT_SECONDS, RegistrationStatus.accepted)

    @on(Action16.heartbeat)
    def on_heartbeat(self, **_payload):
        return result16.Heartbeat(now())

    @on(Action16.status_notification)
    def on_status_notification(self, **_payload):
        return result16.StatusNotification()

    @on(Action16.authorize)
    def on_authorize(self, **_payload):
        return result16.Authorize(datatypes16.IdTagInfo(AuthorizationStatus.accepted))

    @on(Action16.start_transaction)
    def on_start_transaction(self, **_payload):
        accepted = datatypes16.IdTagInfo(AuthorizationStatus.accepted)
        return result16.StartTransaction(next(TRANSACTION_NUMBERS), accepted)

    @on(Action16.stop_transaction)
    def on_stop_transaction(self, **_payload):
        return result16.StopTransaction()

    @on(Action16.meter_values)
    def on_meter_values(self, **_payload):
        return result16.MeterValues()


class CentralSystem201(ChargePoint201):
    """OCPP 2.0.1: the same, with transactions as TransactionEvent Started/Updated/Ended."""

    @on(Action201.boot_notification)
    def on_boot_notification(self, **_payload):
        return result201.BootNotification(now(), HEARTBEAT_SECONDS, RegistrationStatusEnumType.accepted)

    @on(Action201.heartbeat)
    def on_heartbeat(self, **_payload):
        return result201.Heartbeat(now())

    @on(Action201.status_notification)
    def on_status_notification(self, **_payload):
        return result201.StatusNotification()

    @on(Action201.authorize)
    def on_authorize(self, **_payload):
        return result201.Authorize(datatypes201.IdTokenInfoType(AuthorizationStatusEnumType.accepted))

    @on(Action201.transaction_event)
    def on_transaction_event(self, id_token=None, **_payload):
        if id_token is None:
            return result201.TransactionEvent()
        accepted = datatypes201.IdTokenInfoType(AuthorizationStatusEnumType.accepted)
        return result201.TransactionEvent(id_token_info=accepted)

    @on(Action201.meter_values)
    def on_meter_values(self, **_payload):
        return result201.MeterValues()


CENTRAL_SYSTEMS = {"ocpp1.6": CentralSystem16, "ocpp2.0.1": CentralSystem201}


def basic_auth_user(headers: Headers) -> str | None:
    """The user name of an HTTP Basic ``Authorization`` header, None when absent or malformed."""
    scheme, _, encoded = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, separator, _password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user if separator else None


def check_request(connection: ServerConnection, request: Request) -> Response | None:
    """Refuse the handshake unless the path names a charge point and Basic auth names the same one."""
    charge_point_id = request.path.removeprefix(PATH_PREFIX)
    if not request.path.startswith(PATH_PREFIX) or not charge_point_id or "/" in charge_point_id:
        return connection.respond(HTTPStatus.NOT_FOUND, "expected /ocpp/{charge_point_id}\n")
    if basic_auth_user(request.headers) != charge_point_id:
        return connection.respond(HTTPStatus.UNAUTHORIZED, "HTTP Basic auth must name the charge point\n")
    return None


async def serve_charge_point(connection: ServerConnection) -> None:
    central_system = CENTRAL_SYSTEMS.get(connection.subprotocol or "")
    if central_system is None:
        await connection.close(1002, "no OCPP subprotocol agreed (ocpp1.6 or ocpp2.0.1)")
        return
    charge_point_id = connection.request.path.removeprefix(PATH_PREFIX)
    try:
        await central_system(charge_point_id, connection).start()
    except websockets.ConnectionClosed:
        pass


async def run_server(host: str, port: int, cpu: int | None) -> None:
    stopped = asyncio.get_running_loop().create_future()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signal_number, stopped.set_result, None)
    async with serve(
        serve_charge_point, host, port,
        subprotocols=list(CENTRAL_SYSTEMS), process_request=check_request, backlog=2048,
    ) as server:  # fmt: skip
        bound_port = server.sockets[0].getsockname()[1]
        ready = {"listening": f"ws://{host}:{bound_port}/ocpp", "pid": os.getpid(), "cpu_affinity": cpu}
        ready |= {"websockets": websockets.__version__, "async_validation": ocpp.messages.ASYNC_VALIDATION}
        sys.stdout.write(orjson.dumps(ready).decode() + "\n")
        sys.stdout.flush()
        await stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ocpp_bare", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port (printed when ready)")
    parser.add_argument("--cpu", type=int, help="CPU to pin this process to")
    parser.add_argument(
        "--inline-validation", action="store_true",
        help="validate on the event loop (ocpp.messages.ASYNC_VALIDATION = False), not in the thread pool; "
        "an experiment, not the reference",
    )  # fmt: skip
    arguments = parser.parse_args(argv)
    ocpp.messages.ASYNC_VALIDATION = not arguments.inline_validation
    raise_open_files_limit()
    cpus = pin_to_cpu(arguments.cpu)
    asyncio.run(run_server(arguments.host, arguments.port, cpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
