"""OCPP 2.0.1 as a station speaks it: one EVSE per connector, TransactionEvent, costs by CostUpdated.

Meter values are JSON numbers: whole Wh as an integer (``1234567``), kWh with three decimals
(``1234.567``, a float whose shortest form is exactly those digits). ``seqNo`` counts from 0 per
transaction; events recorded while the station was offline carry ``offline: true``.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.datatypes import (
    ChargingStationType,
    EVSEType,
    GetVariableResultType,
    IdTokenType,
    MeterValueType,
    SampledValueType,
    SetVariableResultType,
    TransactionType,
    UnitOfMeasureType,
)
from ocpp.v201.enums import (
    Action,
    BootReasonEnumType,
    ChargingStateEnumType,
    ConnectorStatusEnumType,
    DataTransferStatusEnumType,
    DisplayMessageStatusEnumType,
    GetVariableStatusEnumType,
    IdTokenEnumType,
    MeasurandEnumType,
    ReadingContextEnumType,
    ReasonEnumType,
    SetVariableStatusEnumType,
    TransactionEventEnumType,
    TriggerReasonEnumType,
)

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

# Device-model variables the station answers for, and the setting each one is.
VARIABLES = {
    ("OCPPCommCtrlr", "HeartbeatInterval"): "HeartbeatInterval",
    ("SampledDataCtrlr", "TxUpdatedInterval"): "MeterValueSampleInterval",
}
COMPONENTS = {component for component, _ in VARIABLES}
ENDINGS = {  # how a transaction ends: (trigger reason, stopped reason)
    StopReason.EV_DISCONNECTED: (TriggerReasonEnumType.ev_departed, ReasonEnumType.ev_disconnected),
    StopReason.LOCAL: (TriggerReasonEnumType.stop_authorized, ReasonEnumType.local),
    StopReason.FAULT: (TriggerReasonEnumType.abnormal_condition, ReasonEnumType.ground_fault),
    StopReason.DEAUTHORIZED: (TriggerReasonEnumType.deauthorized, ReasonEnumType.de_authorized),
}
CHARGING_STATES = {
    ConnectorState.CHARGING: ChargingStateEnumType.charging,
    ConnectorState.SUSPENDED_EV: ChargingStateEnumType.suspended_ev,
}


class StationChargePoint201(ChargePoint):
    """The station's end of one connection: answers what the CSMS asks."""

    def __init__(self, station_id: str, connection: Any, *, sink: CsmsSink, **options: Any) -> None:
        super().__init__(station_id, connection, **options)
        self.sink = sink

    @on(Action.cost_updated)
    def on_cost_updated(self, total_cost: float, transaction_id: str, **_: Any):
        self.sink.record_received(Action.cost_updated)
        self.sink.record_cost(transaction=transaction_id, amount=Decimal(str(total_cost)), final=False)
        return call_result.CostUpdated()

    @on(Action.set_display_message)
    def on_set_display_message(self, message: dict[str, Any], **_: Any):
        self.sink.record_received(Action.set_display_message)
        self.sink.record_display(str(message.get("message", {}).get("content", "")))
        return call_result.SetDisplayMessage(status=DisplayMessageStatusEnumType.accepted)

    @on(Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any):
        self.sink.record_received(Action.get_variables)
        settings = self.sink.configuration()
        results = []
        for item in get_variable_data:
            status, key = _lookup(item)
            results.append(
                GetVariableResultType(
                    attribute_status=status,
                    component=item["component"],
                    variable=item["variable"],
                    attribute_value=settings.get(key) if key else None,
                )
            )
        return call_result.GetVariables(get_variable_result=results)

    @on(Action.set_variables)
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any):
        self.sink.record_received(Action.set_variables)
        results = []
        for item in set_variable_data:
            status, key = _lookup(item)
            if key and not self.sink.configure(key, str(item["attribute_value"])):
                status = GetVariableStatusEnumType.rejected
            results.append(
                SetVariableResultType(
                    attribute_status=SetVariableStatusEnumType(status.value),
                    component=item["component"],
                    variable=item["variable"],
                )
            )
        return call_result.SetVariables(set_variable_result=results)

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any):
        self.sink.record_received(Action.data_transfer)
        return call_result.DataTransfer(status=DataTransferStatusEnumType.unknown_vendor_id)


def _lookup(item: dict[str, Any]) -> tuple[GetVariableStatusEnumType, str | None]:
    component = item["component"]["name"]
    key = VARIABLES.get((component, item["variable"]["name"]))
    if key is not None:
        return GetVariableStatusEnumType.accepted, key
    if component not in COMPONENTS:
        return GetVariableStatusEnumType.unknown_component, None
    return GetVariableStatusEnumType.unknown_variable, None


class StationChargePoint21(StationChargePoint201):
    """The same station speaking 2.1: what it sends is checked against the 2.1 schemas."""

    _ocpp_version = "2.1"


