"""A local Stripe for the tests: localstripe run as a separate process on 127.0.0.1, behind a small
proxy that keeps Stripe's idempotency promise, and a receiver for the webhooks it sends.

* localstripe (GPL-3.0) is never imported: it runs as its own process (``localstripe --from-scratch
  --port N``); it listens on every interface, so everything here talks to 127.0.0.1 only.
* localstripe ignores ``Idempotency-Key``. The proxy does what Stripe does with it: the first answer
  to a POST with a key is kept, and the same key again gets that answer (``Idempotent-Replayed``)
  without reaching localstripe; the same key on another request is refused (400). It also notes
  every request, so a test can check that each POST carried a key.
* The receiver keeps each webhook localstripe sends (body and ``Stripe-Signature``, signed with
  ``WEBHOOK_SECRET``), for a test to deliver when and as often as it likes.

Nothing here reaches the internet.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import stripe

SECRET_KEY = "sk_test_evbill_local"
WEBHOOK_SECRET = "whsec_evbill_local_test_secret"
LOOPBACK = "127.0.0.1"


@dataclass
class Delivery:
    body: bytes
    signature: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class StandIn:
    localstripe_url: str  # the "browser" (Stripe.js) talks to it directly: card numbers go there only
    api_base: str  # evbill's gateway talks to the proxy
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, key
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admin(self) -> Any:
        """The test's own hand at Stripe's side, never evbill's: it plays Stripe.js (card data goes to
        Stripe only, which gives back a token) and looks at what Stripe holds."""
        return stripe.StripeClient(
            SECRET_KEY, base_addresses={"api": self.localstripe_url}, max_network_retries=0
        ).v1

    def card(self, number: str) -> str:
        method = self.admin().payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "737"},
            }
        )
        return str(method.id)

    def sepa(self, iban: str) -> str:
        method = self.admin().payment_methods.create(
            params={"type": "sepa_debit", "sepa_debit": {"iban": iban}}
        )
        return str(method.id)

    def authenticate(self, intent_id: str, *, success: bool = True) -> None:
        """The customer passes (or fails) 3-D Secure, between them and Stripe."""
        intent = self.admin().payment_intents.retrieve(intent_id)
        httpx.post(
            f"{self.localstripe_url}/v1/payment_intents/{intent_id}/_authenticate",
            data={"client_secret": intent.client_secret, "success": "true" if success else "false"},
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        ).raise_for_status()

    def wait_for(self, event_type: str, intent_id: str, timeout: float = 10.0) -> Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for delivery in self.deliveries:
                    event = delivery.event
                    if event["type"] == event_type and event["data"]["object"].get("id") == intent_id:
                        return delivery
            time.sleep(0.05)
        raise AssertionError(f"no {event_type} webhook for {intent_id} within {timeout} s")


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """A ``Stripe-Signature`` header as Stripe makes it: t=<time>,v1=HMAC-SHA256(secret, "t.payload")."""
    moment = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{moment}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={moment},v1={mac}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe stopped: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.2):
            return
        time.sleep(0.1)
    raise RuntimeError("localstripe did not start within 20 s")


def _proxy(stand_in: StandIn, target: str) -> ThreadingHTTPServer:
    kept: dict[str, tuple[str, int, bytes, bytes]] = {}  # key -> (request, status, content type, body)
    kept_lock = threading.Lock()

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # quiet
            return

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            key = self.headers.get("Idempotency-Key")
            with stand_in.lock:
                stand_in.requests.append((self.command, self.path, key))
            fingerprint = f"{self.command} {self.path} ".encode() + body
            with kept_lock:
                if self.command == "POST" and key is not None and key in kept:
                    request, status, content_type, answer = kept[key]
                    if request != hashlib.sha256(fingerprint).hexdigest():
                        self._answer(400, b"application/json", b'{"error": {"type": "idempotency_error"}}')
                    else:
                        self._answer(status, content_type, answer, replayed=True)
                    return
                headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
                reply = httpx.request(
                    self.command, target + self.path, content=body, headers=headers, timeout=30
                )
                content_type = reply.headers.get("content-type", "application/json").encode()
                if self.command == "POST" and key is not None:
                    kept[key] = (
                        hashlib.sha256(fingerprint).hexdigest(),
                        reply.status_code,
                        content_type,
                        reply.content,
                    )
            self._answer(reply.status_code, content_type, reply.content)

        def _answer(self, status: int, content_type: bytes, body: bytes, *, replayed: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type.decode())
            self.send_header("Content-Length", str(len(body)))
            if replayed:
                self.send_header("Idempotent-Replayed", "true")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _forward  # noqa: N815

    return ThreadingHTTPServer((LOOPBACK, 0), Proxy)


def _receiver(stand_in: StandIn) -> ThreadingHTTPServer:
    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            return

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with stand_in.lock:
                stand_in.deliveries.append(Delivery(body, self.headers.get("Stripe-Signature", "")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return ThreadingHTTPServer((LOOPBACK, 0), Receiver)


@contextlib.contextmanager
def local_stripe(workdir: Path) -> Iterator[StandIn]:
    port = _free_port()
    log = workdir / "localstripe.log"
    executable = Path(sys.executable).parent / "localstripe"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own dev dependency, fixed arguments
            [str(executable), "--from-scratch", "--port", str(port)],
            cwd=workdir,
            stdout=output,
            stderr=output,
        )
    servers: list[ThreadingHTTPServer] = []
    try:
        _wait_listening(port, process, log)
        target = f"http://{LOOPBACK}:{port}"
        stand_in = StandIn(localstripe_url=target, api_base="")
        proxy, receiver = _proxy(stand_in, target), _receiver(stand_in)
        servers = [proxy, receiver]
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        stand_in.api_base = f"http://{LOOPBACK}:{proxy.server_address[1]}"
        httpx.post(
            f"{target}/_config/webhooks/evbill",
            data={"url": f"http://{LOOPBACK}:{receiver.server_address[1]}/hook", "secret": WEBHOOK_SECRET},
        ).raise_for_status()
        yield stand_in
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
