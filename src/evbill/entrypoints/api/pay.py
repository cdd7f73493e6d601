"""Paying at the charger (EU AFIR): the public payment link of each EVSE, and its QR code.

Public, without an API key (a driver has none): ``/pay/{evse}`` is the EVSE's payment link (evbill's
EVSE id): where it is, the full price incl. VAT from the tariff in force, and what will be held on
the card. ``POST /pay/{evse}/start`` with a gateway token holds that amount and starts the station
remotely; the answer says how it went (``status``: starting, requires_action with a 3-D Secure
``next_action_url``, failed with the reason). ``GET /pay/{evse}/starts/{id}`` follows it (charging,
finished with the captured amount and a receipt link). Public requests are limited per client
address. For operators (API key): the link's QR code as PNG or SVG, the hold per operator or
location, a wallet's reload rule (cards on file: ``api.collection``).
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

import enum
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from starlette.responses import Response

from evbill.application.collection import session_receipts
from evbill.application.payments import adhoc as use_cases
from evbill.application.payments import adhoc_setup, session_funding
from evbill.application.payments.payments import minor_units
from evbill.application.payments.wallets import get_wallet
from evbill.application.ports import QrRenderer
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.errors import InvalidInput, Problem, RateLimited
from evbill.domain.payments.adhoc import AdhocStatus
from evbill.domain.tariffs.model import TariffDimension
from evbill.entrypoints.api.common import Exact, ExactIn, Strict
from evbill.entrypoints.api.ledger import money
from evbill.entrypoints.api.payments import MoneyIn, PaymentOut, payment_out
from evbill.entrypoints.api.security import actor, services

public = APIRouter(tags=["pay at the charger"])
router = APIRouter(tags=["pay at the charger"])
EvseCode = Annotated[str, Field(min_length=1, max_length=36)]


async def pay(request: Request) -> use_cases.PayAtCharger:
    return request.app.state.container.pay_at_charger  # type: ignore[no-any-return]


async def limited(request: Request) -> None:
    """Public routes, per client address: few starts a minute (a driver needs one; someone testing
    stolen cards needs many), more reads (a page polls its start's status)."""
    limits = request.app.state.limits
    settings = request.app.state.container.settings
    address = request.client.host if request.client else "-"
    writes = request.method == "POST"
    per_minute = settings.pay_starts_per_minute if writes else settings.pay_reads_per_minute
    key = f"pay:{'starts' if writes else 'reads'}:{address}"
    wait = await limits.limiter.take(key, limit=per_minute, period=60)
    if wait is not None:
        raise RateLimited("too many requests from this address; try again later", int(wait))


class PlaceOut(BaseModel):
    name: str
    address: str
    city: str
    postal_code: str | None
    country: str


class PriceComponentOut(BaseModel):
    dimension: TariffDimension
    unit: str = Field(description="kWh, hour, or session (FLAT)")
    price_excl_vat: Exact
    vat_percent: Exact | None
    price_incl_vat: Exact = Field(description="What the driver pays per unit, exact (not rounded)")
    restricted: bool = Field(description="Applies only at some times or conditions (see price_text)")


class PayLinkOut(BaseModel):
    evse_uid: str
    evse_id: str | None = Field(description="The eMI3 EVSE id printed on the charger")
    location: PlaceOut
    currency: str
    price_text: str = Field(description="The full price in words, incl. VAT")
    price_components: list[PriceComponentOut]
    hold: Exact = Field(description="What is held on the card at the start; only the final price is taken")
    start_url: str


UNITS = {TariffDimension.FLAT: "session", TariffDimension.ENERGY: "kWh"}


def _link_out(link: use_cases.PayLink) -> PayLinkOut:
    location = link.location
    components = [
        PriceComponentOut(
            dimension=component.dimension,
            unit=UNITS.get(component.dimension, "hour"),
            price_excl_vat=component.price,
            vat_percent=component.vat,
            price_incl_vat=component.price
            if component.vat is None
            else component.price * (1 + component.vat / 100),
            restricted=element.restrictions is not None and not element.restrictions.is_empty(),
        )
        for element in link.tariff.elements
        for component in element.price_components
    ]
    return PayLinkOut(
        evse_uid=link.evse.id,
        evse_id=link.evse.evse_id,
        location=PlaceOut(
            name=location.name,
            address=location.address,
            city=location.city,
            postal_code=location.postal_code,
            country=location.country,
        ),
        currency=link.currency,
        price_text=link.price_text,
        price_components=components,
        hold=money(link.hold, link.currency),
        start_url=f"/pay/{link.evse.id}/start",
    )


class AdhocOut(BaseModel):
    id: str
    evse_uid: str
    status: AdhocStatus
    hold: Exact
    currency: str
    id_tag: str = Field(description="The idTag the station starts the session with")
    session_id: str | None
    captured: Exact | None
    failure: str | None
    created_at: datetime
    next_action_url: str | None = Field(description="3-D Secure: where the driver authenticates")
    confirm_url: str | None
    status_url: str
    receipt_url: str | None
    payment: PaymentOut | None


def _adhoc_out(view: use_cases.AdhocView) -> AdhocOut:
    start = view.start
    base = f"/pay/{start.evse_id}/starts/{start.id}"
    waiting = start.status is AdhocStatus.REQUIRES_ACTION
    return AdhocOut(
        id=start.id,
        evse_uid=start.evse_id,
        status=start.status,
        hold=money(start.amount, start.currency),
        currency=start.currency,
        id_tag=start.id_tag,
        session_id=start.session_id,
        captured=None if start.captured is None else money(start.captured, start.currency),
        failure=start.failure,
        created_at=start.created_at,
        next_action_url=view.payment.next_action_url if view.payment and waiting else None,
        confirm_url=f"{base}/confirm" if waiting else None,
        status_url=base,
        receipt_url=view.receipt_url,
        payment=payment_out(view.payment) if view.payment else None,
    )


class StartIn(Strict):
    payment_method: str = Field(min_length=1, max_length=100, description="A gateway token, e.g. tok_visa")


KeyHeader = Annotated[
    str | None, Header(max_length=150, description="Unique per start; a retry sends the same key.")
]


@public.get("/pay/{evse}", response_model=PayLinkOut, summary="An EVSE's payment link: place, price, hold")
async def pay_link(
    evse: str, _: None = Depends(limited), at: use_cases.PayAtCharger = Depends(pay)
) -> PayLinkOut:
    _check_code(evse)
    return _link_out(await run_in_threadpool(use_cases.pay_link, at, evse))


def _check_code(code: str) -> None:
    if len(code) > 36:
        raise InvalidInput("bad EVSE", (Problem("path.evse", "at most 36 characters"),))


@public.post(
    "/pay/{evse}/start", status_code=201, response_model=AdhocOut, summary="Hold on the card, start remotely"
)
async def start(
    evse: str,
    body: StartIn,
    idempotency_key: KeyHeader = None,
    _: None = Depends(limited),
    at: use_cases.PayAtCharger = Depends(pay),
) -> AdhocOut:
    _check_code(evse)
    view = await run_in_threadpool(
        use_cases.start_adhoc,
        at,
        evse,
        payment_method=body.payment_method,
        idempotency_key=idempotency_key or "",
    )
    return _adhoc_out(view)


@public.get("/pay/{evse}/starts/{start_id}", response_model=AdhocOut, summary="How a start is going")
async def get_start(
    evse: str, start_id: str, _: None = Depends(limited), at: use_cases.PayAtCharger = Depends(pay)
) -> AdhocOut:
    _check_code(evse)
    return _adhoc_out(await run_in_threadpool(use_cases.get_adhoc, at.services, evse, start_id[:36]))


@public.post(
    "/pay/{evse}/starts/{start_id}/confirm", response_model=AdhocOut, summary="After 3-D Secure: start"
)
async def confirm(
    evse: str, start_id: str, _: None = Depends(limited), at: use_cases.PayAtCharger = Depends(pay)
) -> AdhocOut:
    _check_code(evse)
    return _adhoc_out(await run_in_threadpool(use_cases.confirm_adhoc, at, evse, start_id[:36]))


@public.get(
    "/pay/{evse}/starts/{start_id}/receipt",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The receipt (PDF/A-3, Factur-X)."}},
    summary="The driver's receipt of a finished start",
)
async def receipt(
    evse: str,
    start_id: str,
    request: Request,
    _: None = Depends(limited),
    at: use_cases.PayAtCharger = Depends(pay),
) -> Response:
    _check_code(evse)
    drawer = request.app.state.container.documents
    document, content = await run_in_threadpool(
        session_receipts.adhoc_receipt_file, at.services, drawer, evse, start_id[:36]
    )
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", document.number or document.id)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'},
    )


