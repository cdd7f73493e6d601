"""Use cases of idempotency keys: claim a key for a request, keep its answer, or give it up.

``claim`` answers what to do with a POST that carries an ``Idempotency-Key``: run it (the key is now
reserved for it), replay the stored answer, or refuse (409 while the first request still runs, 422
when the key was used for another request). See ``domain.access.idempotency``.
"""

from __future__ import annotations

from evbill.application.ports import Clock, IdempotencyStore
from evbill.domain.access.idempotency import KEPT_FOR, MAX_KEY_LENGTH, Decision, IdempotentRequest, decide
from evbill.domain.errors import InvalidInput, Problem, RequestInProgress


def claim(
    store: IdempotencyStore, clock: Clock, *, operator_id: str, key: str, fingerprint: str
) -> IdempotentRequest | None:
    """None: run the request (the key is reserved for it). A record: replay its answer."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            "invalid Idempotency-Key",
            (Problem("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"),),
        )
    now = clock.now()
    reservation = IdempotentRequest(operator_id, key, fingerprint, None, None, None, now, now + KEPT_FOR)
    decision, stored = store.claim(reservation, lambda found: decide(found, fingerprint, now))
    if decision is Decision.MISMATCH:
        raise InvalidInput(
            "Idempotency-Key reused",
            (
                Problem(
                    "Idempotency-Key", "was used for another request (another path or body); use a new key"
                ),
            ),
        )
    if decision is Decision.IN_PROGRESS:
        raise RequestInProgress(
            "a request with this Idempotency-Key is still running; retry after a second to get its answer"
        )
    return stored if decision is Decision.REPLAY else None
