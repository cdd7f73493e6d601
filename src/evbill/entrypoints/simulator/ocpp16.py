"""OCPP 1.6J as a station speaks it: status per connector, Start/Stop/MeterValues, costs by DataTransfer.

Meter values are strings (``"1234567"`` Wh or ``"1234.567"`` kWh, as the station's meter is set);
``meterStart``/``meterStop`` are whole Wh as the protocol requires. The CSMS reports prices the
California Pricing way: DataTransfer ``org.openchargealliance.costmsg`` with message id
``RunningCost`` or ``FinalCost`` and a JSON text holding ``transactionId`` and ``cost``.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.datatypes import KeyValue, MeterValue, SampledValue
from ocpp.v16.enums import (
    Action,
    ChargePointErrorCode,
    ChargePointStatus,
    ConfigurationStatus,
    DataTransferStatus,
    Location,
    Measurand,
    Reason,
    UnitOfMeasure,
)
from ocpp.v16.enums import ReadingContext as Context

from evbill.entrypoints.simulator.clock import format_timestamp
from evbill.entrypoints.simulator.config import OcppVersion
from evbill.entrypoints.simulator.dialect import FIRMWARE, VENDOR, Dialect, status_of
from evbill.entrypoints.simulator.model import (
    ConnectorState,
    CsmsSink,
    EnergyUnit,
    Outgoing,
    Reading,
    StopReason,
    Transaction,
)

COST_VENDOR = "org.openchargealliance.costmsg"
STOP_REASONS = {
    StopReason.EV_DISCONNECTED: Reason.ev_disconnected,
    StopReason.LOCAL: Reason.local,
    StopReason.FAULT: Reason.other,
    StopReason.DEAUTHORIZED: Reason.de_authorized,
}


class StationChargePoint16(ChargePoint):
    """The station's end of one connection: answers what the CSMS asks."""

    def __init__(self, station_id: str, connection: Any, *, sink: CsmsSink, **options: Any) -> None:
        super().__init__(station_id, connection, **options)
        self.sink = sink

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: str | None = None):
        self.sink.record_received(Action.data_transfer)
        if vendor_id != COST_VENDOR:
            return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)
        if message_id == "SetUserPrice":
            self.sink.record_display(str(_decode(data).get("priceText", "")))
            return call_result.DataTransfer(status=DataTransferStatus.accepted)
        if message_id not in ("RunningCost", "FinalCost"):
            return call_result.DataTransfer(status=DataTransferStatus.unknown_message_id)
        content = _decode(data)
        try:
            amount = Decimal(str(content["cost"]))
            transaction = str(content["transactionId"])
        except (KeyError, InvalidOperation):
            return call_result.DataTransfer(status=DataTransferStatus.rejected)
        self.sink.record_cost(transaction=transaction, amount=amount, final=message_id == "FinalCost")
        return call_result.DataTransfer(status=DataTransferStatus.accepted)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str):
        self.sink.record_received(Action.change_configuration)
        if key not in self.sink.configuration():
            return call_result.ChangeConfiguration(status=ConfigurationStatus.not_supported)
        accepted = self.sink.configure(key, value)
        return call_result.ChangeConfiguration(
            status=ConfigurationStatus.accepted if accepted else ConfigurationStatus.rejected
        )

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None):
        self.sink.record_received(Action.get_configuration)
        settings = self.sink.configuration()
        wanted = key or list(settings)
        return call_result.GetConfiguration(
            configuration_key=[
                KeyValue(key=name, readonly=False, value=settings[name])
                for name in wanted
                if name in settings
            ],
            unknown_key=[name for name in wanted if name not in settings] or None,
        )


def _decode(data: str | None) -> dict[str, Any]:
    try:
        content = json.loads(data or "{}", parse_float=Decimal)
    except json.JSONDecodeError:
        return {}
    return content if isinstance(content, dict) else {}


