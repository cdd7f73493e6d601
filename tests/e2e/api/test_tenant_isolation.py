"""Tenant isolation: one operator's key can never read, list, infer or change another operator's data.

Operators Alpha and Bravo each own the same kind of world: a site (location, station, EVSE,
connector), a tariff put on the EVSE, a second API key, a business customer with a fleet driver, the
driver's token, a plan, a contract, a coupon given to the customer, two charging sessions, and the
audit entries all that left. Bravo, with an admin key, then tries every route of the API on Alpha's
real ids. The tables below hold the probes, one or more per route;
``test_every_api_route_has_an_isolation_probe`` fails when a route is added without one, so a new
endpoint cannot be forgotten.

What Bravo must get:

* a route with an id in its path: 404 ``not_found``, exactly the answer an id that exists nowhere
  gets (ids aside), whatever the method, even with a valid If-Match and a valid body; the same
  request from Alpha is valid (``owner``), so the 404 is the isolation, not a bad probe;
* a list: only Bravo's records, and nothing at all when filtered by one of Alpha's ids;
* a request that names one of Alpha's records in its body or query: exactly the answer a made-up
  one gets (a body's reference is 422 at its field), and nothing created;
* records whose natural keys Alpha already uses (an OCPI tariff id, a token uid, a coupon code)
  are created as if Alpha did not exist.

And after every probe Alpha's data reads exactly as before, with no audit entry by Bravo.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.routing import iter_route_contexts
from httpx import Response

from evbill.application.access.keys import platform_actor
from evbill.application.invoicing.documents import save_profile
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from tests.e2e.api.conftest import AMSTERDAM, PREFIX, SIMPLE_TARIFF, Api, Tenant, make_site
from tests.e2e.api.test_invoicing_storage import profile
from tests.integration.collection_support import issue_invoice
from tests.unit.test_einvoices import MIXED

PROBLEM_JSON = "application/problem+json"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NEXT_YEAR = "2027-01-01T00:00:00Z"
PAYMENT = {"subject": "session:s-1", "amount": "10.00", "currency": "EUR", "payment_method": "tok_visa"}
MANDATE = {"iban": "NL91ABNA0417164300", "signed_on": "2026-01-15", "debtor_name": "Fleet B.V."}
SAMPLE_SESSION = {
    "start": "2026-03-02T09:00:00+01:00",
    "time_zone": "Europe/Amsterdam",
    "charging_minutes": 90,
    "energy_kwh": "22",
}
BUSINESS = {"kind": "BUSINESS", "name": "Acme Logistics B.V.", "language": "nl", "currency": "EUR",
            "country": "NL"}  # fmt: skip
DRIVER = {"kind": "INDIVIDUAL", "name": "Jan Jansen", "language": "nl", "currency": "EUR", "country": "NL"}
PLAN = {"name": "Basic", "kind": "PAY_PER_USE", "currency": "EUR",
        "version": {"effective_from": "2026-01-01T00:00:00Z"}}  # fmt: skip
CONTRACT = {"start": "2026-01-01T00:00:00Z", "activate": True,
            "terms": {"payment_method": "INVOICE_BANK_TRANSFER"}}  # fmt: skip
COUPON = {"name": "Welcome", "kind": "COUPON", "discount_kind": "PERCENT", "value": "10"}


@dataclass(frozen=True)
class Ids:
    """The values a probe fills into paths, queries and bodies: one operator's, or made up."""

    operator: str
    location: str
    station: str
    charge_point: str
    evse: str
    connector: str
    tariff: str
    assignment: str
    api_key: str
    session: str
    customer: str  # a business account
    email: str  # the business account's
    driver: str  # a fleet driver of that business
    token: str  # the driver's
    token_uid: str
    plan: str
    contract: str  # the business account's
    promotion: str  # a coupon given to the business account
    promotion_code: str
    payment: str  # a card payment held (authorised) for the business account
    wallet: str  # the business account's wallet, topped up by card
    billing_run: str  # a billing run, queued (no worker runs in these tests)
    invoice: str  # an issued invoice of the business account's contract
    mandate: str  # the business account's SEPA mandate (it also has a card on file)
    card_setup: str  # a card setup started for the business account (a SetupIntent; not finished)


@dataclass(frozen=True)
class Owner:
    tenant: Tenant
    ids: Ids
    known: frozenset[str]  # every id, key prefix, uid, code, e-mail and name: none may reach the other
    seen: dict[str, tuple[int, str | None, Any]]  # everything the owner read right after building it


@dataclass(frozen=True)
class World:
    alpha: Owner
    bravo: Owner


def _insert_session(api: Api, tenant: Tenant, site: dict[str, dict[str, Any]], **changes: Any) -> str:
    """Sessions are recorded by OCPP, not the REST API: store one directly."""
    recorded: dict[str, Any] = {
        "id": api.container.services.ids.new_id(),
        "operator_id": tenant.operator_id,
        "location_id": site["location"]["id"],
        "station_id": site["station"]["id"],
        "evse_id": site["evse"]["id"],
        "status": SessionStatus.COMPLETED,
        "started_at": datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        "ended_at": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        "energy_wh": Decimal("22000"),
        "currency": "EUR",
        "tariff_version_id": None,
        "total_excl_vat": Decimal("8.93"),
        "total_incl_vat": Decimal("10.8053"),
        "total_excl_vat_minor": 893,
        "total_incl_vat_minor": 1081,
        "created_at": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    }
    session = ChargingSession(**{**recorded, **changes})
    with api.container.services.uow() as uow:
        uow.sessions.add(session)
        uow.commit()
    return session.id


def _insert_invoice(api: Api, tenant: Tenant, customer_id: str, contract_id: str) -> str:
    """Invoices are issued by the billing run, not the REST API: store an issued one directly."""
    invoice = replace(
        MIXED, id=api.container.services.ids.new_id(), operator_id=tenant.operator_id,
        customer_id=customer_id, contract_id=contract_id, created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )  # fmt: skip
    with api.container.services.uow() as uow:
        uow.invoices.add(invoice)
        uow.commit()
    return invoice.id


