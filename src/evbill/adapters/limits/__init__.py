"""Limiters (``application.ports.Limiter``): in this process, or shared by every process in Redis.

Both keep, per key, the theoretical arrival time (TAT) of the generic cell rate algorithm: each event
moves it ``period / limit`` seconds on, and an event is refused while the TAT is more than a whole
burst (``period``) ahead of now. That is a token bucket of ``limit`` tokens refilled at
``limit / period`` per second, in one number per key.

    limiter = build_limiter("memory")                     # the embedded default
    limiter = build_limiter("redis://127.0.0.1:6379/0")   # shared by all processes and machines
"""

from __future__ import annotations

from evbill.adapters.limits.memory import MemoryLimiter
from evbill.adapters.limits.shared import RedisLimiter
from evbill.application.ports import Limiter


def build_limiter(url: str) -> Limiter:
    if url == "memory":
        return MemoryLimiter()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLimiter(url)
    raise ValueError(f"unknown limiter {url!r}: memory or redis://host:port/db")


__all__ = ["MemoryLimiter", "RedisLimiter", "build_limiter"]
