"""OCPP meter values as exact samples.

OCPP 1.6 sends values as strings ("1234.5"), OCPP 2.0.1 as JSON numbers; both become ``Decimal``
through their text (``Decimal(str(value))``), never through float arithmetic. Per sampled value:

* ``Energy.Active.Import.Register`` (the default measurand) is the energy register; a per-phase
  value is ignored when a total is present. Units Wh/kWh; 2.0.1's ``unitOfMeasure.multiplier`` is
  a power of ten.
* ``Power.Active.Import`` (W/kW) and ``Current.Import`` (A; per-phase values are summed) describe
  the charging speed.
* A signed value (1.6 ``format: SignedData``, 2.0.1 ``signedMeterValue``) is kept verbatim on the
  sample for the dispute evidence pack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.metering.cleaning import ChargingState, MeterSample, ReadingContext

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
_CONTEXTS = {context.value for context in ReadingContext}
_STATES_201 = {
    "Charging": ChargingState.CHARGING,
    "SuspendedEV": ChargingState.SUSPENDED_EV,
    "SuspendedEVSE": ChargingState.SUSPENDED_EVSE,
    "EVConnected": ChargingState.EV_CONNECTED,
    "Idle": ChargingState.IDLE,
}
_STATUS_16 = {
    "Charging": ChargingState.CHARGING,
    "SuspendedEV": ChargingState.SUSPENDED_EV,
    "SuspendedEVSE": ChargingState.SUSPENDED_EVSE,
    "Preparing": ChargingState.EV_CONNECTED,
    "Finishing": ChargingState.EV_CONNECTED,
}


def timestamp(value: object, path: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput("invalid timestamp", (Problem(path, "must be a date-time string"),))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("invalid timestamp", (Problem(path, f"{value!r} is not a date-time"),)) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _number(value: object, path: str) -> Decimal:
    if isinstance(value, bool):
        raise InvalidInput("invalid value", (Problem(path, "must be a number"),))
    if isinstance(value, str) and not value.isascii():
        # Decimal() reads other scripts' digits ("１２３" is 123): a meter writes 0-9 (tester)
        problem = Problem(path, f"{value!r} is not a number written with the digits 0-9")
        raise InvalidInput("invalid value", (problem,))
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput("invalid value", (Problem(path, f"{value!r} is not a number"),)) from None
    if not number.is_finite():
        raise InvalidInput("invalid value", (Problem(path, "must be finite"),))
    return number


def charging_state_201(value: str | None) -> ChargingState | None:
    return None if value is None else _STATES_201.get(value)


def charging_state_16(status: str | None) -> ChargingState | None:
    return None if status is None else _STATUS_16.get(status)


def samples_16(
    meter_values: Sequence[Mapping[str, Any]], *, state: ChargingState | None = None
) -> list[MeterSample]:
    """OCPP 1.6 ``meterValue`` (snake_case keys, as the library hands them over) as samples."""
    result = []
    for index, meter_value in enumerate(meter_values):
        path = f"meterValue[{index}]"
        moment = timestamp(meter_value.get("timestamp"), f"{path}.timestamp")
        fields = _fields(meter_value.get("sampled_value") or [], path, version="1.6")
        result.append(MeterSample(moment, state=state, **fields))
    return result


def samples_201(
    meter_values: Sequence[Mapping[str, Any]],
    *,
    state: ChargingState | None,
    seq_no: int | None,
    offline: bool,
) -> list[MeterSample]:
    result = []
    for index, meter_value in enumerate(meter_values):
        path = f"meterValue[{index}]"
        moment = timestamp(meter_value.get("timestamp"), f"{path}.timestamp")
        fields = _fields(meter_value.get("sampled_value") or [], path, version="2.0.1")
        result.append(MeterSample(moment, state=state, seq_no=seq_no, offline=offline, **fields))
    return result


def _fields(sampled: Sequence[Mapping[str, Any]], path: str, *, version: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    phases_current = Decimal(0)
    saw_phase_current = False
    for index, value in enumerate(sampled):
        item = f"{path}.sampledValue[{index}]"
        measurand = value.get("measurand") or ENERGY
        phase = value.get("phase")
        unit, multiplier = _unit(value, version)
        context = value.get("context")
        if context in _CONTEXTS and "context" not in fields:
            fields["context"] = ReadingContext(context)
        signed = _signed(value, version)
        if signed is not None:
            fields["signed_data"] = signed
            if version == "1.6":
                continue  # the value itself is the signed blob, not a number
        if measurand == ENERGY and phase is None:
            fields.update(energy=_number(value.get("value"), f"{item}.value"), energy_unit=unit or "Wh",
                          multiplier=multiplier)  # fmt: skip
        elif measurand == POWER and phase is None:
            power = _number(value.get("value"), f"{item}.value").scaleb(multiplier)
            fields.update(power=power, power_unit=unit or "W")
        elif measurand == CURRENT:
            current = _number(value.get("value"), f"{item}.value").scaleb(multiplier)
            if phase is None:
                fields["current"] = current
            else:
                phases_current += current
                saw_phase_current = True
    if saw_phase_current and "current" not in fields:
        fields["current"] = phases_current
    return fields


def _unit(value: Mapping[str, Any], version: str) -> tuple[str | None, int]:
    if version == "1.6":
        return value.get("unit"), 0
    measure = value.get("unit_of_measure") or {}
    return measure.get("unit"), int(measure.get("multiplier") or 0)


def _signed(value: Mapping[str, Any], version: str) -> str | None:
    if version == "1.6":
        return str(value.get("value")) if value.get("format") == "SignedData" else None
    signed = value.get("signed_meter_value")
    if not signed:
        return None
    return orjson.dumps(signed, option=orjson.OPT_SORT_KEYS).decode()
