"""``read_cdr_usage`` (the batch's CDR reader) keeps float volumes by value: what it reads is still
exactly ``parse_cdr``'s usage, digit for digit, whatever was read before."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from evbill.adapters.ocpi.cdrs import parse_cdr, read_cdr_usage


def cdr(energy: Any, hours: Any, current: Any) -> dict[str, Any]:
    return {
        "id": "C1",
        "start_date_time": "2026-03-01T10:00:00Z",
        "end_date_time": "2026-03-01T13:00:00Z",
        "currency": "EUR",
        "charging_periods": [
            {
                "start_date_time": "2026-03-01T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": energy},
                    {"type": "TIME", "volume": hours},
                    {"type": "MIN_CURRENT", "volume": current},
                ],
            }
        ],
    }


def exactly(value: Decimal | None) -> tuple[object, ...]:
    assert value is not None
    return value.as_tuple()


def test_equal_volumes_as_float_int_and_signed_zero_read_as_parse_cdr_reads_each() -> None:
    # The same values as floats (kept), then as ints and as -0.0 (never taken from the floats kept)
    for energy, hours, current in [
        (12.0, 1.0, 16.0),
        (12.0, 1.0, 16.0),
        (12, 1, 16),  # equal to the floats above: Decimal("12") x 1000, not "12.0" x 1000
        (0.0, 0.25, -0.0),
        (0, 0.25, 0.0),
        (7.123, 0.0833, -2.5),
    ]:
        document = cdr(energy, hours, current)
        fast = read_cdr_usage(document).periods[0]
        reference = parse_cdr(document).usage.periods[0]
        assert fast == reference
        for name in ("energy_wh", "charging_s", "min_current"):
            assert exactly(getattr(fast, name)) == exactly(getattr(reference, name)), (name, energy)
    assert exactly(read_cdr_usage(cdr(12, 1, 16)).periods[0].energy_wh) == exactly(Decimal("12000"))
    assert exactly(read_cdr_usage(cdr(12.0, 1, 16)).periods[0].energy_wh) == exactly(Decimal("12000.0"))
