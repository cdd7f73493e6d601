"""The one wiring root: builds adapters from settings and hands them to the entrypoints.

Nothing is built at import time; entrypoints call ``bootstrap(settings)`` once and keep the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from evbill.adapters.ocpi.codec import Ocpi221Codec
from evbill.application.ports import OcpiCodec
from evbill.config import Settings


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    ocpi: OcpiCodec


def bootstrap(settings: Settings) -> Container:
    return Container(settings=settings, ocpi=Ocpi221Codec())