class Ocpp16(Dialect):
    version = OcppVersion.V16

    def charge_point(
        self,
        station_id: str,
        connection: Any,
        *,
        sink: CsmsSink,
        response_timeout: float,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> Any:
        return StationChargePoint16(
            station_id, connection, sink=sink, response_timeout=response_timeout, logger=logger
        )

    def boot(self, station_id: str, model: str) -> Any:
        return call.BootNotification(
            charge_point_vendor=VENDOR,
            charge_point_model=model,
            charge_point_serial_number=station_id[:25],
            firmware_version=FIRMWARE,
        )

    def heartbeat(self) -> Any:
        return call.Heartbeat()

    def visible_status(self, state: ConnectorState) -> str:
        return ChargePointStatus(state.value)

    def status(self, connector_id: int, state: ConnectorState, at: str) -> Any:
        faulted = state is ConnectorState.FAULTED
        return call.StatusNotification(
            connector_id=connector_id,
            error_code=ChargePointErrorCode.ground_failure if faulted else ChargePointErrorCode.no_error,
            status=ChargePointStatus(state.value),
            timestamp=at,
        )

    def station_status(self, at: str) -> Any | None:
        return self.status(0, ConnectorState.AVAILABLE, at)

    def authorize(self, token: str) -> Any:
        return call.Authorize(id_tag=token)

    def authorized(self, response: Any) -> bool:
        return status_of(response, "id_tag_info") == "Accepted"

    def start(self, transaction: Transaction, *, offline: bool, sink: CsmsSink) -> Outgoing:
        payload = call.StartTransaction(
            connector_id=transaction.connector_id,
            id_tag=transaction.token,
            meter_start=transaction.begin.register_wh,
            timestamp=format_timestamp(transaction.begin.at),
        )

        def started(response: Any) -> None:
            transaction.csms_id = int(response.transaction_id)
            transaction.rejected = status_of(response, "id_tag_info") != "Accepted"

        return Outgoing(build=lambda: payload, buffered=True, on_response=started)

    def update(
        self,
        transaction: Transaction,
        reading: Reading,
        *,
        state: ConnectorState,
        changed: bool,
        offline: bool,
        sink: CsmsSink,
    ) -> Outgoing:
        def build() -> Any:
            if transaction.csms_id is None:  # the CSMS never accepted the start: nothing to attach to
                return None
            return call.MeterValues(
                connector_id=transaction.connector_id,
                transaction_id=transaction.csms_id,
                meter_value=[self._meter_value(reading, detailed=True)],
            )

        return Outgoing(build=build, buffered=True)

    def end(
        self, transaction: Transaction, reading: Reading, *, reason: StopReason, offline: bool, sink: CsmsSink
    ) -> Outgoing:
        def build() -> Any:
            if transaction.csms_id is None:
                return None
            return call.StopTransaction(
                meter_stop=reading.register_wh,
                timestamp=format_timestamp(reading.at),
                transaction_id=transaction.csms_id,
                reason=STOP_REASONS[reason],
                id_tag=transaction.token,
                transaction_data=[
                    self._meter_value(transaction.begin, detailed=False),
                    self._meter_value(reading, detailed=False),
                ],
            )

        return Outgoing(build=build, buffered=True)

    def _meter_value(self, reading: Reading, *, detailed: bool) -> MeterValue:
        context = Context(reading.context.value)
        energy = self.unit.express(reading.register_wh)
        values = [
            SampledValue(
                value=format(energy, "f"),
                context=context,
                measurand=Measurand.energy_active_import_register,
                location=Location.outlet,
                unit=UnitOfMeasure.wh if self.unit is EnergyUnit.WH else UnitOfMeasure.kwh,
            )
        ]
        if detailed:
            values.append(
                SampledValue(
                    value=str(reading.power_w),
                    context=context,
                    measurand=Measurand.power_active_import,
                    location=Location.outlet,
                    unit=UnitOfMeasure.w,
                )
            )
        if detailed and reading.soc_percent is not None:
            values.append(
                SampledValue(
                    value=str(reading.soc_percent),
                    context=context,
                    measurand=Measurand.soc,
                    location=Location.ev,
                    unit=UnitOfMeasure.percent,
                )
            )
        return MeterValue(timestamp=format_timestamp(reading.at), sampled_value=values)
