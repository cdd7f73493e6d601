"""The interpreter set for a long-running server: the cyclic garbage collector, and how soon a
thread gets the GIL back.

CPython's collector stops every thread while it runs. A full pass walks every tracked object, and a
server with 1,000 stations connected holds about 250 of them per connection (the websocket, ASGI and
``ocpp`` layers, the station's tasks): some 250,000, which takes 200-500 ms on one core. Measured in
``python -m bench --only ocpp`` (2026-11-22), such passes every 3-5 s put the p99 acknowledgement
latency at 0.8-1 s; with the settings below, at 1,372 MeterValues/s and 100 running costs/s, p99 was
81-101 ms and the throughput rose by a quarter.

* ``gc.freeze()`` once the app is built: what was made at start (modules, compiled schemas, the
  tables) is never garbage and is never walked again.
* Young collections every 10,000 net allocations instead of 700, and each older generation after
  50 and 100 of the younger: requests are answered and freed by reference counting long before a
  collection, so far fewer of them are promoted to be walked again by the costly full passes.
* The GIL switch interval at 1 ms instead of 5 ms. A thread whose database call has returned (the
  OCPP journal's writers, the API's threadpool) waits for the GIL until the busy event loop thread
  is made to give it up, up to a whole interval; a journal batch makes about six round trips to
  PostgreSQL, each such wait holding up every acknowledgement in the batch. Measured on 2026-11-22
  (this machine varies by a fifth from run to run), 1.6 with running costs every 20 s: on PostgreSQL
  at 1,483 MeterValues/s, p99 41-94 ms in four runs before, 30 ms after; on SQLite, the most per
  second 2,824 before, 4,086 and 3,952 after (the bare ``ocpp`` server: 2,966 and 3,453).
"""

from __future__ import annotations

import gc
import sys

THRESHOLDS = (10_000, 50, 100)
SWITCH_INTERVAL_SECONDS = 0.001


def settle_for_serving() -> None:
    """Collect once, freeze what is left (it lives as long as the process), set the thresholds and
    the switch interval."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
