"""``Idempotency-Key`` on POST: the same key and request get the first answer, once (as Stripe's API).

* ``claim_key`` (called by the authentication dependency for every POST that carries the header, once
  the operator is known): reserves the key, or raises ``Replayed`` with the stored answer, or refuses
  (422 for a key used with another path or body, 409 while the first request still runs).
* ``IdempotencyRecorder`` (ASGI middleware): keeps the answer of a reserved request (status,
  headers, body) for 24 hours; a server error gives the key up, so a retry runs again.
* A replayed answer is the first one byte for byte, with ``Idempotent-Replayed: true`` added.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evbill.application.access import idempotency as use_cases
from evbill.domain.access.idempotency import IdempotentRequest
from evbill.domain.access.operators import Actor

RESERVED = "evbill.idempotency"  # in the request's state: (operator_id, key) of a reserved request


class Replayed(Exception):  # noqa: N818 - not an error: the stored answer, raised to skip the route
    def __init__(self, stored: IdempotentRequest) -> None:
        self.stored = stored


async def claim_key(request: Request, who: Actor, key: str) -> None:
    body = await request.body()  # the route's own body, already read (and cached) by FastAPI
    request_line = f"{request.method} {request.url.path}?{request.url.query}\n".encode()
    fingerprint = hashlib.sha256(request_line + canonical(body)).hexdigest()
    container = request.app.state.container
    stored = await run_in_threadpool(
        use_cases.claim, container.idempotency, container.services.clock,
        operator_id=who.operator_id, key=key, fingerprint=fingerprint,
    )  # fmt: skip
    if stored is not None:
        raise Replayed(stored)
    request.state.__setattr__(RESERVED, (who.operator_id, key))


def canonical(body: bytes) -> bytes:
    """The request's body as the same request whatever its layout: JSON with its keys sorted and no
    spaces, numbers kept as written ("12.10" is not "12.1"); a body that is not JSON, as it came. A
    retry whose client wrote the keys in another order is the same request (tester: it got 422)."""
    try:
        parsed = json.loads(body, parse_float=_number, parse_int=_number, parse_constant=_number)
    except ValueError:
        return body
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _number(text: str) -> list[str]:
    """A JSON number as its own text, marked apart from a string of the same digits."""
    return ["\x00number", text]


async def replay(_: Request, replayed: Exception) -> Response:
    assert isinstance(replayed, Replayed)
    stored = replayed.stored
    response = Response(base64.b64decode(stored.body or ""), status_code=stored.status or 200)
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in json.loads(stored.headers or "[]")
    ]
    response.raw_headers = [*headers, (b"idempotent-replayed", b"true")]
    return response


class IdempotencyRecorder:
    def __init__(self, app: ASGIApp, container: Any) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        started: Message | None = None
        chunks: list[bytes] = []
        finished = False

        async def keep(message: Message) -> None:
            nonlocal started, finished
            reserved = state.get(RESERVED)
            if reserved is None:
                await send(message)
                return
            if message["type"] == "http.response.start":
                started = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert started is not None
            body = b"".join(chunks)
            await run_in_threadpool(self._keep, reserved, started, body)
            finished = True
            await send(started)
            await send({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, receive, keep)
        finally:
            if state.get(RESERVED) is not None and not finished:
                await run_in_threadpool(self.container.idempotency.release, *state[RESERVED])

    def _keep(self, reserved: tuple[str, str], started: Message, body: bytes) -> None:
        operator_id, key = reserved
        status: int = started["status"]
        if status >= 500:
            self.container.idempotency.release(operator_id, key)
            return
        headers = [
            [name.decode("latin-1"), value.decode("latin-1")] for name, value in started.get("headers", [])
        ]
        self.container.idempotency.complete(
            operator_id, key, status, json.dumps(headers), base64.b64encode(body).decode()
        )
