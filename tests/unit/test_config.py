"""Settings from the environment: defaults, valid values, and every bad one named at once."""

from __future__ import annotations

import pytest

from evbill.config import Settings
from evbill.domain.errors import InvalidInput


def test_the_api_key_cache_defaults_to_5_seconds_and_0_turns_it_off():
    assert Settings.from_environment({}).api_key_cache_seconds == 5
    assert Settings.from_environment({"EVBILL_API_KEY_CACHE": "0"}).api_key_cache_seconds == 0
    assert Settings.from_environment({"EVBILL_API_KEY_CACHE": "30"}).api_key_cache_seconds == 30


@pytest.mark.parametrize("text", ["-1", "five", "1.5", ""])
def test_a_bad_api_key_cache_time_is_refused_naming_the_variable(text: str):
    with pytest.raises(InvalidInput) as refused:
        Settings.from_environment({"EVBILL_API_KEY_CACHE": text, "EVBILL_RATE_LIMIT": "0"})

    assert [(problem.path, problem.message) for problem in refused.value.problems] == [
        ("EVBILL_RATE_LIMIT", "'0' is not a positive whole number"),
        ("EVBILL_API_KEY_CACHE", f"{text!r} is not a whole number of seconds (0 turns it off)"),
    ]
