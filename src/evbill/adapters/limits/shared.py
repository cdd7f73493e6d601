"""The shared limiter: one TAT per key in Redis, so every API process and machine counts together.

One Lua script per event reads and moves the TAT atomically, with Redis's own clock (``TIME``), so the
processes' clocks do not matter. Keys expire once their TAT has passed. If Redis cannot be reached,
the limiter lets the event through and logs it: a limiter outage must not take the API down.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

LOGGER = logging.getLogger(__name__)
PREFIX = "evbill:limit:"

# KEYS[1]: the key; ARGV: interval (s), period (s), count (1 to take, 0 to only look).
# Returns the seconds to wait as a string ("0" when allowed).
_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local arrival = tat + interval
local wait = arrival - period - now
if wait > 0 then return tostring(wait) end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], tostring(arrival), 'PX', math.ceil((arrival - now) * 1000) + 1000)
end
return '0'
"""


class RedisLimiter:
    def __init__(self, url: str, *, namespace: str = PREFIX) -> None:
        self.url = url
        self.namespace = namespace
        self._client: Any = None
        self._script: Any = None

    def _gcra(self) -> Any:
        if self._script is None:
            self._client = redis.Redis.from_url(self.url, socket_timeout=1.0, socket_connect_timeout=1.0)
            self._script = self._client.register_script(_GCRA)
        return self._script

    async def _run(self, key: str, limit: int, period: float, count: bool) -> float | None:
        try:
            answer = await self._gcra()(
                keys=[self.namespace + key], args=[period / limit, period, "1" if count else "0"]
            )
        except (RedisError, OSError) as error:
            LOGGER.warning("limiter at %s not reached, letting %s through: %s", self.url, key, error)
            return None
        wait = float(answer)
        return float(max(1, math.ceil(wait))) if wait > 0 else None

    async def take(self, key: str, *, limit: int, period: float) -> float | None:
        return await self._run(key, limit, period, count=True)

    async def refuses(self, key: str, *, limit: int, period: float) -> float | None:
        return await self._run(key, limit, period, count=False)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
