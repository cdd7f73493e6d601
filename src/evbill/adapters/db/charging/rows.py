"""OCPP frames, meter samples and refused-frame counts as rows, and samples back from rows."""

from __future__ import annotations

from typing import Any

from evbill.adapters.db.records import (
    FRAMES,
    METER_SAMPLES,
    REFUSED_FRAMES,
    FrameRow,
    MeterSampleRow,
    RefusedFramesRow,
)
from evbill.domain.charging.frames import Frame, RefusedFrames
from evbill.domain.charging.status_history import StatusReport
from evbill.domain.metering.cleaning import MeterSample


def frame_row(frame: Frame, session_id: str | None = None) -> dict[str, Any]:
    """A frame as a row to insert (the id is the database's counter), about ``session_id`` if given."""
    row = FRAMES.to_row(
        FrameRow(
            None,
            frame.operator_id,
            frame.station_id,
            frame.charge_point_id,
            frame.direction,
            frame.at,
            frame.message_type,
            frame.unique_id,
            frame.action,
            frame.raw,
            session_id or frame.session_id,
        )  # fmt: skip
    )
    del row["id"]
    return row


def sample_row(
    operator_id: str, session_id: str, sample: MeterSample, frame_id: int | None = None
) -> dict[str, Any]:
    """A sample as a row to insert, with the frame that carried it when that is known."""
    row = METER_SAMPLES.to_row(
        MeterSampleRow(
            None,
            operator_id,
            session_id,
            sample.timestamp,
            sample.energy,
            str(sample.energy_unit),
            sample.multiplier,
            sample.power,
            str(sample.power_unit),
            sample.current,
            sample.state,
            sample.seq_no,
            sample.context,
            sample.offline,
            sample.signed_data,
            frame_id,
        )  # fmt: skip
    )
    del row["id"]
    return row


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
