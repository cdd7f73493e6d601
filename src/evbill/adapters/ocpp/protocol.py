"""The base charge point of evbill's central system, on the `ocpp` library.

It keeps the library's routing (``@on`` handlers), message classes and JSON-schema validation, and
changes four things every billing system needs:

1. **Nothing is acknowledged before it is on record.** Every frame in and out is stored with the
   station, time and direction. A handler stores its incoming frame with what the message carries,
   in the same transaction (or the same group commit), and the reply frame is stored before it is
   sent.
2. **Exact JSON out.** Replies and outgoing calls are written by evbill's encoder: a ``Decimal``
   cost goes out with its own digits. The library's encoder writes every Decimal with one decimal
   place.
3. **Malformed frames get a CallError and the connection stays up.** The library only logs them.
   The code is ``FormationViolation`` in 1.6 and ``FormatViolation`` in 2.0.1, and schema errors
   keep the library's codes (TypeConstraintViolation, PropertyConstraintViolation...).
4. **Per-station rate limit.** Over the limit, a call gets a ``GenericError`` answer; it is still
   stored, but nothing it carries is acted on.

Three costs of the library are cut, measured under load (bench/ocpp.py): schema validation is
compiled code first, with the library's verdict whenever that code finds fault (``schemas.py``); it
runs on the event loop (``ASYNC_VALIDATION`` off) because handing each message to a thread and back
cost more than validating it; and the camelCase/snake_case key conversion, two regexes per key, is
remembered per key name (the same few dozen names arrive again and again; the cache is bounded).
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ocpp.messages
import orjson
from ocpp.charge_point import (
    ChargePoint,
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, CallResult, MessageType, unpack

from evbill.adapters.ocpp import schemas
from evbill.domain.charging.frames import Direction, Frame
from evbill.domain.errors import DomainError

LOGGER = logging.getLogger("evbill.ocpp")

FrameSink = Callable[[Sequence[Frame]], Awaitable[None]]

ocpp.messages.ASYNC_VALIDATION = False  # validate on the loop: the thread hop cost more than the check


@functools.lru_cache(maxsize=4096)
def _snake_key(key: str) -> str:
    """The library's own camelCase -> snake_case of one key, remembered."""
    return next(iter(camel_to_snake_case({key: None})))


@functools.lru_cache(maxsize=1024)
def _camel_key(key: str) -> str:
    """The library's own snake_case -> camelCase of one key, remembered."""
    return next(iter(snake_to_camel_case({key: None})))


def _rekeyed(data: Any, convert: Callable[[str], str]) -> Any:
    if isinstance(data, dict):
        return {
            convert(key) if isinstance(key, str) else key: _rekeyed(value, convert)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_rekeyed(value, convert) for value in data]
    return data


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's answer; ``stored`` when the handler already stored the incoming frame with its effects."""

    response: Any
    stored: bool = False


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=_default).decode()


class Connection:
    """What the library needs of a websocket: ``recv`` and ``send`` of text frames."""

    def __init__(self, receive: Callable[[], Awaitable[str]], send: Callable[[str], Awaitable[None]]) -> None:
        self.recv = receive
        self.send = send


