"""Meter values as chargers write them: numbers of the digits 0-9, or a clear refusal naming the value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from evbill.adapters.ocpp.measurements import samples_16
from evbill.domain.errors import InvalidInput


def _meter(value: str) -> list[dict]:
    sampled = [{"value": value, "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]
    return [{"timestamp": "2026-11-20T10:00:00Z", "sampled_value": sampled}]


def test_a_register_written_with_the_digits_0_to_9_is_read_exactly() -> None:
    [sample] = samples_16(_meter("1234.5"))
    assert sample.energy == Decimal("1234.5")


@pytest.mark.parametrize("value", ["１２３", "\u0661\u0662\u0663", "12\u00b3"])
def test_other_scripts_digits_are_refused_naming_the_value(value: str) -> None:
    """Found by an outside tester: full-width "１２３" was stored as 123 Wh (Decimal() reads them)."""
    with pytest.raises(InvalidInput) as refused:
        samples_16(_meter(value))
    [problem] = refused.value.problems
    assert problem.path == "meterValue[0].sampledValue[0].value"
    assert problem.message == f"{value!r} is not a number written with the digits 0-9"