def _populate(api: Api, tenant: Tenant, label: str, tariff_id: str) -> Owner:
    """One of everything for the tenant; ``label`` makes its uid, coupon code and e-mail its own."""
    services, who = api.container.services, platform_actor(tenant.operator_id)
    save_profile(services, who, profile(tenant), ibans=api.container.ibans)  # the seller's legal data
    site = make_site(tenant)
    tariff = tenant.created("/tariffs", {**SIMPLE_TARIFF, "id": tariff_id})
    evse = site["evse"]["id"]
    assignment = tenant.created(
        "/tariff-assignments", {"tariff_id": tariff["id"], "scope": "evse", "scope_id": evse}
    )
    api_key = tenant.created("/api-keys", {"name": "Back office", "role": "read_only"})
    email = f"fleet@{label.lower()}.example"
    customer = tenant.created("/customers", {**BUSINESS, "email": email})
    driver = tenant.created("/customers", {**DRIVER, "parent_id": customer["id"]})
    token = tenant.created("/tokens", {"customer_id": driver["id"], "uid": f"{label}-RFID-1", "type": "RFID",
                                       "contract_id": f"NL-EVB-{label}1"})  # fmt: skip
    plan = tenant.created("/plans", PLAN)
    terms = {**CONTRACT["terms"], "plan_id": plan["id"]}
    contract = tenant.created("/contracts", {**CONTRACT, "customer_id": customer["id"], "terms": terms})
    promotion = tenant.created("/promotions", {**COUPON, "code": f"{label}10"})
    given = tenant.post(f"/customers/{customer['id']}/promotions", json={"promotion_id": promotion["id"]})
    assert given.status_code == 201, given.text
    version_id = tenant.get(f"/tariffs/{tariff['id']}/versions").json()["items"][0]["id"]
    session = _insert_session(api, tenant, site, tariff_version_id=version_id)
    payment = tenant.post("/payments", json={**PAYMENT, "subject": f"session:{session}",
                                             "customer_id": customer["id"]},
                          headers={"Idempotency-Key": f"{label}-hold"}).json()  # fmt: skip
    wallet = tenant.created("/wallets", {"customer_id": customer["id"], "currency": "EUR"})
    topped = tenant.post(f"/wallets/{wallet['id']}/top-ups",
                         json={"amount": "20.00", "payment_method": "tok_visa"},
                         headers={"Idempotency-Key": f"{label}-top-up"})  # fmt: skip
    assert topped.status_code == 201, topped.text
    _insert_session(
        api, tenant, site, status=SessionStatus.ACTIVE, started_at=datetime(2026, 3, 3, 7, 0, tzinfo=UTC),
        ended_at=None, total_excl_vat=None, total_incl_vat=None, total_excl_vat_minor=None,
        total_incl_vat_minor=None,
    )  # fmt: skip
    run = tenant.post("/billing-runs", json={"period": "2026-02"})
    assert run.status_code == 202, run.text
    invoice = _insert_invoice(api, tenant, customer["id"], contract["id"])
    card = tenant.put(f"/customers/{customer['id']}/card-on-file", json={"payment_method": "tok_visa"})
    assert card.status_code == 200, card.text
    mandate = tenant.created("/payments/mandates", {**MANDATE, "customer_id": customer["id"],
                                                    "reference": f"M-{label}-1"})  # fmt: skip
    card_setup = tenant.post(f"/customers/{customer['id']}/card-setup",
                             headers={"Idempotency-Key": f"{label}-card-setup"})  # fmt: skip
    assert card_setup.status_code == 201, card_setup.text
    ids = Ids(
        operator=tenant.operator_id, location=site["location"]["id"], station=site["station"]["id"],
        charge_point=site["station"]["charge_point_id"], evse=evse, connector=site["connector"]["id"],
        tariff=tariff["id"], assignment=assignment["id"], api_key=api_key["id"], session=session,
        customer=customer["id"], email=email, driver=driver["id"], token=token["id"], token_uid=token["uid"],
        plan=plan["id"], contract=contract["id"], promotion=promotion["id"], promotion_code=promotion["code"],
        payment=payment["id"], wallet=wallet["id"], billing_run=run.json()["id"], invoice=invoice,
        mandate=mandate["id"], card_setup=card_setup.json()["id"],
    )  # fmt: skip
    seen = view(Owner(tenant, ids, frozenset(), {}))
    return Owner(tenant, ids, _known(tenant, ids, seen), seen)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _known(tenant: Tenant, ids: Ids, seen: dict[str, tuple[int, str | None, Any]]) -> frozenset[str]:
    """Every UUID in everything the owner can read, its keys' prefixes, and its own unique values."""
    everything = [body for _, _, body in seen.values()]
    uuids = {text for text in _strings(everything) if UUID.fullmatch(text)}
    prefixes = {key["prefix"] for key in seen["/api-keys"][2]["items"]}
    unique = {ids.charge_point, ids.email, ids.token_uid, ids.promotion_code, tenant.name}
    return frozenset(uuids | prefixes | unique)


def build_world(api: Api) -> World:
    alpha = _populate(api, api.tenant("Alpha"), "ALPHA", "AC-STANDARD")
    bravo = _populate(api, api.tenant("Bravo"), "BRAVO", "AC-BRAVO")
    return World(alpha, bravo)


def made_up_ids(api: Api) -> Ids:
    """UUIDv7 ids of the kind the API gives out (and other values of their kind) that belong to nothing."""
    new_id = api.container.services.ids.new_id
    made_up = {item.name: new_id() for item in fields(Ids)}
    return Ids(**{**made_up, "email": f"{new_id()}@example.com"})


