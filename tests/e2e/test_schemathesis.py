"""Property-based tests of the whole REST API, generated from its own /openapi.json (schemathesis).

Every operation the app documents gets generated requests: ones that fit the schema (positive), ones
that break it (negative), and positive ones aimed at records that exist — the seeded operator's
site, tariff, customer, token, plan, contract, promotion, sessions and second API key fill the ids
in the path and in id-filters of the query, so the code behind "found" runs too. Every request
carries a real admin key; the database is a real, migrated SQLite file. Whatever comes in, the API
must never answer with a server error (5xx).

Bounded for CI: 40 examples per operation, derandomized (the same examples on every run, so a
failure reproduces), no deadline; the file runs in about a minute on two cores. An operation with a
known server error is marked with the bug until it is fixed; each such error is also pinned as a
plain example, on both databases, in tests/e2e/api/test_access.py
(``test_a_malformed_request_is_no_server_error``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from tests.e2e.api.conftest import PREFIX, SIMPLE_TARIFF, Api, Tenant, build_api, make_site

FUZZING = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
BUSINESS = {"kind": "BUSINESS", "name": "Acme", "email": "fleet@acme.example", "language": "nl",
            "currency": "EUR", "country": "NL"}  # fmt: skip


@dataclass(frozen=True)
class Seeded:
    api: Api
    tenant: Tenant
    ids: dict[str, list[str]]  # ids of records that exist, by the collection path they follow
    query: dict[str, str]  # values of records that exist, by the query parameter they fill


def _insert_sessions(api: Api, tenant: Tenant, site: dict[str, dict[str, Any]]) -> list[str]:
    """A completed and a live session (sessions are recorded by OCPP, not the REST API)."""
    completed = ChargingSession(
        id=api.container.services.ids.new_id(), operator_id=tenant.operator_id,
        location_id=site["location"]["id"], station_id=site["station"]["id"], evse_id=site["evse"]["id"],
        status=SessionStatus.COMPLETED, started_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        ended_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC), energy_wh=Decimal("22000"), currency="EUR",
        tariff_version_id=None, total_excl_vat=Decimal("8.93"), total_incl_vat=Decimal("10.8053"),
        total_excl_vat_minor=893, total_incl_vat_minor=1081,
        created_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    )  # fmt: skip
    live = ChargingSession(
        **{
            **{name: getattr(completed, name) for name in ChargingSession.__dataclass_fields__},
            "id": api.container.services.ids.new_id(), "status": SessionStatus.ACTIVE, "ended_at": None,
            "total_excl_vat": None, "total_incl_vat": None, "total_excl_vat_minor": None,
            "total_incl_vat_minor": None,
        }
    )  # fmt: skip
    with api.container.services.uow() as uow:
        uow.sessions.add(completed)
        uow.sessions.add(live)
        uow.commit()
    return [completed.id, live.id]


def _seed(api: Api) -> Seeded:
    """An operator with one of everything, so generated requests can name records that exist."""
    tenant = api.tenant("Fuzzed")
    site = make_site(tenant)
    tariff = tenant.created("/tariffs", SIMPLE_TARIFF)
    evse = site["evse"]["id"]
    assignment = tenant.created(
        "/tariff-assignments", {"tariff_id": tariff["id"], "scope": "evse", "scope_id": evse}
    )
    key = tenant.created("/api-keys", {"name": "Fuzzed", "role": "read_only"})
    customer = tenant.created("/customers", BUSINESS)
    token = tenant.created("/tokens", {"customer_id": customer["id"], "uid": "FUZZ-1", "type": "RFID",
                                       "contract_id": "NL-EVB-FUZZ1"})  # fmt: skip
    plan = tenant.created(
        "/plans",
        {"name": "Basic", "kind": "PAY_PER_USE", "currency": "EUR",
         "version": {"effective_from": "2026-01-01T00:00:00Z"}},
    )  # fmt: skip
    terms = {"plan_id": plan["id"], "payment_method": "CARD_ON_FILE"}
    contract = tenant.created(
        "/contracts",
        {"customer_id": customer["id"], "start": "2026-01-01T00:00:00Z", "activate": True, "terms": terms},
    )
    promotion = tenant.created("/promotions", {"name": "Welcome", "kind": "COUPON", "code": "WELCOME10",
                                               "discount_kind": "PERCENT", "value": "10"})  # fmt: skip
    sessions = _insert_sessions(api, tenant, site)
    payment = tenant.post(
        "/payments",
        json={
            "subject": f"session:{sessions[0]}",
            "amount": "10.00",
            "currency": "EUR",
            "payment_method": "tok_visa",
        },
        headers={"Idempotency-Key": "fuzz-1"},
    ).json()
    wallet = tenant.created("/wallets", {"customer_id": customer["id"], "currency": "EUR"})
    ids = {
        "/payments/": [payment["id"]], "/wallets/": [wallet["id"]],
        "/ledger/accounts/": ["gateway_clearing:sandbox"],
        "/operators/": [tenant.operator_id], "/api-keys/": [key["id"]],
        "/locations/": [site["location"]["id"]], "/stations/": [site["station"]["id"]], "/evses/": [evse],
        "/connectors/": [site["connector"]["id"]], "/tariffs/": [tariff["id"]],
        "/tariff-assignments/": [assignment["id"]], "/customers/": [customer["id"]],
        "/tokens/": [token["id"]], "/plans/": [plan["id"]], "/contracts/": [contract["id"]],
        "/promotions/": [promotion["id"]], "/sessions/": sessions,
    }  # fmt: skip
    query = {
        "location_id": site["location"]["id"], "station_id": site["station"]["id"], "evse_id": evse,
        "customer_id": customer["id"], "token_uid": token["uid"], "entity_id": site["location"]["id"],
        "cycle_start": "2026-03-01", "currency": "EUR",
    }  # fmt: skip
    return Seeded(api, tenant, ids, query)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    from evbill.adapters.db.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'evbill.sqlite3'}"
    upgrade(url)
    for api in build_api(url):
        yield _seed(api)


@pytest.fixture(scope="module")
def schema(seeded: Seeded) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", seeded.api.client.app)


def existing_records(seeded: Seeded, operation: schemathesis.APIOperation) -> list[dict[str, dict[str, str]]]:
    """Path and query values naming seeded records, one choice per record the path's first id can be."""
    parameters = [parameter.name for parameter in operation.path_parameters]
    query = {parameter.name: seeded.query[parameter.name] for parameter in operation.query
             if parameter.name in seeded.query}  # fmt: skip
    path = operation.path.removeprefix(PREFIX)
    choices = [
        record_ids for prefix, record_ids in seeded.ids.items() if parameters and path.startswith(prefix)
    ]
    if not choices:
        return [{"path": {}, "query": query}] if query else []
    return [{"path": {parameters[0]: record_id}, "query": query} for record_id in choices[0]]


