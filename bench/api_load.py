"""An open-loop HTTP load generator: requests go out on a fixed schedule, whatever the answers do.

A closed loop (N clients, each waiting for its answer before sending again) slows down with the server
and so never sees the queue a slow answer builds: coordinated omission. Here request ``i`` is
scheduled at ``start + i / rate`` and sent then, however many are still waiting; its latency is
measured from that scheduled moment to the last byte of the answer, so time spent queued (in the
server, on a busy connection or in this process's own event loop) counts against the server:

    samples = asyncio.run(drive(base_url, headers, requests, rate=200.0, connections=128))
    summarize([s for s in samples if s.scheduled >= warmup], seconds=30.0)["p99_ms"]

One asyncio event loop sends everything, through ``httpx.AsyncClient`` with keep-alive. Not one client
with all the connections: httpcore's pool scans every connection for every queued request on every
change (O(connections x requests), encode/httpcore#1035), and one pool of 128 connections collapses
at 200 requests/s on this machine (seconds of queueing inside the client while the server idles).
So ``connections`` are split into clients of ``PER_CLIENT`` each, taking requests in turn.
``send_lag`` records how late each request actually left, to show whether the generator kept up.

The generator's own garbage collector is held off while it sends (``quiet_collector``): its full
collections over httpx's objects took 85-106 ms here, and every answer that arrived meanwhile was
counted that much late, against the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT_SECONDS = 10.0
PER_CLIENT = 8  # connections per httpx client


@dataclass(frozen=True, slots=True)
class Request:
    kind: str  # what the request stands for, e.g. "sessions?evse_id"
    path: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str
    scheduled: float  # seconds after the first scheduled request
    latency: float  # seconds from the scheduled send to the whole answer (or the failure)
    send_lag: float  # seconds the request left after its scheduled moment
    status: int  # HTTP status; 0 when no answer came (connection error, timeout)
    detail: str = ""  # the error, when there was one


@contextlib.contextmanager
def quiet_collector() -> Iterator[None]:
    """No cyclic garbage collection in this process inside the block (a few MiB of garbage wait)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def drive(
    base_url: str, headers: dict[str, str], requests: Sequence[Request], *, rate: float, connections: int
) -> list[Sample]:
    """Send ``requests`` at ``rate`` per second, open loop; one sample per request, in completion order."""
    limits = httpx.Limits(max_connections=PER_CLIENT, max_keepalive_connections=PER_CLIENT)
    timeout = httpx.Timeout(TIMEOUT_SECONDS, pool=TIMEOUT_SECONDS)
    samples: list[Sample] = []
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=timeout)
            )
            for _ in range(max(connections // PER_CLIENT, 1))
        ]
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        pending = set()
        for index, request in enumerate(requests):
            scheduled = start + index / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            client = clients[index % len(clients)]
            task = asyncio.create_task(_send(client, request, scheduled, start, samples))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
    return samples


async def _send(
    client: httpx.AsyncClient, request: Request, scheduled: float, start: float, samples: list[Sample]
) -> None:
    loop = asyncio.get_running_loop()
    sent = loop.time()
    status, detail = 0, ""
    try:
        response = await client.get(request.path, params=request.params)
        status = response.status_code
        if not 200 <= status < 300:
            detail = response.text[:200]
    except httpx.HTTPError as error:
        detail = f"{type(error).__name__}: {error}"[:200]
    finished = loop.time()
    samples.append(
        Sample(request.kind, scheduled - start, finished - scheduled, sent - scheduled, status, detail)
    )


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (the value below which ``fraction`` lie)."""
    if not ordered:
        return math.nan
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]


def summarize(samples: Sequence[Sample], *, seconds: float) -> dict[str, Any]:
    """Count, errors, latency percentiles (ms) and achieved rate of the samples of one window.

    The achieved rate is the successful answers over the time from the first scheduled send to the
    last answer: an open loop offers the full rate, so it falls short only if answers do not come.
    """
    if not samples:
        return {"count": 0, "errors": 0}
    ordered = sorted(sample.latency for sample in samples)
    errors = [sample for sample in samples if not 200 <= sample.status < 300]
    first = min(sample.scheduled for sample in samples)
    last = max(sample.scheduled + sample.latency for sample in samples)
    lags = sorted(sample.send_lag for sample in samples)

    def milliseconds(value: float) -> float:
        return round(value * 1000, 2)

    return {
        "count": len(samples),
        "errors": len(errors),
        "error_statuses": dict(Counter(str(sample.status) for sample in errors)),
        "error_examples": sorted({sample.detail for sample in errors})[:3],
        "p50_ms": milliseconds(percentile(ordered, 0.50)),
        "p95_ms": milliseconds(percentile(ordered, 0.95)),
        "p99_ms": milliseconds(percentile(ordered, 0.99)),
        "max_ms": milliseconds(ordered[-1]),
        "mean_ms": milliseconds(sum(ordered) / len(ordered)),
        "offered_per_second": round(len(samples) / seconds, 1),
        "achieved_per_second": round((len(samples) - len(errors)) / max(last - first, seconds), 1),
        "send_lag_p99_ms": milliseconds(percentile(lags, 0.99)),
        "send_lag_max_ms": milliseconds(lags[-1]),
    }
