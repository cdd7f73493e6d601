"""OCPP 1.6J handlers: translate each message into a use case and its result into the reply.

Prices reach a 1.6 charger through the Open Charge Alliance's "California pricing" DataTransfer
messages (vendorId ``org.openchargealliance.costmsg``): ``SetUserPrice`` with the tariff text after
an accepted Authorize, ``RunningCost`` during a session, ``FinalCost`` after it. Their ``data`` is a
JSON text written by evbill's encoder, so costs keep their exact decimals.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action, AuthorizationStatus, DataTransferStatus, RegistrationStatus

from evbill.adapters.ocpp.measurements import charging_state_16, samples_16
from evbill.adapters.ocpp.measurements import timestamp as timestamp_of
from evbill.adapters.ocpp.protocol import Reply, dumps
from evbill.adapters.ocpp.station import EvbillStation
from evbill.application.charging import central_system as central_system
from evbill.application.charging import connectors
from evbill.application.charging.central_system import Cost
from evbill.application.offers.customers import authorize
from evbill.domain.charging.frames import Frame
from evbill.domain.charging.status_history import status_report_16
from evbill.domain.metering.cleaning import MeterSample, ReadingContext

COST_VENDOR = "org.openchargealliance.costmsg"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Station16(EvbillStation):
    format_error_code = "FormationViolation"  # OCPP 1.6's spelling
    _ocpp_version = "1.6"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connector_status: dict[int, str] = {}
        self._status_loaded = False

    @on(Action.boot_notification)
    async def on_boot(
        self, charge_point_vendor: str, charge_point_model: str, incoming: Frame, **_: Any
    ) -> Reply:
        return Reply(
            call_result.BootNotification(
                current_time=_now(),
                interval=self.settings.heartbeat_interval,
                status=RegistrationStatus.accepted,
            )
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self, incoming: Frame) -> Reply:
        return Reply(call_result.Heartbeat(current_time=_now()))

    @on(Action.status_notification)
    async def on_status(
        self,
        connector_id: int,
        error_code: str,
        status: str,
        incoming: Frame,
        timestamp: str | None = None,
        info: str | None = None,
        vendor_error_code: str | None = None,
        **_: Any,
    ) -> Reply:
        await self._load_connector_status()
        reported_at = timestamp_of(timestamp, "timestamp") if timestamp else None
        self.connector_status[connector_id] = status
        await self.run(
            connectors.note_connector_status,
            connector_id=connector_id,
            status=status,
            state=charging_state_16(status),
            at=reported_at,
            frames=[incoming],
        )
        report = status_report_16(
            self.context.station.operator_id, self.context.station.id, connector_id=connector_id,
            status=status, error_code=error_code, received_at=incoming.at, reported_at=reported_at,
            info=info, vendor_error_code=vendor_error_code,
        )  # fmt: skip
        return Reply(call_result.StatusNotification(), stored=True, statuses=[report])

    async def _load_connector_status(self) -> None:
        """The connectors' last states from before this connection (a reconnect, a server restart)."""
        if not self._status_loaded:
            stored = await self.run(connectors.connector_states)
            self.connector_status = {**stored, **self.connector_status}
            self._status_loaded = True

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, incoming: Frame, **_: Any) -> Reply:
        known = vendor_id == COST_VENDOR
        status = DataTransferStatus.accepted if known else DataTransferStatus.unknown_vendor_id
        return Reply(call_result.DataTransfer(status=status))

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, incoming: Frame) -> Reply:
        answer = await self.run(lambda services, context: authorize(services, context.actor, id_tag))
        status = AuthorizationStatus(answer.status.value)
        if status is AuthorizationStatus.accepted:
            self.later(self._set_user_price(id_tag))
        return Reply(call_result.Authorize(id_tag_info=IdTagInfo(status=status)))

    async def _set_user_price(self, id_tag: str) -> None:
        if not self.context.evses:
            return
        started = await self.run(
            lambda services, context: central_system.price_text(
                services, context, evse_number=min(context.evses), id_token=id_tag
            )
        )
        if started:
            await self._cost_message(None, "SetUserPrice", {"idToken": id_tag, "priceText": started})

    @on(Action.start_transaction)
    async def on_start(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, incoming: Frame, **_: Any
    ) -> Reply:
        moment = timestamp_of(timestamp, "timestamp")
        begin = MeterSample(moment, energy=Decimal(meter_start), context=ReadingContext.TRANSACTION_BEGIN)
        started = await self.run(
            central_system.start_transaction,
            evse_number=connector_id,
            id_token=id_tag,
            started_at=moment,
            transaction_id=None,
            start_key=f"{connector_id}|{id_tag}|{moment.isoformat()}|{meter_start}",
            samples=[begin],
            frames=[incoming],
        )
        if started.session is not None:  # None: answered Invalid, nothing opened
            self.opened(started.session)
        status = AuthorizationStatus(started.authorization.value)
        return Reply(
            call_result.StartTransaction(
                transaction_id=started.transaction_number or 0, id_tag_info=IdTagInfo(status=status)
            ),
            stored=True,
            session_id=None if started.session is None else started.session.id,
        )

    @on(Action.meter_values)
    async def on_meter_values(
        self,
        connector_id: int,
        meter_value: list[dict[str, Any]],
        incoming: Frame,
        transaction_id: int | None = None,
    ) -> Reply:
        if transaction_id is not None:
            session = await self.session_of(str(transaction_id))
            if session is not None:
                await self._load_connector_status()
                state = charging_state_16(self.connector_status.get(connector_id))
                samples = samples_16(meter_value, state=state)
                return Reply(call_result.MeterValues(), samples=samples, session_id=session.id)
        return Reply(call_result.MeterValues())

    @on(Action.stop_transaction)
    async def on_stop(
        self,
        meter_stop: int,
        timestamp: str,
        transaction_id: int,
        incoming: Frame,
        reason: str | None = None,
        id_tag: str | None = None,
        transaction_data: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Reply:
        moment = timestamp_of(timestamp, "timestamp")
        samples = samples_16(transaction_data or [])
        samples.append(
            MeterSample(moment, energy=Decimal(meter_stop), context=ReadingContext.TRANSACTION_END)
        )
        ended = await self.run(
            central_system.end_transaction,
            transaction_id=str(transaction_id),
            ended_at=moment,
            reason=reason,
            samples=samples,
            frames=[incoming],
        )
        self.closed(str(transaction_id))
        if ended.cost is not None and not ended.duplicate:
            self.later(self._final_cost(transaction_id, ended.cost))
            self.settle_later(ended.cost.session.id)
        info = IdTagInfo(status=AuthorizationStatus.accepted) if id_tag else None
        session_id = ended.cost.session.id if ended.cost is not None else None
        return Reply(call_result.StopTransaction(id_tag_info=info), stored=True, session_id=session_id)

    def remote_start_call(self, evse_number: int, id_tag: str) -> tuple[str, dict[str, Any]]:
        return "RemoteStartTransaction", {"connectorId": evse_number, "idTag": id_tag}

    def remote_stop_call(self, transaction_id: str) -> tuple[str, dict[str, Any]]:
        return "RemoteStopTransaction", {"transactionId": int(transaction_id)}

    async def send_running_cost(self, transaction_id: str, cost: Cost) -> None:
        await self._cost_message(
            cost.session.id,
            "RunningCost",
            {
                "transactionId": int(transaction_id),
                "timestamp": _now(),
                "meterValue": int(cost.energy_wh),
                "cost": self.shown(cost),
                "state": await self._cost_state(cost),
            },
        )

    async def _cost_state(self, cost: Cost) -> str:
        """RunningCost's state: "Idle" while the connector is in a parking state (SuspendedEV...)."""
        await self._load_connector_status()
        numbers = [number for number, evse in self.context.evses.items() if evse.id == cost.session.evse_id]
        state = charging_state_16(self.connector_status.get(numbers[0])) if numbers else None
        return "Idle" if state is not None and state.is_parking else "Charging"

    async def _final_cost(self, transaction_id: int, cost: Cost) -> None:
        await self._cost_message(
            cost.session.id,
            "FinalCost",
            {
                "transactionId": transaction_id,
                "cost": self.shown(cost),
                "priceText": f"Total {self.shown(cost)} {cost.shown.currency}",
            },
        )

    async def _cost_message(self, session_id: str | None, message_id: str, data: dict[str, Any]) -> None:
        await self.call_exact(
            "DataTransfer",
            {"vendorId": COST_VENDOR, "messageId": message_id, "data": dumps(data)},
            session_id=session_id,
        )
