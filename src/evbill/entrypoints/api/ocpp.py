"""The OCPP-J websocket endpoint, ``ws(s)://HOST:PORT/ocpp/{charge_point_id}``, next to the REST API.

Before the websocket is accepted, the station is authenticated (HTTP Basic) and the subprotocol of its
registered OCPP version agreed: a station that cannot be served is refused with an HTTP answer that
says why (400 no subprotocol evbill speaks, or not the one the station is registered for; 401 unknown
station or wrong credentials), so nothing half-open is left. A connection
counts as secure when it is TLS here (wss), or at a proxy uvicorn trusts (FORWARDED_ALLOW_IPS) that says
so with X-Forwarded-Proto: https; a header from anyone else changes nothing.
"""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.responses import Response

from evbill.application.charging.central_system import UnknownStation
from evbill.domain.errors import DomainError
from evbill.domain.sites.model import UnknownStationPolicy

router = APIRouter()


def _secure(websocket: WebSocket) -> bool:
    """TLS here, or at a trusted proxy: uvicorn (proxy_headers) turns the scheme into wss only for
    X-Forwarded-Proto from FORWARDED_ALLOW_IPS, so a client cannot claim TLS with a header."""
    return websocket.url.scheme == "wss"


async def _refuse(
    websocket: WebSocket, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    await websocket.send_denial_response(
        Response(detail, status_code=status, headers=headers, media_type="text/plain")
    )


@router.websocket("/ocpp/{charge_point_id}")
async def ocpp_socket(websocket: WebSocket, charge_point_id: str) -> None:
    endpoint = websocket.app.state.container.ocpp_endpoint
    subprotocol = endpoint.choose_subprotocol(websocket.scope.get("subprotocols") or [])
    if subprotocol is None:
        spoken = ", ".join(endpoint.subprotocols)
        await _refuse(websocket, 400, f"offer one of the subprotocols {spoken}")
        return

    async def receive() -> str:
        return await websocket.receive_text()

    try:
        context = await endpoint.authenticate(
            charge_point_id,
            websocket.headers.get("authorization"),
            secure=_secure(websocket),
            client=websocket.client.host if websocket.client else None,
        )
    except UnknownStation as error:
        if endpoint.unknown is not UnknownStationPolicy.PENDING or len(charge_point_id) > 48:
            await _refuse(websocket, 401, error.message, {"WWW-Authenticate": 'Basic realm="evbill OCPP"'})
            return
        await websocket.accept(subprotocol=subprotocol)
        with contextlib.suppress(WebSocketDisconnect):
            await endpoint.serve_pending(charge_point_id, subprotocol, receive, websocket.send_text)
        return
    except DomainError as error:
        await _refuse(websocket, 401, error.message, {"WWW-Authenticate": 'Basic realm="evbill OCPP"'})
        return
    registered = endpoint.registered_subprotocol(context)
    if registered not in (websocket.scope.get("subprotocols") or []):
        await _refuse(websocket, 400, f"station {charge_point_id} is registered for {registered}: offer it")
        return
    subprotocol = registered
    await websocket.accept(subprotocol=subprotocol)
    with contextlib.suppress(WebSocketDisconnect):
        await endpoint.serve(context, subprotocol, receive, websocket.send_text)