class QrFormat(enum.StrEnum):
    PNG = "png"
    SVG = "svg"


MEDIA = {QrFormat.PNG: "image/png", QrFormat.SVG: "image/svg+xml"}


async def qr_codes(request: Request) -> QrRenderer:
    return request.app.state.container.qr_codes  # type: ignore[no-any-return]


@router.get("/evses/{evse_id}/payment-qr.{output}", summary="The QR code of the EVSE's payment link")
def payment_qr(
    evse_id: str,
    output: QrFormat,
    request: Request,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
    qr: QrRenderer = Depends(qr_codes),
) -> Response:
    link = str(request.base_url).rstrip("/") + f"/pay/{evse_id}"
    image = adhoc_setup.payment_qr(svc, who, evse_id, link=link, output=output.value, qr=qr)
    return Response(image, media_type=MEDIA[output])


class HoldIn(Strict):
    location_id: str | None = Field(default=None, max_length=36, description="None: the operator's own")
    amount: MoneyIn
    currency: str = Field(min_length=3, max_length=3)


class HoldOut(BaseModel):
    location_id: str | None
    amount: Exact
    currency: str


@router.put("/hold-amounts", response_model=HoldOut, summary="What an ad hoc start holds on the card")
def set_hold(body: HoldIn, who: Actor = Depends(actor), svc: Services = Depends(services)) -> HoldOut:
    amount = minor_units(str(body.amount), body.currency)
    adhoc_setup.set_hold_amount(
        svc, who, location_id=body.location_id, amount=amount.minor_units, currency=body.currency
    )
    return HoldOut(location_id=body.location_id, amount=money(amount.minor_units, body.currency),
                   currency=body.currency)  # fmt: skip


class ReloadIn(Strict):
    threshold: Annotated[Decimal, ExactIn, Field(ge=0, max_digits=18, decimal_places=4)]
    amount: MoneyIn


class ReloadOut(BaseModel):
    wallet_id: str
    threshold: Exact
    amount: Exact


@router.put("/wallets/{wallet_id}/reload", response_model=ReloadOut, summary="Reload from the card on file")
def set_reload(
    wallet_id: str, body: ReloadIn, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> ReloadOut:
    currency = get_wallet(svc, who, wallet_id[:36]).wallet.currency
    threshold = minor_units(str(body.threshold), currency, path="$.threshold").minor_units
    amount = minor_units(str(body.amount), currency).minor_units
    reload = session_funding.set_wallet_reload(svc, who, wallet_id, threshold=threshold, amount=amount)
    return ReloadOut(wallet_id=reload.wallet_id, threshold=money(reload.threshold, currency),
                     amount=money(reload.amount, currency))  # fmt: skip
