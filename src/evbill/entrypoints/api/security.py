"""Who is calling, how often, and how much they send.

* ``Authorization: Bearer evb_...`` (or ``X-API-Key``) identifies the operator and role
  (``application.access.authenticate``). A missing, unknown or revoked key is 401.
* Each key may make ``rate_limit_per_minute`` requests per minute (a token bucket per key in the
  ``Limiter``: in-process on the embedded default, in Redis, shared by every process and machine,
  with ``EVBILL_LIMITER=redis://...``). Over the limit: 429 with Retry-After.
* Failed authentication is throttled in the same limiter, per client address and per key prefix:
  past ``auth_failures_per_minute`` failures the caller gets 429 before any key is looked up.
* Request bodies above ``max_body_bytes`` are refused with 413 before they are read into memory, and
  JSON bodies nested deeper than ``MAX_JSON_DEPTH`` levels with 422 before any parser recurses, and
  those naming a key twice in one object with 422 naming its path (``json_bodies``).
* A key that authenticated is remembered by the process for ``api_key_cache_seconds``
  (``KeyCache``), so most requests do not read the database to know who is calling. A key revoked
  through this process stops working at once; one revoked through another process (another worker,
  the CLI) stops within that many seconds. An unknown or wrong key is never remembered: every
  refusal reads the database.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evbill.application.access.keys import Unauthenticated, authenticate
from evbill.application.ports import Limiter
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.errors import RateLimited
from evbill.entrypoints.api.idempotency import claim_key
from evbill.entrypoints.api.json_bodies import duplicate_keys
from evbill.entrypoints.api.permissions import check_route
from evbill.entrypoints.api.problems import PROBLEM_JSON
from evbill.entrypoints.api.responses import dumps


class KeyCache:
    """Who each recently authenticated key is, for ``seconds`` after the database said so.

    Entries are keyed by the SHA-256 of the whole presented key, so only the exact key that
    authenticated finds its entry (a wrong secret with a right prefix reads the database and is
    refused). At most ``capacity`` keys are held: when full, the entries are dropped and refilled.
    ``seconds == 0`` turns the cache off.
    """

    def __init__(
        self, seconds: float, *, capacity: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._capacity = capacity
        self._clock = clock
        self._entries: dict[bytes, tuple[Actor, float]] = {}

    @staticmethod
    def _fingerprint(presented: str) -> bytes:
        return hashlib.sha256(presented.encode()).digest()

    def get(self, presented: str) -> Actor | None:
        entry = self._entries.get(self._fingerprint(presented))
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def put(self, presented: str, who: Actor) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= self._capacity:
            self._entries.clear()
        self._entries[self._fingerprint(presented)] = (who, self._clock() + self.seconds)

    def forget(self, key_id: str) -> None:
        """Drop a key (revoked through this process) so its next request reads the database."""
        for fingerprint, (who, _) in list(self._entries.items()):
            if who.key_id == key_id:
                self._entries.pop(fingerprint, None)


async def services(request: Request) -> Services:
    # async: FastAPI runs a sync dependency in the threadpool, a needless hand-off for an attribute read
    return request.app.state.services  # type: ignore[no-any-return]


# The two ways to present a key, declared as OpenAPI security schemes so that /docs has an
# Authorize button and generated clients know how to authenticate. Neither refuses by itself
# (auto_error=False): ``actor`` answers a missing key with the API's own 401 problem.
BEARER = HTTPBearer(
    scheme_name="APIKey",
    bearerFormat="evb_<prefix>_<secret>",
    description="An evbill API key: `Authorization: Bearer evb_...`",
    auto_error=False,
)
X_API_KEY = APIKeyHeader(
    name="X-API-Key",
    scheme_name="XAPIKey",
    description="The same API key in the X-API-Key header, as an alternative",
    auto_error=False,
)


async def actor(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    x_api_key: Annotated[str | None, Depends(X_API_KEY)],
) -> Actor:
    presented = x_api_key
    if bearer is not None and bearer.credentials:
        presented = bearer.credentials.strip()
    # async: a remembered key costs no hand-off to the threadpool; a new one is read there
    cache: KeyCache = request.app.state.key_cache
    who = cache.get(presented) if presented else None
    if who is None:
        who = await _authenticate(request, presented)
        cache.put(presented or "", who)
    limits: Limits = request.app.state.limits
    wait = await limits.limiter.take(f"api-rate:{who.key_id}", limit=limits.per_minute, period=60)
    if wait is not None:
        raise RateLimited(f"more than {limits.per_minute} requests per minute for this API key", int(wait))
    check_route(who, request.method, request.url.path)
    if request.method == "POST" and (key := request.headers.get("idempotency-key")) is not None:
        await claim_key(request, who, key)
    return who


@dataclass(frozen=True)
class Limits:
    """The limiter the API counts in, and its rates: requests per key, failed logins per source."""

    limiter: Limiter
    per_minute: int
    failures_per_minute: int


async def _authenticate(request: Request, presented: str | None) -> Actor:
    """Who the key is; failures are counted per client address and per key prefix, and past
    ``failures_per_minute`` of either the caller is refused (429) before the key is even looked up."""
    limits: Limits = request.app.state.limits
    keys = [f"api-login:address:{request.client.host if request.client else '-'}"]
    if presented and presented.startswith("evb_") and presented.count("_") >= 2:
        keys.append(f"api-login:prefix:{presented.split('_')[1][:32]}")
    for key in keys:
        wait = await limits.limiter.refuses(key, limit=limits.failures_per_minute, period=60)
        if wait is not None:
            raise RateLimited("too many failed authentications; try again later", int(wait))
    try:
        if not presented:
            raise Unauthenticated("missing, unknown or revoked API key")
        return await run_in_threadpool(authenticate, request.app.state.services, presented)
    except Unauthenticated:
        for key in keys:
            await limits.limiter.take(key, limit=limits.failures_per_minute, period=60)
        raise


CurrentActor = Annotated[Actor, Depends(actor)]
CurrentServices = Annotated[Services, Depends(services)]


class BodySizeLimit:
    """ASGI middleware that reads a request's body before the app does, refusing with problem+json:

    * 413 when it is larger than ``max_bytes``, whether declared (Content-Length) or streamed
      (chunked): the app never sees a byte of it;
    * 422 when the path, the query or the body holds a NUL character, which no field may contain
      (PostgreSQL cannot store one in text; a NUL is never meant);
    * 422 when a JSON body (or one without a content type, which FastAPI reads as JSON) nests
      deeper than ``MAX_JSON_DEPTH`` or names a key twice in one object (``$.amount: duplicate key``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(
                send, 413, "payload_too_large", f"request bodies are limited to {self.max_bytes} bytes"
            )
            return
        if _has_nul(scope.get("raw_path") or b"") or _has_nul(scope.get("query_string") or b""):
            await self._refuse(send, 422, "invalid_input", "the path or query holds a NUL character")
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(
                    send, 413, "payload_too_large", f"request bodies are limited to {self.max_bytes} bytes"
                )
                return
        if b"\x00" in body or b"\\u0000" in body:
            await self._refuse(send, 422, "invalid_input", "the body holds a NUL character")
            return
        # media types are case-insensitive (RFC 9110 8.3.1): Application/JSON is JSON to FastAPI too
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
        # FastAPI reads a body without a content type as JSON too
        if (b"json" in content_type or not content_type) and body and await self._refused_json(send, body):
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refused_json(self, send: Send, body: bytearray) -> bool:
        """Refuse a JSON body nested too deep or naming a key twice in one object (True: refused)."""
        if json_depth_exceeds(bytes(body), MAX_JSON_DEPTH):
            await self._refuse(
                send, 422, "invalid_input", f"the body is nested deeper than {MAX_JSON_DEPTH} levels"
            )
            return True
        repeated = duplicate_keys(bytes(body))
        if repeated:
            errors = [{"path": path, "message": "duplicate key", "severity": "error"} for path in repeated]
            await self._refuse(send, 422, "invalid_input", "the body names a key twice", errors=errors)
            return True
        return False

    async def _refuse(
        self, send: Send, status: int, code: str, detail: str, *, errors: list[dict[str, str]] | None = None
    ) -> None:
        title = "Payload too large" if status == 413 else "Invalid input"
        problem: dict[str, object] = {
            "type": f"https://evbill.dev/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
        }
        if errors is not None:
            problem["errors"] = errors
        body = dumps(problem)
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays and objects deeper than ``limit`` (strings do not count).

    Checked before any parser sees the body: a parser recurses once per level, so a body of
    100,000 ``[`` would otherwise end in a RecursionError (a 500) in whichever code reads it.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _JSON_STRING.sub(b"", body).translate(None, _NOT_A_BRACKET):
        depth += 1 if bracket in (0x5B, 0x7B) else -1  # [ or {
        if depth > limit:
            return True
    return False


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw.lower()
