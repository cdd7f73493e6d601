"""Settings, read once from the environment (prefix ``EVBILL_``) and validated.

Only ``bootstrap`` and the entrypoints read settings; everything else gets values through parameters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.money import RoundingMode


@dataclass(frozen=True, slots=True)
class Settings:
    rounding_mode: RoundingMode = RoundingMode.HALF_UP
    default_time_zone: str = "UTC"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        problems = []
        mode_text = environ.get("EVBILL_ROUNDING_MODE", RoundingMode.HALF_UP.value)
        try:
            mode = RoundingMode(mode_text)
        except ValueError:
            allowed = ", ".join(member.value for member in RoundingMode)
            problems.append(Problem("EVBILL_ROUNDING_MODE", f"{mode_text!r} is not one of {allowed}"))
            mode = RoundingMode.HALF_UP
        if problems:
            raise InvalidInput("invalid settings", tuple(problems))
        return cls(rounding_mode=mode, default_time_zone=environ.get("EVBILL_TIME_ZONE", "UTC"))