class Ocpp201(Dialect):
    version = OcppVersion.V201
    charge_point_type: type[StationChargePoint201] = StationChargePoint201

    def charge_point(
        self,
        station_id: str,
        connection: Any,
        *,
        sink: CsmsSink,
        response_timeout: float,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> Any:
        return self.charge_point_type(
            station_id, connection, sink=sink, response_timeout=response_timeout, logger=logger
        )

    def boot(self, station_id: str, model: str) -> Any:
        station = ChargingStationType(
            vendor_name=VENDOR, model=model, serial_number=station_id[:25], firmware_version=FIRMWARE
        )
        return call.BootNotification(charging_station=station, reason=BootReasonEnumType.power_up)

    def heartbeat(self) -> Any:
        return call.Heartbeat()

    def visible_status(self, state: ConnectorState) -> str:
        if state in (ConnectorState.AVAILABLE, ConnectorState.FAULTED):
            return ConnectorStatusEnumType(state.value)
        return ConnectorStatusEnumType.occupied

    def status(self, connector_id: int, state: ConnectorState, at: str) -> Any:
        return call.StatusNotification(
            timestamp=at,
            connector_status=ConnectorStatusEnumType(self.visible_status(state)),
            evse_id=connector_id,
            connector_id=1,
        )

    def authorize(self, token: str) -> Any:
        return call.Authorize(id_token=IdTokenType(id_token=token, type=IdTokenEnumType.iso14443))

    def authorized(self, response: Any) -> bool:
        return status_of(response, "id_token_info") == "Accepted"

    def start(self, transaction: Transaction, *, offline: bool, sink: CsmsSink) -> Outgoing:
        payload = call.TransactionEvent(
            event_type=TransactionEventEnumType.started,
            timestamp=format_timestamp(transaction.begin.at),
            trigger_reason=TriggerReasonEnumType.authorized,
            seq_no=transaction.take_seq_no(),
            transaction_info=TransactionType(
                transaction_id=transaction.local_id, charging_state=ChargingStateEnumType.charging
            ),
            id_token=IdTokenType(id_token=transaction.token, type=IdTokenEnumType.iso14443),
            evse=EVSEType(id=transaction.connector_id, connector_id=1),
            meter_value=[self._meter_value(transaction.begin, detailed=False)],
            offline=offline or None,
        )

        def started(response: Any) -> None:
            status = status_of(response, "id_token_info")
            transaction.rejected = status is not None and status != "Accepted"
            self._record_cost(response, transaction, sink, final=False)

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
        trigger = (
            TriggerReasonEnumType.charging_state_changed
            if changed
            else TriggerReasonEnumType.meter_value_periodic
        )
        payload = call.TransactionEvent(
            event_type=TransactionEventEnumType.updated,
            timestamp=format_timestamp(reading.at),
            trigger_reason=trigger,
            seq_no=transaction.take_seq_no(),
            transaction_info=TransactionType(
                transaction_id=transaction.local_id,
                charging_state=CHARGING_STATES.get(state, ChargingStateEnumType.ev_connected),
                time_spent_charging=transaction.charging_seconds,
            ),
            meter_value=[self._meter_value(reading, detailed=True)],
            offline=offline or None,
        )
        return Outgoing(
            build=lambda: payload,
            buffered=True,
            on_response=lambda response: self._record_cost(response, transaction, sink, final=False),
        )

    def end(
        self, transaction: Transaction, reading: Reading, *, reason: StopReason, offline: bool, sink: CsmsSink
    ) -> Outgoing:
        trigger, stopped = ENDINGS[reason]
        by_card = reason is StopReason.LOCAL
        payload = call.TransactionEvent(
            event_type=TransactionEventEnumType.ended,
            timestamp=format_timestamp(reading.at),
            trigger_reason=trigger,
            seq_no=transaction.take_seq_no(),
            transaction_info=TransactionType(
                transaction_id=transaction.local_id,
                stopped_reason=stopped,
                time_spent_charging=transaction.charging_seconds,
            ),
            id_token=IdTokenType(id_token=transaction.token, type=IdTokenEnumType.iso14443)
            if by_card
            else None,
            meter_value=[self._meter_value(reading, detailed=False)],
            offline=offline or None,
        )
        return Outgoing(
            build=lambda: payload,
            buffered=True,
            on_response=lambda response: self._record_cost(response, transaction, sink, final=True),
        )

    @staticmethod
    def _record_cost(response: Any, transaction: Transaction, sink: CsmsSink, *, final: bool) -> None:
        total = getattr(response, "total_cost", None)
        if total is not None:
            sink.record_cost(transaction=transaction.local_id, amount=Decimal(str(total)), final=final)

    def _meter_value(self, reading: Reading, *, detailed: bool) -> MeterValueType:
        context = ReadingContextEnumType(reading.context.value)
        energy = self.unit.express(reading.register_wh)
        values = [
            SampledValueType(
                value=int(energy) if self.unit is EnergyUnit.WH else float(energy),
                context=context,
                measurand=MeasurandEnumType.energy_active_import_register,
                unit_of_measure=UnitOfMeasureType(unit=self.unit.value),
            )
        ]
        if detailed:
            values.append(
                SampledValueType(
                    value=reading.power_w,
                    context=context,
                    measurand=MeasurandEnumType.power_active_import,
                    unit_of_measure=UnitOfMeasureType(unit="W"),
                )
            )
        if detailed and reading.soc_percent is not None:
            values.append(
                SampledValueType(
                    value=reading.soc_percent,
                    context=context,
                    measurand=MeasurandEnumType.soc,
                    unit_of_measure=UnitOfMeasureType(unit="Percent"),
                )
            )
        return MeterValueType(timestamp=format_timestamp(reading.at), sampled_value=values)


class Ocpp21(Ocpp201):
    """OCPP 2.1: for what the simulator sends, the 2.0.1 messages (2.1 only adds optional fields)."""

    version = OcppVersion.V21
    charge_point_type = StationChargePoint21
