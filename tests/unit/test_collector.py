"""The garbage collector as a server process sets it (see evbill.entrypoints.collector)."""

from __future__ import annotations

import gc

from evbill.entrypoints.collector import THRESHOLDS, settle_for_serving


def test_serving_freezes_what_was_built_and_collects_young_objects_less_often():
    before = gc.get_threshold()
    try:
        settle_for_serving()
        frozen = gc.get_freeze_count()
        thresholds = gc.get_threshold()
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)

    assert frozen > 10_000  # every module, class and function imported so far
    assert thresholds == THRESHOLDS == (10_000, 50, 100)