def requests_for(operation: schemathesis.APIOperation, seeded: Seeded) -> st.SearchStrategy[Any]:
    """Valid and invalid requests, and valid ones naming records that exist (with If-Match "1")."""
    headers = {"Authorization": f"Bearer {seeded.tenant.key}"}
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE, headers=headers),
        operation.as_strategy(GenerationMode.NEGATIVE, headers=headers),
    ]
    for existing in existing_records(seeded, operation):
        strategies.append(
            operation.as_strategy(
                GenerationMode.POSITIVE,
                headers={**headers, "If-Match": '"1"'},
                path_parameters=existing["path"],
                query=existing["query"],
            )
        )
    return st.one_of(strategies)


# Every operation of /openapi.json, with the server errors found so far; the last test checks this
# list against the schema, so a new endpoint cannot go untested.
OPERATIONS = [
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/invoices"),
    ("GET", "/api/v1/invoices/{invoice_id}"),
    ("GET", "/api/v1/invoices/{invoice_id}/pdf"),
    ("GET", "/api/v1/invoices/{invoice_id}/ubl"),
    ("GET", "/api/v1/invoices/{invoice_id}/cii"),
    ("POST", "/api/v1/invoices/{invoice_id}/credit-notes"),
    ("POST", "/api/v1/invoices/{invoice_id}/void"),
    ("POST", "/api/v1/invoices/{invoice_id}/send"),
    ("POST", "/api/v1/sessions/{session_id}/receipt"),
    ("GET", "/api/v1/contracts/{contract_id}/invoice-preview"),
    ("GET", "/api/v1/invoicing-profile"),
    ("PUT", "/api/v1/invoicing-profile"),
    ("GET", "/api/v1/analytics/report"),
    ("GET", "/api/v1/analytics/report.csv"),
    ("GET", "/api/v1/analytics/heatmap"),
    ("GET", "/api/v1/analytics/heatmap.{output}"),
    ("GET", "/api/v1/analytics/revenue.{output}"),
    ("PUT", "/api/v1/analytics/energy-purchases/{location_id}"),
    ("PUT", "/api/v1/analytics/energy-prices/{location_id}"),
    ("GET", "/api/v1/analytics/margin"),
    ("GET", "/api/v1/analytics/report.parquet"),
    ("GET", "/api/v1/analytics/booked-revenue"),
    ("GET", "/api/v1/analytics/booked-revenue.{output}"),
    ("POST", "/api/v1/backtests"),
    ("GET", "/api/v1/reports/utilisation"),
    ("GET", "/api/v1/reports/utilisation.csv"),
    ("GET", "/api/v1/reports/faults"),
    ("GET", "/api/v1/reports/occupancy"),
    ("GET", "/api/v1/reports/occupancy.{output}"),
    ("GET", "/api/v1/operators"),
    ("GET", "/api/v1/operators/{operator_id}"),
    ("PATCH", "/api/v1/operators/{operator_id}"),
    ("GET", "/api/v1/api-keys"),
    ("POST", "/api/v1/api-keys"),
    ("DELETE", "/api/v1/api-keys/{key_id}"),
    ("GET", "/api/v1/audit-log"),
    ("POST", "/api/v1/locations"),
    ("GET", "/api/v1/locations"),
    ("GET", "/api/v1/locations/{record_id}"),
    ("PATCH", "/api/v1/locations/{record_id}"),
    ("DELETE", "/api/v1/locations/{record_id}"),
    ("POST", "/api/v1/stations"),
    ("GET", "/api/v1/stations"),
    ("GET", "/api/v1/stations/{record_id}"),
    ("PATCH", "/api/v1/stations/{record_id}"),
    ("DELETE", "/api/v1/stations/{record_id}"),
    ("POST", "/api/v1/evses"),
    ("GET", "/api/v1/evses"),
    ("GET", "/api/v1/evses/{record_id}"),
    ("PATCH", "/api/v1/evses/{record_id}"),
    ("DELETE", "/api/v1/evses/{record_id}"),
    ("POST", "/api/v1/connectors"),
    ("GET", "/api/v1/connectors"),
    ("GET", "/api/v1/connectors/{record_id}"),
    ("PATCH", "/api/v1/connectors/{record_id}"),
    ("DELETE", "/api/v1/connectors/{record_id}"),
    ("POST", "/api/v1/tariffs"),
    ("GET", "/api/v1/tariffs"),
    ("GET", "/api/v1/tariffs/{tariff_id}"),
    ("PUT", "/api/v1/tariffs/{tariff_id}"),
    ("GET", "/api/v1/tariffs/{tariff_id}/versions"),
    ("GET", "/api/v1/tariffs/{tariff_id}/versions/{number}"),
    ("POST", "/api/v1/tariffs/validate"),
    ("POST", "/api/v1/tariffs/preview"),
    ("GET", "/api/v1/tariff-assignments"),
    ("POST", "/api/v1/tariff-assignments"),
    ("GET", "/api/v1/tariff-assignments/{assignment_id}"),
    ("DELETE", "/api/v1/tariff-assignments/{assignment_id}"),
    ("GET", "/api/v1/evses/{evse_id}/tariff"),
    ("GET", "/api/v1/sessions"),
    ("GET", "/api/v1/sessions/{session_id}"),
    ("GET", "/api/v1/sessions/{session_id}/cdr"),
    ("GET", "/api/v1/sessions/{session_id}/evidence"),
    ("GET", "/api/v1/sessions/{session_id}/review"),
    ("POST", "/api/v1/sessions/{session_id}/close"),
    ("POST", "/api/v1/sessions/{session_id}/rerate"),
    ("POST", "/api/v1/sessions/{session_id}/energy-correction"),
    ("POST", "/api/v1/sessions/{session_id}/void"),
    ("POST", "/api/v1/customers"),
    ("GET", "/api/v1/customers"),
    ("GET", "/api/v1/customers/{record_id}"),
    ("PATCH", "/api/v1/customers/{record_id}"),
    ("DELETE", "/api/v1/customers/{record_id}"),
    ("POST", "/api/v1/tokens/authorize"),
    ("GET", "/api/v1/price"),
    ("POST", "/api/v1/imports/customers"),
    ("POST", "/api/v1/imports/tokens"),
    ("POST", "/api/v1/tokens"),
    ("GET", "/api/v1/tokens"),
    ("GET", "/api/v1/tokens/{record_id}"),
    ("PATCH", "/api/v1/tokens/{record_id}"),
    ("DELETE", "/api/v1/tokens/{record_id}"),
    ("POST", "/api/v1/plans"),
    ("GET", "/api/v1/plans"),
    ("GET", "/api/v1/plans/{plan_id}"),
    ("POST", "/api/v1/plans/{plan_id}/versions"),
    ("POST", "/api/v1/contracts"),
    ("GET", "/api/v1/contracts"),
    ("GET", "/api/v1/contracts/{contract_id}"),
    ("POST", "/api/v1/contracts/{contract_id}/terms"),
    ("POST", "/api/v1/contracts/{contract_id}/status"),
    ("GET", "/api/v1/contracts/{contract_id}/bill"),
    ("POST", "/api/v1/contracts/{contract_id}/bill"),
    ("POST", "/api/v1/promotions"),
    ("GET", "/api/v1/promotions"),
    ("GET", "/api/v1/promotions/{promotion_id}"),
    ("POST", "/api/v1/customers/{customer_id}/promotions"),
    ("GET", "/api/v1/ledger/trial-balance"),
    ("GET", "/api/v1/ledger/accounts/{account}/statement"),
    ("GET", "/api/v1/ledger/entries"),
    ("POST", "/api/v1/billing-runs"),
    ("GET", "/api/v1/billing-runs"),
    ("GET", "/api/v1/billing-runs/{run_id}"),
    ("POST", "/api/v1/payments"),
    ("POST", "/api/v1/payments/statements"),
    ("GET", "/api/v1/payments"),
    ("GET", "/api/v1/payments/{payment_id}"),
    ("POST", "/api/v1/payments/{payment_id}/capture"),
    ("POST", "/api/v1/payments/{payment_id}/confirm"),
    ("POST", "/api/v1/payments/{payment_id}/release"),
    ("POST", "/api/v1/refunds"),
    ("POST", "/api/v1/wallets"),
    ("GET", "/api/v1/wallets/{wallet_id}"),
    ("POST", "/api/v1/wallets/{wallet_id}/top-ups"),
    ("POST", "/api/v1/wallets/{wallet_id}/payments"),
    ("POST", "/api/v1/wallets/{wallet_id}/refunds"),
    ("POST", "/api/v1/wallets/{wallet_id}/authorisations"),
    ("PUT", "/api/v1/wallets/{wallet_id}/reload"),
    ("GET", "/api/v1/evses/{evse_id}/payment-qr.{output}"),
    ("PUT", "/api/v1/hold-amounts"),
    ("PUT", "/api/v1/customers/{customer_id}/card-on-file"),
    ("GET", "/api/v1/customers/{customer_id}/card-on-file"),
    ("PATCH", "/api/v1/customers/{customer_id}/card-on-file"),
    ("DELETE", "/api/v1/customers/{customer_id}/card-on-file"),
    ("GET", "/api/v1/payments/cards-on-file"),
    ("POST", "/api/v1/customers/{customer_id}/card-setup"),
    ("POST", "/api/v1/customers/{customer_id}/card-setup/{setup_id}/confirm"),
    ("POST", "/api/v1/payments/mandates"),
    ("GET", "/api/v1/payments/mandates"),
    ("GET", "/api/v1/payments/mandates/{mandate_id}"),
    ("POST", "/api/v1/payments/mandates/{mandate_id}/revoke"),
    ("GET", "/api/v1/payments/collection-policy"),
    ("PUT", "/api/v1/payments/collection-policy"),
    ("GET", "/pay/{evse}"),
    ("POST", "/pay/{evse}/start"),
    ("GET", "/pay/{evse}/starts/{start_id}"),
    ("GET", "/pay/{evse}/starts/{start_id}/receipt"),
    ("POST", "/pay/{evse}/starts/{start_id}/confirm"),
    ("POST", "/webhooks/stripe"),
]


def _operation(param: Any) -> tuple[str, str]:
    return tuple(param.values) if hasattr(param, "values") else param  # type: ignore[no-any-return]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=lambda value: str(value))
def test_no_generated_request_gets_a_server_error(
    schema: schemathesis.BaseSchema, seeded: Seeded, method: str, path: str
) -> None:
    # Given the operation as /openapi.json documents it, and a seeded operator's admin key
    operation = schema[path][method]

    # When requests generated from its schema are sent, valid and invalid, on made-up and real ids
    @FUZZING
    @given(case=requests_for(operation, seeded))
    def answers_without_a_server_error(case: schemathesis.Case) -> None:
        # Then none is answered with a 5xx
        case.call_and_validate(checks=[not_a_server_error])

    answers_without_a_server_error()


def test_every_documented_operation_is_fuzzed(schema: schemathesis.BaseSchema) -> None:
    # Given the operations /openapi.json documents
    documented = {
        (method.upper(), path)
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in {"get", "put", "post", "patch", "delete"}
    }

    # Then each is in the list above
    assert documented == {_operation(param) for param in OPERATIONS}