def fill(template: Any, **values: Any) -> Any:
    """Format every string in a (nested) template: '{ids.location}' becomes that location's id."""
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {key: fill(value, **values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(item, **values) for item in template]
    return template


def view(owner: Owner) -> dict[str, tuple[int, str | None, Any]]:
    """Everything the owner can read about its own data: the reference for 'unchanged'."""
    ids = owner.ids
    paths = [
        f"/operators/{ids.operator}", "/operators", "/api-keys", "/audit-log?limit=200",
        f"/locations/{ids.location}", f"/stations/{ids.station}", f"/evses/{ids.evse}",
        f"/connectors/{ids.connector}", "/locations", "/stations", "/evses", "/connectors",
        f"/tariffs/{ids.tariff}", f"/tariffs/{ids.tariff}/versions", "/tariffs", "/tariff-assignments",
        f"/evses/{ids.evse}/tariff", f"/sessions/{ids.session}", "/sessions",
        f"/sessions/{ids.session}/evidence", f"/sessions/{ids.session}/cdr",
        "/customers", f"/customers/{ids.customer}", f"/customers/{ids.driver}", "/tokens",
        f"/tokens/{ids.token}",
        "/plans", f"/plans/{ids.plan}", "/contracts", f"/contracts/{ids.contract}",
        f"/contracts/{ids.contract}/bill?cycle_start=2026-03-01", "/promotions",
        f"/promotions/{ids.promotion}",
        f"/price?evse_id={ids.evse}&token_uid={ids.token_uid}",
        f"/payments/{ids.payment}", "/payments", f"/wallets/{ids.wallet}", "/ledger/trial-balance",
        "/ledger/entries", f"/ledger/accounts/wallet:{ids.wallet}/statement?currency=EUR",
        "/billing-runs", f"/billing-runs/{ids.billing_run}",
        "/invoices", f"/invoices/{ids.invoice}",
        f"/customers/{ids.customer}/card-on-file", "/payments/cards-on-file", "/payments/mandates",
        f"/payments/mandates/{ids.mandate}", "/payments/collection-policy", "/analytics/booked-revenue",
    ]  # fmt: skip
    answers = {path: owner.tenant.get(path) for path in paths}
    return {path: (r.status_code, r.headers.get("etag"), r.json()) for path, r in answers.items()}


def assert_untouched(owner: Owner, intruder: Owner) -> None:
    """The owner reads exactly what it read when its world was built, and no audit entry is the intruder's."""
    assert view(owner) == owner.seen
    actors = [entry["actor"] for entry in owner.tenant.get("/audit-log?limit=200").json()["items"]]
    assert [actor for actor in actors if any(value in actor for value in intruder.known)] == []


def masked(response: Response, ids: Ids) -> Any:
    """The answer with every value of ``ids`` replaced by '<id>', to compare answers about different ids."""
    text = response.text
    for item in fields(Ids):
        text = text.replace(getattr(ids, item.name), "<id>")
    return json.loads(text) if text else None


def leaked(response: Response, owner: Owner) -> set[str]:
    return {value for value in owner.known if value in response.text}


def send(tenant: Tenant, method: str, path: str, body: Any, if_match: str | None = None) -> Response:
    """A JSON body, or a CSV file when the body is a string; a fresh Idempotency-Key on every request
    (the POSTs that move money need one; the others ignore it)."""
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    if if_match is not None:
        headers["If-Match"] = if_match
    if isinstance(body, str):
        headers["Content-Type"] = "text/csv"
        return tenant.request(method, path, content=body.encode(), headers=headers)
    return tenant.request(method, path, json=body, headers=headers)


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    """One world for every probe by Bravo (none may change anything); tests that write build their own."""
    return build_world(api)


# --- Routes with an id in the path -----------------------------------------------------------------


@dataclass(frozen=True)
class ById:
    method: str
    route: str  # as the app declares it
    path: str  # the same with the ids filled in: '{ids.location}'
    body: Any = None
    etag: bool = False  # send If-Match with the record's real, current ETag
    owner: int = 200  # what the record's owner gets for the same request

    def send(self, tenant: Tenant, ids: Ids, if_match: str | None) -> Response:
        return send(tenant, self.method, fill(self.path, ids=ids), fill(self.body, ids=ids), if_match)


REPRICED_TARIFF = {**SIMPLE_TARIFF, "last_updated": "2026-02-01T00:00:00Z", "elements": [
    {"price_components": [{"type": "ENERGY", "price": 0.01, "vat": 21.0, "step_size": 1}]}
]}  # fmt: skip
CONTRACT_PATH = "/contracts/{ids.contract}"

ID_PROBES = [
    ById("GET", "/operators/{operator_id}", "/operators/{ids.operator}"),
    ById("PATCH", "/operators/{operator_id}", "/operators/{ids.operator}", {"name": "B"}, etag=True),
    ById("DELETE", "/api-keys/{key_id}", "/api-keys/{ids.api_key}", owner=204),
    ById("GET", "/locations/{record_id}", "/locations/{ids.location}"),
    ById("PATCH", "/locations/{record_id}", "/locations/{ids.location}", {"name": "B"}, etag=True),
    # Alpha is told its location still has stations (409); Bravo must not learn even that.
    ById("DELETE", "/locations/{record_id}", "/locations/{ids.location}", etag=True, owner=409),
    ById("GET", "/stations/{record_id}", "/stations/{ids.station}"),
    ById("PATCH", "/stations/{record_id}", "/stations/{ids.station}", {"vendor": "B"}, etag=True),
    ById("DELETE", "/stations/{record_id}", "/stations/{ids.station}", etag=True, owner=409),
    ById("GET", "/evses/{record_id}", "/evses/{ids.evse}"),
    ById("PATCH", "/evses/{record_id}", "/evses/{ids.evse}", {"ocpp_evse_id": 2}, etag=True),
    ById("DELETE", "/evses/{record_id}", "/evses/{ids.evse}", etag=True, owner=409),
    ById("GET", "/connectors/{record_id}", "/connectors/{ids.connector}"),
    ById("PATCH", "/connectors/{record_id}", "/connectors/{ids.connector}", {"max_amperage": 16}, etag=True),
    ById("DELETE", "/connectors/{record_id}", "/connectors/{ids.connector}", etag=True, owner=204),
    ById("GET", "/tariffs/{tariff_id}", "/tariffs/{ids.tariff}"),
    ById("PUT", "/tariffs/{tariff_id}", "/tariffs/{ids.tariff}", REPRICED_TARIFF, etag=True),
    ById("GET", "/tariffs/{tariff_id}/versions", "/tariffs/{ids.tariff}/versions"),
    ById("GET", "/tariffs/{tariff_id}/versions/{number}", "/tariffs/{ids.tariff}/versions/1"),
    ById("GET", "/tariff-assignments/{assignment_id}", "/tariff-assignments/{ids.assignment}"),
    ById("DELETE", "/tariff-assignments/{assignment_id}", "/tariff-assignments/{ids.assignment}", etag=True,
         owner=204),
    ById("GET", "/evses/{evse_id}/tariff", "/evses/{ids.evse}/tariff"),
    ById("PUT", "/analytics/energy-purchases/{location_id}", "/analytics/energy-purchases/{ids.location}",
         {"currency": "EUR", "kind": "fixed", "fixed_price": "0.25"}),
    ById("PUT", "/analytics/energy-prices/{location_id}",
         "/analytics/energy-prices/{ids.location}?currency=EUR", "start,price\n2026-03-03T12:00:00Z,0.20\n"),
    ById("GET", "/sessions/{session_id}", "/sessions/{ids.session}"),
    ById("GET", "/sessions/{session_id}/evidence", "/sessions/{ids.session}/evidence"),
    ById("GET", "/sessions/{session_id}/review", "/sessions/{ids.session}/review"),
    # Alpha's session is COMPLETED and was not metered by evbill: it cannot be closed or re-rated.
    ById("POST", "/sessions/{session_id}/close", "/sessions/{ids.session}/close", {"reason": "a"}, owner=409),
    ById(
        "POST", "/sessions/{session_id}/rerate", "/sessions/{ids.session}/rerate", {"reason": "b"}, owner=409
    ),
    ById("POST", "/sessions/{session_id}/energy-correction", "/sessions/{ids.session}/energy-correction",
         {"reason": "meter photo", "energy_wh": "1000"}),
    ById("POST", "/sessions/{session_id}/void", "/sessions/{ids.session}/void", {"reason": "test session"}),
    # The session was stored, not priced by evbill's OCPP system: even Alpha is told it has no CDR.
    ById("GET", "/sessions/{session_id}/cdr", "/sessions/{ids.session}/cdr", owner=404),
    ById("GET", "/customers/{record_id}", "/customers/{ids.customer}"),
    ById("PATCH", "/customers/{record_id}", "/customers/{ids.customer}", {"name": "B"}, etag=True),
    ById("DELETE", "/customers/{record_id}", "/customers/{ids.customer}", etag=True, owner=409),
    ById("POST", "/customers/{customer_id}/promotions", "/customers/{ids.customer}/promotions",
         {"promotion_id": "{ids.promotion}"}),  # Alpha's customer has it already: 200, nothing new
    ById("GET", "/tokens/{record_id}", "/tokens/{ids.token}"),
    ById("PATCH", "/tokens/{record_id}", "/tokens/{ids.token}", {"status": "BLOCKED"}, etag=True),
    ById("DELETE", "/tokens/{record_id}", "/tokens/{ids.token}", etag=True, owner=204),
    ById("GET", "/plans/{plan_id}", "/plans/{ids.plan}"),
    ById("POST", "/plans/{plan_id}/versions", "/plans/{ids.plan}/versions",
         {"effective_from": NEXT_YEAR}, etag=True, owner=201),
    ById("GET", "/contracts/{contract_id}", CONTRACT_PATH),
    ById("POST", "/contracts/{contract_id}/terms", CONTRACT_PATH + "/terms",
         {"effective_from": NEXT_YEAR, "payment_due_days": 30}, etag=True, owner=201),
    ById("POST", "/contracts/{contract_id}/status", CONTRACT_PATH + "/status", {"status": "SUSPENDED"},
         etag=True),
    ById("GET", "/contracts/{contract_id}/bill", CONTRACT_PATH + "/bill?cycle_start=2026-03-01"),
    ById("POST", "/contracts/{contract_id}/bill", CONTRACT_PATH + "/bill", {"cycle_start": "2026-03-01"}),
    ById("GET", "/promotions/{promotion_id}", "/promotions/{ids.promotion}"),
    ById("GET", "/payments/{payment_id}", "/payments/{ids.payment}"),
    ById("GET", "/billing-runs/{run_id}", "/billing-runs/{ids.billing_run}"),
    ById("POST", "/payments/{payment_id}/capture", "/payments/{ids.payment}/capture", {"amount": "5.00"}),
    # the hold is authorised, not waiting for 3-D Secure: even Alpha is refused (409)
    ById("POST", "/payments/{payment_id}/confirm", "/payments/{ids.payment}/confirm", owner=409),
    ById("POST", "/payments/{payment_id}/release", "/payments/{ids.payment}/release"),
    ById("GET", "/invoices/{invoice_id}", "/invoices/{ids.invoice}"),
    ById("GET", "/invoices/{invoice_id}/pdf", "/invoices/{ids.invoice}/pdf"),
    ById("GET", "/invoices/{invoice_id}/ubl", "/invoices/{ids.invoice}/ubl"),
    ById("GET", "/invoices/{invoice_id}/cii", "/invoices/{ids.invoice}/cii"),
    ById("POST", "/invoices/{invoice_id}/credit-notes", "/invoices/{ids.invoice}/credit-notes",
         {"reason": "probe"}, owner=201),
    ById("POST", "/invoices/{invoice_id}/void", "/invoices/{ids.invoice}/void", {"reason": "probe"}),
    # e-mail is not configured in these tests: even Alpha is told so (422, naming EVBILL_SMTP_URL)
    ById("POST", "/invoices/{invoice_id}/send", "/invoices/{ids.invoice}/send", {"to": "a@example.org"},
         owner=422),
    # Alpha's session was stored without a price breakdown: even Alpha is told it cannot get a receipt
    ById("POST", "/sessions/{session_id}/receipt", "/sessions/{ids.session}/receipt", owner=409),
    ById("GET", "/contracts/{contract_id}/invoice-preview", CONTRACT_PATH + "/invoice-preview"),
    ById("GET", "/wallets/{wallet_id}", "/wallets/{ids.wallet}"),
    ById("POST", "/wallets/{wallet_id}/top-ups", "/wallets/{ids.wallet}/top-ups",
         {"amount": "5.00", "payment_method": "tok_visa"}, owner=201),
    ById("POST", "/wallets/{wallet_id}/payments", "/wallets/{ids.wallet}/payments",
         {"amount": "1.00", "receivable": "session:probe"}, owner=422),  # no such session, even for Alpha
    ById("POST", "/wallets/{wallet_id}/refunds", "/wallets/{ids.wallet}/refunds",
         {"amount": "1.00", "spend_id": "probe"}, owner=422),
    ById("POST", "/wallets/{wallet_id}/authorisations", "/wallets/{ids.wallet}/authorisations",
         {"amount": "1.00"}),
    ById("PUT", "/wallets/{wallet_id}/reload", "/wallets/{ids.wallet}/reload",
         {"threshold": "5.00", "amount": "20.00"}),
    ById("GET", "/evses/{evse_id}/payment-qr.{output}", "/evses/{ids.evse}/payment-qr.png"),
    ById("GET", "/evses/{evse_id}/payment-qr.{output}", "/evses/{ids.evse}/payment-qr.svg"),
    ById("PUT", "/customers/{customer_id}/card-on-file", "/customers/{ids.customer}/card-on-file",
         {"payment_method": "tok_visa", "charge_sessions": True}),
    ById("GET", "/customers/{customer_id}/card-on-file", "/customers/{ids.customer}/card-on-file"),
    ById("PATCH", "/customers/{customer_id}/card-on-file", "/customers/{ids.customer}/card-on-file",
         {"charge_sessions": True}, etag=True),
    ById("DELETE", "/customers/{customer_id}/card-on-file", "/customers/{ids.customer}/card-on-file",
         owner=204),
    ById("POST", "/customers/{customer_id}/card-setup", "/customers/{ids.customer}/card-setup", owner=201),
    # the setup is not finished (the customer gave no card): even Alpha is told so (409)
    ById("POST", "/customers/{customer_id}/card-setup/{setup_id}/confirm",
         "/customers/{ids.customer}/card-setup/{ids.card_setup}/confirm", owner=409),
    ById("GET", "/payments/mandates/{mandate_id}", "/payments/mandates/{ids.mandate}"),
    ById("POST", "/payments/mandates/{mandate_id}/revoke", "/payments/mandates/{ids.mandate}/revoke"),
]  # fmt: skip


def _probe_name(probe: ById) -> str:
    return f"{probe.method} {probe.route}"


def _if_match(owner: Owner, path: str) -> str:
    """The current ETag of the record a path is about: '/contracts/<id>' for '/contracts/<id>/terms'
    (a customer's card on file has an ETag of its own)."""
    record = path.split("?")[0]
    if not record.endswith("/card-on-file"):
        record = "/".join(record.split("/")[:3])
    return owner.tenant.get(record).headers["etag"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("probe", ID_PROBES, ids=_probe_name)
def test_another_operators_id_answers_exactly_like_an_id_that_exists_nowhere(
    api: Api, world: World, probe: ById
) -> None:
    # Given Alpha's world, and Bravo with an admin key
    alpha, bravo = world.alpha, world.bravo
    if_match = _if_match(alpha, fill(probe.path, ids=alpha.ids)) if probe.etag else None
    made_up = made_up_ids(api)

    # When Bravo sends the request with Alpha's real ids (and the record's real ETag), and with ids
    # that exist nowhere
    with_alphas_ids = probe.send(bravo.tenant, alpha.ids, if_match)
    with_made_up_ids = probe.send(bravo.tenant, made_up, if_match)

    # Then both are the same 404 not_found problem, ids aside, revealing nothing else of Alpha
    assert with_alphas_ids.status_code == 404, with_alphas_ids.text
    assert with_alphas_ids.headers["content-type"] == PROBLEM_JSON
    assert "etag" not in with_alphas_ids.headers
    assert masked(with_alphas_ids, alpha.ids) == masked(with_made_up_ids, made_up)
    assert masked(with_alphas_ids, alpha.ids)["code"] == "not_found"
    assert leaked(with_alphas_ids, alpha) <= {getattr(alpha.ids, item.name) for item in fields(Ids)}
    # And Alpha's data reads exactly as before, with no audit entry by Bravo
    assert_untouched(alpha, bravo)


@pytest.mark.parametrize("probe", ID_PROBES, ids=_probe_name)
def test_each_probe_is_a_valid_request_for_the_records_owner(api: Api, world: World, probe: ById) -> None:
    # Given a world of the probe's owner: the shared Alpha to read, a fresh one to change
    owner = (
        world.alpha
        if probe.method == "GET"
        else _populate(api, api.tenant("Charlie"), "CHARLIE", "AC-STANDARD")
    )
    if_match = _if_match(owner, fill(probe.path, ids=owner.ids)) if probe.etag else None

    # When the owner sends the very request Bravo was refused
    answer = probe.send(owner.tenant, owner.ids, if_match)

    # Then it gets its real answer, so Bravo's 404 is the isolation, not a malformed probe
    assert answer.status_code == probe.owner, answer.text


GUESSES = [
    "{made_up}",  # a fresh UUIDv7, as the API gives out
    "{neighbour}",  # Alpha's id with its last digit changed
    "00000000-0000-7000-8000-000000000000",
    "%",  # a LIKE wildcard, in case an id were matched by pattern
    "*",
]


@pytest.mark.parametrize("guess", GUESSES)
@pytest.mark.parametrize("probe", [p for p in ID_PROBES if p.method == "GET"], ids=_probe_name)
def test_guessed_ids_are_not_found(api: Api, world: World, probe: ById, guess: str) -> None:
    # Given ids made up the way someone guessing Alpha's ids would make them
    alpha_ids = world.alpha.ids
    guessed = Ids(
        **{
            item.name: guess.format(
                made_up=api.container.services.ids.new_id(),
                neighbour=_neighbour(getattr(alpha_ids, item.name)),
            )
            for item in fields(Ids)
        }
    )

    # When Bravo reads them
    answer = probe.send(world.bravo.tenant, guessed, None)

    # Then nothing is found
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
    assert leaked(answer, world.alpha) == set()


def _neighbour(record_id: str) -> str:
    last = int(record_id[-1], 16) if record_id[-1] in "0123456789abcdef" else 0
    return record_id[:-1] + format((last + 1) % 16, "x")


# --- Lists -----------------------------------------------------------------------------------------

EMPTY, ONLY_BRAVOS = "empty", "only Bravo's"


@dataclass(frozen=True)
class Listing:
    route: str
    query: dict[str, str] = field(default_factory=dict)
    expect: str = ONLY_BRAVOS
    path: str | None = None  # where the route has a parameter: the path with Alpha's ids filled in


LISTINGS = [
    Listing("/operators"),
    Listing("/api-keys"),
    Listing("/audit-log"),
    Listing("/audit-log", {"entity_id": "{ids.location}"}, EMPTY),
    Listing("/audit-log", {"entity_type": "tariff", "entity_id": "{ids.tariff}"}, EMPTY),
    Listing("/audit-log", {"entity_id": "{ids.api_key}"}, EMPTY),
    Listing("/audit-log", {"entity_type": "customer", "entity_id": "{ids.customer}"}, EMPTY),
    Listing("/audit-log", {"entity_type": "location", "action": "create"}),
    Listing("/locations"),
    Listing("/locations", {"name": "Amsterdam", "country": "NL", "city": "Amsterdam"}),
    Listing("/locations", {"name": "%"}, EMPTY),  # a LIKE wildcard is matched as itself
    Listing("/locations", {"cursor": "{ids.location}"}),
    Listing("/stations"),
    Listing("/stations", {"location_id": "{ids.location}"}, EMPTY),
    Listing("/stations", {"charge_point_id": "{ids.charge_point}"}, EMPTY),
    Listing("/evses"),
    Listing("/evses", {"station_id": "{ids.station}"}, EMPTY),
    Listing("/connectors"),
    Listing("/connectors", {"evse_id": "{ids.evse}"}, EMPTY),
    Listing("/tariffs"),
    Listing("/tariffs", {"ocpi_id": "AC-STANDARD"}, EMPTY),  # Alpha's OCPI id; Bravo's is AC-BRAVO
    Listing("/tariff-assignments"),
    Listing("/sessions"),
    Listing("/sessions", {"location_id": "{ids.location}"}, EMPTY),
    Listing("/sessions", {"station_id": "{ids.station}"}, EMPTY),
    Listing("/sessions", {"evse_id": "{ids.evse}"}, EMPTY),
    Listing("/sessions", {"evse_id": "{ids.evse}", "status": "COMPLETED"}, EMPTY),
    Listing("/customers"),
    Listing("/customers", {"kind": "BUSINESS", "name": "Acme"}),
    Listing("/customers", {"parent_id": "{ids.customer}"}, EMPTY),
    Listing("/customers", {"email": "{ids.email}"}, EMPTY),
    Listing("/tokens"),
    Listing("/tokens", {"customer_id": "{ids.driver}"}, EMPTY),
    Listing("/tokens", {"uid": "{ids.token_uid}"}, EMPTY),
    Listing("/plans"),
    Listing("/plans", {"name": "Basic", "kind": "PAY_PER_USE"}),
    Listing("/contracts"),
    Listing("/contracts", {"customer_id": "{ids.customer}"}, EMPTY),
    Listing("/promotions"),
    Listing("/promotions", {"code": "{ids.promotion_code}"}, EMPTY),
    Listing("/payments"),
    Listing("/invoices"),
    Listing("/invoices", {"contract_id": "{ids.contract}"}, EMPTY),
    Listing("/invoices", {"customer_id": "{ids.customer}"}, EMPTY),
    Listing("/ledger/entries"),
    Listing("/billing-runs"),
    Listing("/payments/cards-on-file"),  # items named by their customer
    Listing("/payments/cards-on-file", {"cursor": "{ids.customer}"}),
    Listing("/payments/mandates"),
    Listing("/payments/mandates", {"customer_id": "{ids.customer}"}, EMPTY),
    Listing(
        "/ledger/accounts/{account}/statement",
        {"currency": "EUR"},
        EMPTY,
        "/ledger/accounts/wallet:{ids.wallet}/statement",
    ),
    Listing(
        "/ledger/accounts/{account}/statement",
        {"currency": "EUR"},
        EMPTY,
        "/ledger/accounts/receivable:{ids.customer}/statement",
    ),
]


def _items(body: Any) -> list[dict[str, Any]]:
    return body if isinstance(body, list) else body["items"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda listing: f"{listing.route} {listing.query}")
def test_lists_show_only_the_callers_records(world: World, listing: Listing) -> None:
    # Given Alpha's world, and Bravo's world of the same kinds of records
    alpha, bravo = world.alpha, world.bravo

    # When Bravo lists, filtered by Alpha's ids where the listing says so
    path = fill(listing.path or listing.route, ids=alpha.ids)
    answer = bravo.tenant.get(path, params=fill(listing.query, ids=alpha.ids))

    # Then it sees only its own records, and none of Alpha's ids, key prefixes, codes or names
    assert answer.status_code == 200, answer.text
    items = _items(answer.json())
    assert leaked(answer, alpha) == set()
    if listing.expect == EMPTY:
        assert items == []
    else:
        assert items != []
        named = {item.get("entity_id", item.get("id", item.get("customer_id"))) for item in items}
        assert named <= bravo.known


def test_the_trial_balance_sums_only_the_callers_own_ledger(world: World) -> None:
    # Given Alpha's and Bravo's worlds, each with a wallet topped up by card
    alpha, bravo = world.alpha, world.bravo

    # When Bravo reads its trial balance
    answer = bravo.tenant.get("/ledger/trial-balance")

    # Then it names Bravo's wallet, and nothing of Alpha's
    assert answer.status_code == 200, answer.text
    assert f"wallet:{bravo.ids.wallet}" in {account["account"] for account in answer.json()["accounts"]}
    assert leaked(answer, alpha) == set()


def test_booked_revenue_sums_only_the_callers_own_ledger(api: Api) -> None:
    # Given two operators, each with an invoice issued to a customer of its own: 10.00 and 2.50 + 21 %
    services = api.container.services
    tenants = {name: api.tenant(name) for name in ("Alpha", "Bravo")}
    customers = {name: tenant.created("/customers", DRIVER)["id"] for name, tenant in tenants.items()}
    for name, net in (("Alpha", "10.00"), ("Bravo", "2.50")):
        issue_invoice(services, platform_actor(tenants[name].operator_id), customers[name], net)

    # When Bravo reads its booked revenue
    answer = tenants["Bravo"].get("/analytics/booked-revenue", params={"group_by": "day"})

    # Then it is Bravo's invoice alone, and names nothing of Alpha's
    assert answer.status_code == 200, answer.text
    (total,) = answer.json()["totals"]
    assert (total["energy_net"], total["vat"], total["gross"]) == ("2.50", "0.53", "3.03")
    assert tenants["Alpha"].operator_id not in answer.text
    assert customers["Alpha"] not in answer.text
    # and its chart draws Bravo's 2.50 alone
    drawn = tenants["Bravo"].get("/analytics/booked-revenue.html", params={"group_by": "day"})
    assert drawn.status_code == 200, drawn.text
    assert set(re.findall(r'"component": "energy", "net": "([^"]*)"', drawn.text)) == {"2.50"}
    assert "10.00" not in drawn.text


def test_health_says_nothing_about_any_operator(api: Api, world: World) -> None:
    # When anyone, with or without a key, asks for health
    answers = [api.anonymous("GET", "/health"), world.bravo.tenant.get("/health")]

    # Then the answers are the same and name no operator's data
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert leaked(answers[1], world.alpha) == set()


# --- Requests that name another operator's records ---------------------------------------------------


@dataclass(frozen=True)
class Reference:
    method: str
    route: str
    path: str  # '{own.station}' is one of Bravo's own records; a query names Alpha's with '{ids.evse}'
    body: Any  # JSON, or a CSV file as a string
    field: str | None  # the field a 422 names; None where the answer is not a refusal
    etag: bool = False  # send If-Match with the current ETag of Bravo's record in the path

    def send(self, owner: Owner, ids: Ids, if_match: str | None) -> Response:
        path, body = fill(self.path, ids=ids, own=owner.ids), fill(self.body, ids=ids, own=owner.ids)
        return send(owner.tenant, self.method, path, body, if_match)


NEW_STATION = {"charge_point_id": "CP-BRAVO-NEW", "vendor": "ABB", "model": "Terra AC", "ocpp_version": "1.6"}
NEW_CONNECTOR = {
    "connector_number": 2, "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
    "max_voltage": 400, "max_amperage": 32,
}  # fmt: skip
TOKENS_CSV = (
    "uid,type,contract_id,customer_email,status,valid_until\nNEW-1,RFID,NL-EVB-N1,{customer},ACTIVE,\n"
)
CUSTOMERS_CSV = (
    "kind,name,email,language,currency,country,address,city,postal_code,vat_id,parent_email\n"
    "INDIVIDUAL,Piet Fleet,piet@bravo.example,nl,EUR,NL,,,,,{parent}\n"
)
STATEMENT_CSV = (
    "entry_id,booked_on,amount,currency,name,reference,remittance\n"
    "{ids.payment},2026-12-01,-5.00,EUR,Bravo,,refund {ids.customer}\n"
)

REFERENCES = [
    Reference("POST", "/stations", "/stations", {"location_id": "{ids.location}", **NEW_STATION},
              "$.location_id"),
    Reference("PATCH", "/stations/{record_id}", "/stations/{own.station}", {"location_id": "{ids.location}"},
              "$.location_id", etag=True),
    Reference("POST", "/evses", "/evses", {"station_id": "{ids.station}", "evse_id": "NL*BRV*E0009*1",
                                           "ocpp_evse_id": 9}, "$.station_id"),
    Reference("POST", "/connectors", "/connectors", {"evse_id": "{ids.evse}", **NEW_CONNECTOR}, "$.evse_id"),
    Reference("POST", "/tariff-assignments", "/tariff-assignments",
              {"tariff_id": "{own.tariff}", "scope": "location", "scope_id": "{ids.location}"}, "$.scope_id"),
    Reference("POST", "/tariff-assignments", "/tariff-assignments",
              {"tariff_id": "{own.tariff}", "scope": "station", "scope_id": "{ids.station}"}, "$.scope_id"),
    Reference("POST", "/tariff-assignments", "/tariff-assignments",
              {"tariff_id": "{own.tariff}", "scope": "evse", "scope_id": "{ids.evse}"}, "$.scope_id"),
    Reference("POST", "/tariff-assignments", "/tariff-assignments",
              {"tariff_id": "{ids.tariff}", "scope": "evse", "scope_id": "{own.evse}"}, "$.tariff_id"),
    Reference("POST", "/tariffs/preview", "/tariffs/preview",
              {"tariff_id": "{ids.tariff}", "session": SAMPLE_SESSION}, "$.tariff_id"),
    Reference("POST", "/customers", "/customers", {**DRIVER, "parent_id": "{ids.customer}"}, "$.parent_id"),
    Reference("PATCH", "/customers/{record_id}", "/customers/{own.driver}", {"parent_id": "{ids.customer}"},
              "$.parent_id", etag=True),
    Reference("POST", "/tokens", "/tokens", {"customer_id": "{ids.driver}", "uid": "NEW-1", "type": "RFID",
                                             "contract_id": "NL-EVB-N1"}, "$.customer_id"),
    Reference("PATCH", "/tokens/{record_id}", "/tokens/{own.token}", {"customer_id": "{ids.driver}"},
              "$.customer_id", etag=True),
    Reference("POST", "/contracts", "/contracts", {**CONTRACT, "customer_id": "{ids.customer}",
              "terms": {**CONTRACT["terms"], "plan_id": "{own.plan}"}}, "$.customer_id"),
    Reference("POST", "/contracts", "/contracts", {**CONTRACT, "customer_id": "{own.customer}",
              "terms": {**CONTRACT["terms"], "plan_id": "{ids.plan}"}}, "$.terms.plan_id"),
    Reference("POST", "/contracts/{contract_id}/terms", "/contracts/{own.contract}/terms",
              {"effective_from": NEXT_YEAR, "plan_id": "{ids.plan}"}, "$.plan_id", etag=True),
    Reference("POST", "/plans", "/plans", {**PLAN, "kind": "MEMBERSHIP",
              "version": {"tariffs": {"AC": "{ids.tariff}"}}}, "$.version.tariffs.AC"),
    Reference("POST", "/plans/{plan_id}/versions", "/plans/{own.plan}/versions",
              {"effective_from": NEXT_YEAR, "tariffs": {"AC": "{ids.tariff}"}}, "$.tariffs.AC", etag=True),
    Reference("POST", "/customers/{customer_id}/promotions", "/customers/{own.customer}/promotions",
              {"promotion_id": "{ids.promotion}"}, "$.promotion_id"),
    Reference("POST", "/customers/{customer_id}/promotions", "/customers/{own.customer}/promotions",
              {"code": "{ids.promotion_code}"}, "$.code"),
    Reference("POST", "/imports/tokens", "/imports/tokens", TOKENS_CSV.replace("{customer}", "{ids.email}"),
              "line 2.customer_email"),
    Reference("POST", "/imports/customers", "/imports/customers",
              CUSTOMERS_CSV.replace("{parent}", "{ids.email}"),
              "line 2.parent_email"),
    # What a charger would be told about Alpha's token, and the price with it or at Alpha's EVSE
    Reference("POST", "/tokens/authorize", "/tokens/authorize", {"uid": "{ids.token_uid}"}, None),
    Reference("GET", "/price", "/price?evse_id={own.evse}&token_uid={ids.token_uid}", None, None),
    Reference("GET", "/price", "/price?evse_id={ids.evse}", None, None),
    Reference("POST", "/payments", "/payments", {**PAYMENT, "customer_id": "{ids.customer}"},
              "$.customer_id"),
    # a session payment names a session of the caller's: Alpha's answers as one that does not exist
    Reference("POST", "/payments", "/payments", {**PAYMENT, "subject": "session:{ids.session}"}, "$.subject"),
    Reference("POST", "/refunds", "/refunds", {"payment_id": "{ids.payment}", "amount": "1.00"},
              "$.payment_id"),
    Reference("POST", "/wallets", "/wallets", {"customer_id": "{ids.customer}", "currency": "EUR"},
              "$.customer_id"),
    Reference("PUT", "/hold-amounts", "/hold-amounts",
              {"location_id": "{ids.location}", "amount": "20.00", "currency": "EUR"}, "$.location_id"),
    Reference("POST", "/payments/mandates", "/payments/mandates",
              {**MANDATE, "customer_id": "{ids.customer}", "reference": "M-PROBE-1"}, "$.customer_id"),
    # a statement line naming Alpha's customer and payment: a debit, so nothing is stored either way
    Reference("POST", "/payments/statements", "/payments/statements", STATEMENT_CSV, None),
]  # fmt: skip


def _reference_name(reference: Reference) -> str:
    scope = reference.body.get("scope", "") if isinstance(reference.body, dict) else ""
    query = reference.path.partition("?")[2]
    target = f"{reference.route} {query}" if query else reference.route
    return " ".join(part for part in (reference.method, target, scope, reference.field or "") if part)


def _reference(param: Any) -> Reference:
    return param.values[0] if hasattr(param, "values") else param  # type: ignore[no-any-return]


@pytest.mark.parametrize("reference", [_reference(r) for r in REFERENCES], ids=_reference_name)
def test_naming_another_operators_record_answers_exactly_like_a_made_up_one(
    api: Api, world: World, reference: Reference
) -> None:
    # Given Alpha's world, and Bravo's
    alpha, bravo = world.alpha, world.bravo
    if_match = _if_match(bravo, fill(reference.path, own=bravo.ids)) if reference.etag else None
    made_up = made_up_ids(api)

    # When Bravo names one of Alpha's records, and then one that exists nowhere
    with_alphas = reference.send(bravo, alpha.ids, if_match)
    with_made_up = reference.send(bravo, made_up, if_match)

    # Then the answers are the same, ids aside, and nothing is created or changed on either side
    assert with_alphas.status_code == with_made_up.status_code
    assert masked(with_alphas, alpha.ids) == masked(with_made_up, made_up)
    assert leaked(with_alphas, alpha) <= {getattr(alpha.ids, item.name) for item in fields(Ids)}
    assert_untouched(alpha, bravo)
    assert view(bravo) == bravo.seen


@pytest.mark.parametrize(
    "reference", [r for r in REFERENCES if _reference(r).field is not None], ids=_reference_name
)
def test_a_body_naming_a_record_the_caller_cannot_see_is_invalid_at_that_field(
    world: World, reference: Reference
) -> None:
    # Given Alpha's world, and Bravo's
    alpha, bravo = world.alpha, world.bravo
    if_match = _if_match(bravo, fill(reference.path, own=bravo.ids)) if reference.etag else None

    # When Bravo's request names one of Alpha's records in its body
    answer = reference.send(bravo, alpha.ids, if_match)

    # Then it is 422 invalid_input naming exactly that field
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    problem = answer.json()
    assert problem["code"] == "invalid_input"
    assert [error["path"] for error in problem["errors"]] == [reference.field]


@dataclass(frozen=True)
class OwnRecord:
    route: str
    body: Any  # '{ids.token_uid}' is Alpha's uid, '{own.customer}' Bravo's customer
    status: int = 201
    readable: bool = True  # read back by id (API keys are only listed)


# Creating records that name nothing of Alpha's: they land with Bravo, and Alpha's records with the
# same natural keys (OCPI tariff id, token uid, coupon code, e-mail) neither stop them nor are touched.
OWN_RECORDS = [
    OwnRecord("/locations", AMSTERDAM),
    OwnRecord("/api-keys", {"name": "Bravo support", "role": "support"}, readable=False),
    OwnRecord("/tariffs", SIMPLE_TARIFF),  # Alpha has a tariff AC-STANDARD; Bravo has not
    OwnRecord("/tariffs/validate", SIMPLE_TARIFF, 200),
    OwnRecord("/customers", {**BUSINESS, "email": "{ids.email}"}),
    OwnRecord(
        "/tokens",
        {"customer_id": "{own.driver}", "uid": "{ids.token_uid}", "type": "RFID", "contract_id": "NL-EVB-B2"},
    ),  # fmt: skip
    OwnRecord("/plans", {**PLAN, "name": "Plus"}),
    OwnRecord(
        "/contracts",
        {
            **CONTRACT,
            "activate": False,  # the customer has an ACTIVE contract already: a second may not overlap it
            "customer_id": "{own.customer}",
            "terms": {**CONTRACT["terms"], "plan_id": "{own.plan}"},
        },
    ),  # fmt: skip
    OwnRecord("/promotions", {**COUPON, "code": "{ids.promotion_code}"}),
    OwnRecord("/imports/customers", CUSTOMERS_CSV.replace("{parent}", "{own.email}"), 200),
    OwnRecord("/imports/tokens", TOKENS_CSV.replace("{customer}", "{own.email}"), 200),
    OwnRecord("/billing-runs", {"period": "2026-02"}, 202),
]


@pytest.mark.parametrize("own", OWN_RECORDS, ids=lambda own: f"POST {own.route}")
def test_records_created_by_one_operator_stay_its_own(api: Api, own: OwnRecord) -> None:
    # Given Alpha's world, and Bravo's (their own: Bravo's grows)
    world = build_world(api)
    alpha, bravo = world.alpha, world.bravo

    # When Bravo creates a record that names nothing of Alpha's
    created = send(bravo.tenant, "POST", own.route, fill(own.body, ids=alpha.ids, own=bravo.ids))

    # Then it is created, Alpha cannot see it, and Alpha's data is as it was
    assert created.status_code == own.status, created.text
    assert leaked(created, alpha) <= {alpha.ids.token_uid, alpha.ids.promotion_code, alpha.ids.email}
    if own.readable and own.status == 201:
        assert alpha.tenant.get(f"{own.route}/{created.json()['id']}").status_code == 404
    assert_untouched(alpha, bravo)


def test_a_charge_point_id_is_unique_across_operators_and_the_refusal_names_nothing_else(
    world: World,
) -> None:
    # Given Alpha's station; its charge_point_id is the OCPP websocket path, unique on the platform
    alpha, bravo = world.alpha, world.bravo

    # When Bravo registers a station under the same charge_point_id
    body = {**NEW_STATION, "location_id": bravo.ids.location, "charge_point_id": alpha.ids.charge_point}
    answer = bravo.tenant.post("/stations", json=body)

    # Then it is refused: the only thing Bravo learns is that the identity is taken (OCPP needs it
    # unique), never whose it is or which records stand behind it
    assert answer.status_code == 409
    assert answer.json() == {
        "type": "https://evbill.dev/problems/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": f"charge_point_id {alpha.ids.charge_point!r} is not available: "
        "it must be unique across the platform; choose another",
        "code": "conflict",
    }
    assert leaked(answer, alpha) == {alpha.ids.charge_point}
    assert_untouched(alpha, bravo)


def test_the_audit_log_does_not_count_other_operators_changes(api: Api) -> None:
    # Given Bravo's last audit entry
    alpha, bravo = api.tenant("Alpha"), api.tenant("Bravo")
    first = bravo.created("/api-keys", {"name": "Before", "role": "read_only"})

    # When Alpha makes three changes, and then Bravo one more
    for name in ("One", "Two", "Three"):
        alpha.created("/api-keys", {"name": name, "role": "read_only"})
    second = bravo.created("/api-keys", {"name": "After", "role": "read_only"})

    # Then Bravo's entries carry random ids: nothing in them counts how busy Alpha was
    entries = {entry["entity_id"]: entry["id"] for entry in bravo.get("/audit-log?limit=200").json()["items"]}
    ids = [entries[first["id"]], entries[second["id"]]]
    assert [uuid.UUID(entry_id).version for entry_id in ids] == [4, 4]
    assert len(set(ids)) == 2


# --- Analytics: reports and backtests read only the caller's sessions ------------------------------

ANALYTICS = [
    ("GET", "/analytics/report"),
    ("GET", "/analytics/report.csv"),
    ("GET", "/analytics/heatmap"),
    ("GET", "/analytics/heatmap.{output}"),
    ("GET", "/analytics/revenue.{output}"),
    ("GET", "/analytics/margin"),
    ("GET", "/analytics/report.parquet"),
    ("GET", "/analytics/booked-revenue"),
    ("GET", "/analytics/booked-revenue.{output}"),
    ("POST", "/backtests"),
    ("GET", "/reports/utilisation"),
    ("GET", "/reports/utilisation.csv"),
    ("GET", "/reports/faults"),
    ("GET", "/reports/occupancy"),
    ("GET", "/reports/occupancy.{output}"),
]


@pytest.mark.parametrize("group_by", ["location", "station", "evse", "tariff", "customer", "plan"])
def test_analytics_count_only_the_callers_sessions(world: World, group_by: str) -> None:
    alpha, bravo = world.alpha, world.bravo
    # When Bravo asks for reports, plain and filtered by Alpha's location
    plain = bravo.tenant.get("/analytics/report", params={"group_by": group_by})
    aimed = bravo.tenant.get("/analytics/report.csv", params={"location_id": alpha.ids.location})
    heat = bravo.tenant.get("/analytics/heatmap", params={"evse_id": alpha.ids.evse})
    test = bravo.tenant.post("/backtests", json={"tariff": SIMPLE_TARIFF, "location_id": alpha.ids.location})
    # Then it sees its own finished session only (the live one is not reported), and nothing of Alpha's
    assert [answer.status_code for answer in (plain, aimed, heat, test)] == [200, 200, 200, 200]
    assert [total["sessions"] for total in plain.json()["totals"]] == ["1"]
    assert aimed.text.splitlines()[1:] == []
    assert sum(map(sum, heat.json()["starts"])) == 0
    assert (test.json()["sessions"], test.json()["left_out"]) == (0, {})
    assert set().union(*(leaked(answer, alpha) for answer in (plain, aimed, heat, test))) == set()


def test_analytics_charts_draw_only_the_callers_sessions(world: World) -> None:
    alpha, bravo = world.alpha, world.bravo
    # When Bravo asks for charts aimed at Alpha's EVSE and location
    heat = bravo.tenant.get("/analytics/heatmap.html", params={"evse_id": alpha.ids.evse})
    money = bravo.tenant.get("/analytics/revenue.html", params={"location_id": alpha.ids.location})
    # Then they draw nothing: no occupied hour, no session start, no revenue bar, no id of Alpha's
    assert [answer.status_code for answer in (heat, money)] == [200, 200]
    assert set(re.findall(r'"occupied": "([^"]*)"', heat.text)) == {"0.00"}
    assert set(re.findall(r'"starts": (\d+)', heat.text)) == {"0"}
    assert re.findall(r'"period": "', money.text) == []
    parquet = bravo.tenant.get("/analytics/report.parquet", params={"location_id": alpha.ids.location})
    rows = pq.read_table(io.BytesIO(parquet.content)).num_rows
    assert (parquet.status_code, rows) == (200, 0)  # no row, not even a total
    margin = bravo.tenant.get("/analytics/margin", params={"location_id": alpha.ids.location})
    assert (margin.status_code, margin.json()["sessions"], margin.json()["left_out"]) == (200, [], {})
    assert set().union(*(leaked(answer, alpha) for answer in (heat, money, margin, parquet))) == set()


# --- Every route is probed ---------------------------------------------------------------------------


PUBLIC = [("GET", "/health")]
SUMMARIES = [("GET", "/ledger/trial-balance")]  # one answer about all the caller's records
# the operator's one invoicing profile (tests/e2e/api/test_invoices_api.py: another operator's is untouched)
SUMMARIES += [("GET", "/invoicing-profile"), ("PUT", "/invoicing-profile")]
# and its one collection policy (tests/e2e/api/test_collection_setup_api.py: each operator's own)
SUMMARIES += [("GET", "/payments/collection-policy"), ("PUT", "/payments/collection-policy")]


def _probed_routes() -> Iterator[tuple[str, str]]:
    yield from PUBLIC
    yield from SUMMARIES
    yield from ((probe.method, probe.route) for probe in ID_PROBES)
    yield from (("GET", listing.route) for listing in LISTINGS)
    yield from ((_reference(param).method, _reference(param).route) for param in REFERENCES)
    yield from (("POST", own.route) for own in OWN_RECORDS)
    yield from ANALYTICS


def test_every_api_route_has_an_isolation_probe(api: Api) -> None:
    # Given every route the app serves under /api/v1
    served = {
        (method, context.path.removeprefix(PREFIX))
        for context in iter_route_contexts(api.client.app.routes)
        if context.path is not None and context.path.startswith(PREFIX + "/")
        for method in context.methods or ()
        if method != "HEAD"
    }

    # Then the tables above probe each of them, and nothing that is not served
    assert served == set(_probed_routes())