class StationRateLimit:
    """A token bucket: ``per_second`` messages a second on average, bursts of ``burst``."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class EvbillChargePoint(ChargePoint):
    """A connected station. Subclasses add the ``@on`` handlers of one OCPP version."""

    format_error_code = "FormatViolation"

    def __init__(
        self,
        charge_point_id: str,
        connection: Connection,
        *,
        operator_id: str,
        station_id: str,
        record: FrameSink,
        rate_limit: StationRateLimit,
        response_timeout: int = 30,
    ) -> None:
        super().__init__(charge_point_id, connection, response_timeout=response_timeout, logger=LOGGER)
        self._operator_id = operator_id
        self._station_id = station_id
        self._record = record
        self._rate_limit = rate_limit

    # Frames

    def frame(self, direction: Direction, raw: str, message: Call | CallResult | CallError | None) -> Frame:
        return Frame(
            operator_id=self._operator_id,
            station_id=self._station_id,
            charge_point_id=self.id,
            direction=direction,
            at=datetime.now(UTC),
            message_type=None if message is None else message.message_type_id,
            unique_id=None if message is None else message.unique_id,
            action=getattr(message, "action", None),
            raw=raw,
        )

    async def _reply(self, raw: str, message: CallResult | CallError, *also: Frame) -> None:
        """Store the reply (and any frames still unstored), then send it."""
        await self._record([*also, self.frame(Direction.OUT, raw, message)])
        await self._connection.send(raw)

    # Receiving

    async def route_message(self, raw_msg: str) -> None:
        try:
            message = unpack(raw_msg)
        except OCPPError as error:
            await self._refuse_unreadable(raw_msg, error)
            return
        incoming = self.frame(Direction.IN, raw_msg, message)
        if message.message_type_id == MessageType.Call:
            await self._serve_call(message, incoming)
        else:
            await self._record([incoming])  # a charger's answer to our call: on record, then to call()
            self._response_queue.put_nowait(message)

    async def _refuse_unreadable(self, raw: str, error: OCPPError) -> None:
        unique_id = _unique_id_of(raw)
        answer = CallError(unique_id, self.format_error_code, "The message is not a valid OCPP-J frame", {
            "cause": str(error.description or error)[:200]
        })  # fmt: skip
        await self._reply(_error_json(answer), answer, self.frame(Direction.IN, raw, None))

    async def _serve_call(self, call: Call, incoming: Frame) -> None:
        if not self._rate_limit.allow():
            answer = CallError(
                call.unique_id, "GenericError", "Too many messages from this station; slow down", {}
            )
            await self._reply(_error_json(answer), answer, incoming)
            return
        try:
            payload, stored = await self._handle(call, incoming)
        except OCPPError as error:
            answer = call.create_call_error(error)
            await self._reply(_error_json(answer), answer, incoming)
            return
        except DomainError as error:
            problems = "; ".join(str(problem) for problem in getattr(error, "problems", ()))[:400]
            answer = CallError(call.unique_id, _code_of(error), error.message[:200], {"problems": problems})
            await self._reply(_error_json(answer), answer, incoming)
            return
        except Exception:
            LOGGER.exception("%s: error handling %s", self.id, call.action)
            answer = call.create_call_error(Exception())
            await self._reply(_error_json(answer), answer, incoming)
            return
        result = CallResult(call.unique_id, payload, action=call.action)
        raw = dumps([MessageType.CallResult, call.unique_id, payload])
        await self._reply(raw, result, *(() if stored else (incoming,)))

    async def _handle(self, call: Call, incoming: Frame) -> tuple[dict[str, Any], bool]:
        """Validate, run the handler (which stores ``incoming`` with its effects), shape the reply."""
        handlers = self.route_map.get(call.action)
        if handlers is None or "_on_action" not in handlers:
            raise OcppNotImplemented(details={"cause": f"{call.action} is not supported by evbill"})
        if not handlers.get("_skip_schema_validation", False):
            await schemas.validate(call, self._ocpp_version)
        arguments = _rekeyed(call.payload, _snake_key)
        reply: Reply = await handlers["_on_action"](**arguments, incoming=incoming)
        payload: dict[str, Any] = _rekeyed(remove_nones(serialize_as_dict(reply.response)), _camel_key)
        result = CallResult(call.unique_id, payload, action=call.action)
        if not handlers.get("_skip_schema_validation", False):
            await schemas.validate(result, self._ocpp_version)
        return payload, reply.stored

    # Calling the charger

    async def call_exact(self, action: str, payload: dict[str, Any]) -> CallResult | CallError:
        """Send a call written by evbill's encoder (exact decimals) and wait for the charger's answer."""
        unique_id = str(uuid.uuid4())
        raw = dumps([MessageType.Call, unique_id, action, payload])
        async with self._call_lock:
            await self._record([self.frame(Direction.OUT, raw, Call(unique_id, action, payload))])
            await self._connection.send(raw)
            response: CallResult | CallError = await self._get_specific_response(
                unique_id, self._response_timeout
            )
        return response


def _unique_id_of(raw: str) -> str:
    """The message id of a frame that could not be read, if it can be found at all (else "-1")."""
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "-1"
    if isinstance(decoded, list) and len(decoded) > 1 and isinstance(decoded[1], str):
        return decoded[1][:36]
    return "-1"


def _error_json(error: CallError) -> str:
    """A CallError frame; details keep only plain values (the library puts the whole message in them)."""
    details = {
        str(key): value if isinstance(value, str | int | float | bool) else str(value)[:200]
        for key, value in (error.error_details or {}).items()
        if key != "ocpp_message"
    }
    return dumps([MessageType.CallError, error.unique_id, error.error_code, error.error_description, details])


_CODES = {
    "invalid_input": "PropertyConstraintViolation",
    "not_found": "PropertyConstraintViolation",
    "currency_mismatch": "GenericError",
    "unauthenticated": "SecurityError",
}


def _code_of(error: DomainError) -> str:
    return _CODES.get(error.code, "GenericError")
