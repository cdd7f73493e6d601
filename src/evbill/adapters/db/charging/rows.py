"""OCPP frames, meter samples and refused-frame counts as rows, and samples back from rows."""

from __future__ import annotations

from typing import Any

from evbill.adapters.db.records import (
    REFUSED_FRAMES,
    MeterSampleRow,
    RefusedFramesRow,
)
from evbill.domain.charging.frames import Frame, RefusedFrames
from evbill.domain.charging.status_history import StatusReport
from evbill.domain.metering.cleaning import MeterSample


def frame_row(frame: Frame, session_id: str | None = None) -> dict[str, Any]:
    """A frame as a row to insert (the id is the database's counter), about ``session_id`` if given.

    Written out rather than through ``FRAMES.to_row``: every OCPP message passes here twice (in and
    out) on the event loop, and the generic mapping costs a record object and a pass over its fields.
    ``tests/integration/test_db_ocpp_journal.py`` holds it to the mapping's result."""
    return {
        "operator_id": frame.operator_id,
        "station_id": frame.station_id,
        "charge_point_id": frame.charge_point_id,
        "direction": frame.direction.value,
        "at": frame.at,
        "message_type": frame.message_type,
        "unique_id": frame.unique_id,
        "action": frame.action,
        "raw": frame.raw,
        "session_id": session_id or frame.session_id,
    }


def sample_row(
    operator_id: str, session_id: str, sample: MeterSample, frame_id: int | None = None
) -> dict[str, Any]:
    """A sample as a row to insert, with the frame that carried it when that is known (written out
    for the same reason as ``frame_row``)."""
    state, context = sample.state, sample.context
    return {
        "operator_id": operator_id,
        "session_id": session_id,
        "timestamp": sample.timestamp,
        "energy": sample.energy,
        "energy_unit": str(sample.energy_unit),
        "multiplier": sample.multiplier,
        "power": sample.power,
        "power_unit": str(sample.power_unit),
        "current": sample.current,
        "state": None if state is None else state.value,
        "seq_no": sample.seq_no,
        "context": None if context is None else context.value,
        "offline": sample.offline,
        "signed_data": sample.signed_data,
        "frame_id": frame_id,
    }


def sample_of(stored: MeterSampleRow) -> MeterSample:
    return MeterSample(
        timestamp=stored.timestamp,
        energy=stored.energy,
        energy_unit=stored.energy_unit,
        multiplier=stored.multiplier,
        power=stored.power,
        power_unit=stored.power_unit,
        current=stored.current,
        state=stored.state,
        seq_no=stored.seq_no,
        context=stored.context,
        offline=stored.offline,
        signed_data=stored.signed_data,
    )


def refused_row(refused: RefusedFrames) -> dict[str, Any]:
    row = REFUSED_FRAMES.to_row(
        RefusedFramesRow(
            None,
            refused.operator_id,
            refused.station_id,
            refused.charge_point_id,
            refused.reason,
            refused.window_start,
            refused.window_seconds,
            refused.frames,
            refused.bytes,
            refused.first_at,
            refused.last_at,
        )  # fmt: skip
    )
    del row["id"]
    return row


def status_row(report: StatusReport) -> dict[str, Any]:
    """A reported status as a row of ``connector_status_history`` (the id is the database's counter)."""
    return {
        "operator_id": report.operator_id,
        "station_id": report.station_id,
        "evse_number": report.evse_number,
        "connector_number": report.connector_number,
        "status": report.status,
        "error_code": report.error_code,
        "info": report.info,
        "reported_at": report.reported_at,
        "received_at": report.received_at,
    }
