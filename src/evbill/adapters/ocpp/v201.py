"""OCPP 2.0.1 handlers: TransactionEvent Started / Updated / Ended, Authorize, status and events.

The tariff text reaches the driver as the ``idTokenInfo.personalMessage`` of Authorize and of the
Started answer. The running cost goes out as ``CostUpdated``, and the final cost as the Ended
answer's ``totalCost``: 0.00 when the session is free. Events carry ``seqNo``. Meter values go to the
session with their seqNo and offline flag, so cleaning orders them and drops what is resent. An
Updated or an Ended for a transaction evbill never saw start opens the session from that event; its
Started, when it comes, is taken on (``starts``): the same session as if they had come in order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.datatypes import IdTokenInfoType, MessageContentType
from ocpp.v201.enums import (
    Action,
    AuthorizationStatusEnumType,
    MessageFormatEnumType,
    RegistrationStatusEnumType,
)

from evbill.adapters.ocpp.measurements import charging_state_201, samples_201
from evbill.adapters.ocpp.measurements import timestamp as parse_timestamp
from evbill.adapters.ocpp.protocol import Reply
from evbill.adapters.ocpp.station import EvbillStation
from evbill.application.charging import central_system as central_system
from evbill.application.charging.central_system import Cost
from evbill.application.offers.customers import authorize
from evbill.domain.charging.frames import Frame
from evbill.domain.charging.status_history import StatusReport
from evbill.domain.metering.cleaning import MeterSample

MAX_MESSAGE = 512  # MessageContentType.content


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _token_info(status: str, text: str | None) -> IdTokenInfoType:
    message = None
    if text:
        message = MessageContentType(
            format=MessageFormatEnumType.utf8, content=text[:MAX_MESSAGE], language="en"
        )
    return IdTokenInfoType(status=AuthorizationStatusEnumType(status), personal_message=message)


class Station201(EvbillStation):
    _ocpp_version = "2.0.1"

    @on(Action.boot_notification)
    async def on_boot(
        self, charging_station: dict[str, Any], reason: str, incoming: Frame, **_: Any
    ) -> Reply:
        return Reply(
            call_result.BootNotification(
                current_time=_now(),
                interval=self.settings.heartbeat_interval,
                status=RegistrationStatusEnumType.accepted,
            )
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self, incoming: Frame, **_: Any) -> Reply:
        return Reply(call_result.Heartbeat(current_time=_now()))

    @on(Action.status_notification)
    async def on_status(
        self,
        timestamp: str,
        connector_status: str,
        evse_id: int,
        connector_id: int,
        incoming: Frame,
        **_: Any,
    ) -> Reply:
        """On record with the reply, in the journal's group commit: the history, nothing else to do."""
        station = self.context.station
        report = StatusReport(
            station.operator_id, station.id, evse_id, connector_id, connector_status, incoming.at,
            parse_timestamp(timestamp, "timestamp"),
        )  # fmt: skip
        return Reply(call_result.StatusNotification(), statuses=[report])

    @on(Action.notify_event)
    async def on_notify_event(self, incoming: Frame, **_: Any) -> Reply:
        return Reply(call_result.NotifyEvent())

    @on(Action.meter_values)
    async def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], incoming: Frame, **_: Any
    ) -> Reply:
        return Reply(call_result.MeterValues())  # outside a transaction: on record as a frame, priced nowhere

    @on(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], incoming: Frame, **_: Any) -> Reply:
        uid = str(id_token.get("id_token", ""))
        answer = await self.run(lambda services, context: authorize(services, context.actor, uid))
        text = None
        if answer.status.value == "Accepted" and self.context.evses:
            text = await self.run(
                central_system.price_text, evse_number=min(self.context.evses), id_token=uid
            )
        return Reply(call_result.Authorize(id_token_info=_token_info(answer.status.value, text)))

    @on(Action.transaction_event)
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        incoming: Frame,
        offline: bool = False,
        id_token: dict[str, Any] | None = None,
        evse: dict[str, Any] | None = None,
        meter_value: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Reply:
        transaction_id = str(transaction_info["transaction_id"])
        state = charging_state_201(transaction_info.get("charging_state"))
        samples = samples_201(meter_value or [], state=state, seq_no=seq_no, offline=offline)
        moment = parse_timestamp(timestamp, "timestamp")
        if not samples and state is not None:  # e.g. ChargingStateChanged: the state takes effect now
            samples = [MeterSample(moment, state=state, seq_no=seq_no, offline=offline)]
        uid = str(id_token["id_token"]) if id_token else None
        session = None if event_type == "Started" else await self.session_of(transaction_id)
        if event_type == "Started" or session is None:
            # An Updated or Ended before its Started opens the session, awaiting its Started.
            first = event_type == "Started" or event_type == "Updated"
            started = await self.run(
                central_system.start_transaction,
                evse_number=None if (evse or {}).get("id") is None else int((evse or {})["id"]),
                id_token=uid,
                started_at=moment,
                transaction_id=transaction_id,
                start_key=None,
                samples=samples if first else [],
                frames=[incoming] if first else [],
                opened_by=event_type,
            )
            if started.session is None:  # answered Invalid: nothing opened (an Ended is recorded below)
                if first:
                    info = _token_info(started.authorization.value, None) if uid else None
                    return Reply(call_result.TransactionEvent(id_token_info=info), stored=True)
            elif started.ended:  # a late Started priced the session that had ended: pay for it now
                self.settle_later(started.session.id)
            elif first:
                self.meters.pop(started.session.id, None)  # its token and tariff may have come with it
                self.opened(started.session)
            if first and started.session is not None:
                info = _token_info(started.authorization.value, started.price_text) if uid else None
                return Reply(
                    call_result.TransactionEvent(id_token_info=info),
                    stored=True,
                    session_id=started.session.id,
                )
        elif event_type == "Updated" and session.status.value != "ACTIVE":  # after its end
            await self.run(central_system.late_update, session=session, samples=samples, frames=[incoming])
            return Reply(call_result.TransactionEvent(), stored=True, session_id=session.id)
        if event_type == "Updated":
            assert session is not None
            return Reply(call_result.TransactionEvent(), samples=samples, session_id=session.id)
        ended = await self.run(
            central_system.end_transaction,
            transaction_id=transaction_id,
            ended_at=moment,
            reason=transaction_info.get("stopped_reason"),
            samples=samples,
            frames=[incoming],
        )
        self.closed(transaction_id)
        total = self.shown(ended.cost) if ended.cost is not None else self.zero()
        session_id = ended.cost.session.id if ended.cost is not None else None
        if not ended.duplicate and not ended.awaiting_started:
            self.settle_later(session_id)
        return Reply(
            call_result.TransactionEvent(total_cost=total),  # type: ignore[arg-type]
            stored=True,
            session_id=session_id,
        )

    def remote_start_call(self, evse_number: int, id_tag: str) -> tuple[str, dict[str, Any]]:
        # remoteStartId: a number the station echoes in its TransactionEvent; the idToken is the link
        try:
            remote_start_id = int(id_tag[-7:], 16)
        except ValueError:
            remote_start_id = 1
        return "RequestStartTransaction", {
            "idToken": {"idToken": id_tag, "type": "Central"},
            "remoteStartId": remote_start_id,
            "evseId": evse_number,
        }

    def remote_stop_call(self, transaction_id: str) -> tuple[str, dict[str, Any]]:
        return "RequestStopTransaction", {"transactionId": transaction_id}

    async def send_running_cost(self, transaction_id: str, cost: Cost) -> None:
        await self.call_exact(
            "CostUpdated",
            {"totalCost": self.shown(cost), "transactionId": transaction_id},
            session_id=cost.session.id,
        )
