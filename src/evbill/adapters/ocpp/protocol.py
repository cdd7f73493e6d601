"""The base charge point of evbill's central system, on the `ocpp` library.

It keeps the library's routing (``@on`` handlers), message classes and JSON-schema validation, and
changes what every billing system needs:

1. **Nothing is acknowledged before it is on record.** Every frame in and out is stored with the
   station, time and direction. A handler stores its incoming frame with what the message carries,
   in the same transaction (or the same group commit), and the reply frame is stored before it is
   sent. A frame about a charging session names it: it is that session's evidence.
2. **Exact JSON out.** Replies and outgoing calls are written by evbill's encoder: a ``Decimal``
   cost goes out with its own digits. The library's encoder writes every Decimal with one decimal
   place.
3. **A bad frame gets a CallError and the connection stays up.** The library only logs them. The
   code is ``FormationViolation`` in 1.6 and ``FormatViolation`` in 2.0.1 for what cannot be read:
   not JSON, not an OCPP-J call, a message id that is not a string of 1 to 36 characters, JSON nested
   deeper than ``MAX_DEPTH`` (32) levels. Schema errors keep the library's codes
   (TypeConstraintViolation, PropertyConstraintViolation...), and so does a value the journal cannot
   store (PropertyConstraintViolation): it is refused to its sender, and no other station notices.
4. **Limits per station.** A frame over ``max_frame_bytes`` (64 KiB by default) and a call over the
   station's rate limit get a ``GenericError`` answer (``FormationViolation``/``FormatViolation`` for
   the size) and are not stored: each station's refused frames are counted per reason and minute
   (``RefusedFrames``), so a flood costs one row a minute, not one a frame.

Three costs of the library are cut, measured under load (bench/ocpp.py): schema validation is
compiled code first, with the library's verdict whenever that code finds fault (``schemas.py``); it
runs on the event loop (``ASYNC_VALIDATION`` off) because handing each message to a thread and back
cost more than validating it; and the camelCase/snake_case key conversion, two regexes per key, is
remembered per key name (the same few dozen names arrive again and again; the cache is bounded).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

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
from evbill.adapters.ocpp.limits import (
    MAX_DEPTH,
    MAX_MESSAGE_ID,
    RefusalTally,
    StationRateLimit,
    frame_bytes,
    message_id_of,
    too_deep,
)
from evbill.domain.charging.frames import Direction, Frame, RefusalReason, RefusedFrames, Unstorable
from evbill.domain.charging.status_history import StatusReport
from evbill.domain.errors import DomainError, brief_numbers
from evbill.domain.metering.cleaning import MeterSample

LOGGER = logging.getLogger("evbill.ocpp")
MAX_ACTION = 64  # longer than any OCPP action: stored as unknown (the raw frame keeps it)

ocpp.messages.ASYNC_VALIDATION = False  # validate on the loop: the thread hop cost more than the check


class Journal(Protocol):
    """Where frames and samples go: ``await journal(frames, samples)`` returns once they are stored
    (``Unstorable`` if they cannot be); ``count_refused`` adds to a station's count of refused frames."""

    def __call__(
        self,
        frames: Sequence[Frame],
        samples: Sequence[tuple[str, str, MeterSample]] = (),
        *,
        session_id: str | None = None,
        statuses: Sequence[StatusReport] = (),
    ) -> Awaitable[None]:
        """``session_id``: the session every one of ``frames`` is about; ``statuses``: the connector
        statuses the message reported (``connector_status_history``)."""
        ...

    async def count_refused(self, refused: RefusedFrames) -> None: ...


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
    """A handler's answer. ``stored`` when the handler already stored the incoming frame with its
    effects; otherwise the incoming frame is stored with the reply, together with ``samples`` (the
    meter values it carried) in one journal entry. ``session_id``: the session the message is about.
    ``statuses``: connector statuses it reported, stored in the same journal entry as the reply."""

    response: Any
    stored: bool = False
    samples: Sequence[MeterSample] = ()
    session_id: str | None = None
    statuses: Sequence[StatusReport] = ()


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=_default).decode()


def storable(raw: str) -> str:
    """The frame's text as it can be stored: a NUL character (which no JSON frame may hold unescaped,
    and PostgreSQL cannot store) is written as ``\\u0000``, a lone surrogate as ``\\udxxx``."""
    if "\x00" in raw:
        raw = raw.replace("\x00", "\\u0000")
    if not raw.isascii():
        try:
            raw.encode()
        except UnicodeEncodeError:
            raw = raw.encode("utf-8", "backslashreplace").decode()
    return raw


