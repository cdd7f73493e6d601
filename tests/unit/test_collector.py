"""The interpreter as a server process sets it (see evbill.entrypoints.collector)."""

from __future__ import annotations

import gc
import sys

from evbill.entrypoints.collector import THRESHOLDS, settle_for_serving


def test_serving_freezes_what_was_built_collects_young_objects_less_often_and_switches_sooner():
    before, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        settle_for_serving()
        frozen = gc.get_freeze_count()
        thresholds = gc.get_threshold()
        switch = sys.getswitchinterval()
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        sys.setswitchinterval(interval)

    assert frozen > 10_000  # every module, class and function imported so far
    assert thresholds == THRESHOLDS == (10_000, 50, 100)
    assert interval == 0.005  # CPython's default
    assert abs(switch - 0.001) < 1e-9