class Connection:
    """What the library needs of a websocket: ``recv`` and ``send`` of text frames."""

    def __init__(self, receive: Callable[[], Awaitable[str]], send: Callable[[str], Awaitable[None]]) -> None:
        self.recv = receive
        self.send = send


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
        journal: Journal,
        rate_limit: StationRateLimit,
        max_frame_bytes: int,
        response_timeout: int = 30,
    ) -> None:
        super().__init__(charge_point_id, connection, response_timeout=response_timeout, logger=LOGGER)
        self._operator_id = operator_id
        self._station_id = station_id
        self._journal = journal
        self._rate_limit = rate_limit
        self._max_frame_bytes = max_frame_bytes
        self._refused = RefusalTally(operator_id, station_id, charge_point_id)
        self._counting: set[asyncio.Task[None]] = set()

    # Frames

    def frame(
        self,
        direction: Direction,
        raw: str,
        message: Call | CallResult | CallError | None,
        session_id: str | None = None,
    ) -> Frame:
        unique_id = action = None
        if message is not None:
            unique_id = message.unique_id if _is_message_id(message.unique_id) else None
            action = getattr(message, "action", None)
            if not isinstance(action, str) or len(action) > MAX_ACTION:
                action = None
        return Frame(
            operator_id=self._operator_id,
            station_id=self._station_id,
            charge_point_id=self.id,
            direction=direction,
            at=datetime.now(UTC),
            message_type=None if message is None else message.message_type_id,
            unique_id=unique_id,
            action=action,
            raw=storable(raw),
            session_id=session_id,
        )

    async def _reply(
        self,
        raw: str,
        message: CallResult | CallError,
        *also: Frame,
        samples: Sequence[MeterSample] = (),
        session_id: str | None = None,
        statuses: Sequence[StatusReport] = (),
    ) -> None:
        """Store the reply (and any frames, samples and statuses still unstored), then send it."""
        frames = [*also, self.frame(Direction.OUT, raw, message)]
        if session_id is None:
            if samples:
                raise ValueError("meter samples are stored with their session")
            await self._journal(frames, statuses=statuses)
        else:
            stored = [(self._operator_id, session_id, sample) for sample in samples]
            await self._journal(frames, stored, session_id=session_id, statuses=statuses)
        await self._connection.send(raw)

    async def _refuse(
        self, unique_id: object, code: str, description: str, *unstored: Frame, **details: Any
    ) -> None:
        answer = CallError(unique_id if isinstance(unique_id, str) else "-1", code, description, details)
        await self._reply(_error_json(answer), answer, *unstored)

    async def _refuse_unread(
        self, reason: RefusalReason, raw: str, unique_id: str, code: str, text: str
    ) -> None:
        """Answer a frame that is not read any further, and count it instead of storing it."""
        closed = self._refused.add(reason, frame_bytes(raw))
        if closed is not None:
            self._count(closed)
        answer = [MessageType.CallError, unique_id, code, text, {}]
        await self._connection.send(dumps(answer))

    def _count(self, refused: RefusedFrames) -> None:
        task = asyncio.get_running_loop().create_task(self._journal.count_refused(refused))
        self._counting.add(task)
        task.add_done_callback(self._counted)

    def _counted(self, task: asyncio.Task[None]) -> None:
        self._counting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            LOGGER.warning("%s: a count of refused frames was not stored", self.id, exc_info=task.exception())

    async def count_refused_frames(self) -> None:
        """Store the counts still open (the station is leaving)."""
        for refused in self._refused.drain():
            self._count(refused)
        if self._counting:
            await asyncio.gather(*self._counting, return_exceptions=True)

    # Receiving

    async def route_message(self, raw_msg: str) -> None:
        if self._refused.open:  # a flood's count is stored once its minute is over
            for refused in self._refused.due():
                self._count(refused)
        if frame_bytes(raw_msg) > self._max_frame_bytes:
            text = f"A frame may hold at most {self._max_frame_bytes} bytes"
            await self._refuse_unread(
                RefusalReason.TOO_LARGE, raw_msg, message_id_of(raw_msg), self.format_error_code, text
            )
            return
        try:
            if too_deep(raw_msg):
                raise RecursionError
            message = unpack(raw_msg)
        except RecursionError:
            await self._refuse_unreadable(raw_msg, f"JSON nested deeper than {MAX_DEPTH} levels")
            return
        except OCPPError as error:
            await self._refuse_unreadable(raw_msg, str(error.description or error))
            return
        incoming = self.frame(Direction.IN, raw_msg, message)
        if message.message_type_id == MessageType.Call:
            await self._serve_call(message, incoming)
        else:
            await self._journal([incoming])  # a charger's answer to our call: on record, then to call()
            self._response_queue.put_nowait(message)

    async def _refuse_unreadable(self, raw: str, cause: str) -> None:
        await self._refuse(
            message_id_of(raw), self.format_error_code, "The message is not a valid OCPP-J frame",
            self.frame(Direction.IN, raw, None), cause=cause[:200],
        )  # fmt: skip

    async def _serve_call(self, call: Call, incoming: Frame) -> None:
        if not self._rate_limit.allow():
            await self._refuse_unread(
                RefusalReason.RATE_LIMIT, incoming.raw, str(call.unique_id)[:MAX_MESSAGE_ID], "GenericError",
                "Too many messages from this station; slow down",
            )  # fmt: skip
            return
        if not _is_message_id(call.unique_id) or not isinstance(call.action, str):
            cause = "the message id must be a string of 1 to 36 characters, the action a string"
            await self._refuse(
                call.unique_id, self.format_error_code, "The message is not a valid OCPP-J call", incoming,
                cause=cause,
            )  # fmt: skip
            return
        try:
            payload, reply = await self._handle(call, incoming)
        except OCPPError as error:
            answer = call.create_call_error(error)
            await self._reply(_error_json(answer), answer, incoming)
            return
        except DomainError as error:
            await self._refuse_for(call, incoming, error)
            return
        except Exception:
            LOGGER.exception("%s: error handling %s", self.id, call.action)
            answer = call.create_call_error(Exception())
            await self._reply(_error_json(answer), answer, incoming)
            return
        result = CallResult(call.unique_id, payload, action=call.action)
        raw = dumps([MessageType.CallResult, call.unique_id, payload])
        unstored = () if reply.stored else (incoming,)
        try:
            await self._reply(
                raw, result, *unstored, samples=reply.samples, session_id=reply.session_id,
                statuses=reply.statuses,
            )  # fmt: skip
        except Unstorable as error:  # what it carried cannot be stored: refused to this station alone
            await self._refuse_for(call, incoming if unstored else None, error)

    async def _refuse_for(self, call: Call, incoming: Frame | None, error: DomainError) -> None:
        problems = brief_numbers("; ".join(str(problem) for problem in getattr(error, "problems", ())))[:400]
        await self._refuse(
            call.unique_id, _code_of(error), error.message[:200], *((incoming,) if incoming else ()),
            problems=problems,
        )  # fmt: skip

    async def _handle(self, call: Call, incoming: Frame) -> tuple[dict[str, Any], Reply]:
        """Validate, run the handler (which may store ``incoming`` with its effects), shape the reply."""
        handlers = self.route_map.get(call.action)
        if handlers is None or "_on_action" not in handlers:
            raise OcppNotImplemented(
                details={"cause": f"{call.action[:MAX_ACTION]} is not supported by evbill"}
            )
        if not handlers.get("_skip_schema_validation", False):
            await schemas.validate(call, self._ocpp_version)
        arguments = _rekeyed(call.payload, _snake_key)
        reply: Reply = await handlers["_on_action"](**arguments, incoming=incoming)
        payload: dict[str, Any] = _rekeyed(remove_nones(serialize_as_dict(reply.response)), _camel_key)
        result = CallResult(call.unique_id, payload, action=call.action)
        if not handlers.get("_skip_schema_validation", False):
            await schemas.validate(result, self._ocpp_version)
        return payload, reply

    # Calling the charger

    async def call_exact(
        self,
        action: str,
        payload: dict[str, Any],
        *,
        session_id: str | None = None,
        timeout: float | None = None,
    ) -> CallResult | CallError:
        """Send a call written by evbill's encoder (exact decimals) and wait for the charger's answer
        (``timeout`` seconds, default the station's response timeout; then TimeoutError)."""
        unique_id = str(uuid.uuid4())
        raw = dumps([MessageType.Call, unique_id, action, payload])
        async with self._call_lock:
            await self._journal(
                [self.frame(Direction.OUT, raw, Call(unique_id, action, payload), session_id)]
            )
            await self._connection.send(raw)
            response: CallResult | CallError = await self._get_specific_response(
                unique_id, self._response_timeout if timeout is None else timeout
            )
        return response


def _is_message_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_MESSAGE_ID


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
