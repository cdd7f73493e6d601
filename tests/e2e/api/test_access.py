"""Access to the API: who may call it, what each role may do, what is recorded, and the limits.

* Every key problem (none, malformed, unknown, wrong secret, revoked) is the same 401, so a caller
  cannot tell which keys exist.
* Roles: admin does everything; billing manages tariffs, plans and customers, bills, and reads the
  audit log; support reads and looks after customers; read_only reads. A refused change is 403
  ``forbidden`` and changes nothing.
* A new key is shown once; the audit log records every change once, with who, what, before and after,
  and never a secret.
* Limits: requests per minute per key (429 + Retry-After), body size (413), and optimistic
  concurrency on changes (If-Match: 428 without, 412 when stale).
* Malformed requests (not JSON, unknown fields, wrong content type, absurd values) are 4xx problems,
  never a server error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from httpx import Response

from evbill.application.access.keys import revoke_api_key
from evbill.domain.access.operators import Actor, Role
from evbill.entrypoints.api.security import KeyCache
from tests.e2e.api.conftest import AMSTERDAM, PREFIX, SIMPLE_TARIFF, Api, Tenant, build_api, make_site

PROBLEM_JSON = "application/problem+json"
UNAUTHENTICATED = {
    "type": "https://evbill.dev/problems/unauthenticated",
    "title": "Not authenticated",
    "status": 401,
    "detail": "missing, unknown or revoked API key",
    "code": "unauthenticated",
}
STATION_PASSWORD = "correct-horse-battery-staple"
SAMPLE_SESSION = {
    "start": "2026-03-02T09:00:00+01:00",
    "time_zone": "Europe/Amsterdam",
    "charging_minutes": 60,
    "energy_kwh": "10",
}
JAN = {"kind": "INDIVIDUAL", "name": "Jan Jansen", "language": "nl", "currency": "EUR", "country": "NL"}
PLAN = {"name": "Basic", "kind": "PAY_PER_USE", "currency": "EUR",
        "version": {"effective_from": "2026-01-01T00:00:00Z"}}  # fmt: skip


def etag_of(tenant: Tenant, path: str) -> str:
    response = tenant.get(path)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def audit_entries(tenant: Tenant, **filters: str) -> list[dict[str, Any]]:
    response = tenant.get("/audit-log", params={"limit": "200", **filters})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"]  # type: ignore[no-any-return]


def key_id_of(tenant: Tenant) -> str:
    """The id of the key the tenant calls with (its prefix is the part after 'evb_')."""
    prefix = tenant.key.split("_")[1]
    return next(key["id"] for key in tenant.get("/api-keys").json()["items"] if key["prefix"] == prefix)


def actor_of(tenant: Tenant, *, name: str = "tests", role: Role = Role.ADMIN) -> str:
    return f"{name} ({role.value}, key {key_id_of(tenant)})"


def problem_of(response: Response) -> dict[str, Any]:
    assert response.headers["content-type"] == PROBLEM_JSON
    return response.json()  # type: ignore[no-any-return]


# --- Authentication ----------------------------------------------------------------------------------


@pytest.fixture
def revoked_key(api: Api) -> tuple[Tenant, str]:
    tenant = api.tenant()
    created = tenant.created("/api-keys", {"name": "Old integration", "role": "read_only"})
    assert tenant.delete(f"/api-keys/{created['id']}").status_code == 204
    return tenant, created["key"]


BAD_CREDENTIALS = {
    "no key": {},
    "empty bearer": {"Authorization": "Bearer "},
    "basic auth": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "not an evbill key": {"Authorization": "Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
    "malformed evbill key": {"Authorization": "Bearer evb_"},
    "unknown prefix": {"Authorization": "Bearer evb_000000000000_{secret}"},
    "wrong secret": {"Authorization": "Bearer evb_{prefix}_{secret}x"},
    "revoked key": {"Authorization": "Bearer {revoked}"},
    "unknown X-API-Key": {"X-API-Key": "evb_000000000000_{secret}"},
    "revoked X-API-Key": {"X-API-Key": "{revoked}"},
}


@pytest.mark.parametrize("credentials", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
def test_every_kind_of_bad_key_gets_the_same_401(
    api: Api, revoked_key: tuple[Tenant, str], credentials: dict[str, str]
) -> None:
    # Given a live key and a revoked one of the same operator
    tenant, revoked = revoked_key
    _, prefix, secret = tenant.key.split("_", 2)
    headers = {
        name: value.format(prefix=prefix, secret=secret, revoked=revoked)
        for name, value in credentials.items()
    }

    # When a request comes with the bad credentials
    answer = api.anonymous("GET", "/locations", headers=headers)

    # Then it is refused with the one answer that says nothing about which part was wrong
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="evbill"'
    assert problem_of(answer) == UNAUTHENTICATED


def test_the_key_may_also_come_in_x_api_key(api: Api) -> None:
    # Given an operator with a location
    tenant = api.tenant()
    location = tenant.created("/locations", AMSTERDAM)

    # When it lists locations with its key in X-API-Key instead of Authorization
    answer = api.anonymous("GET", "/locations", headers={"X-API-Key": tenant.key})

    # Then it is served
    assert answer.status_code == 200
    assert [item["id"] for item in answer.json()["items"]] == [location["id"]]


def test_no_api_key_gets_the_role_of_a_charging_station(api: Api) -> None:
    # Given an operator's admin
    admin = api.tenant()

    # When it asks for a key with the role charging stations act under over OCPP
    answer = admin.post("/api-keys", json={"name": "Fake charger", "role": "station"})

    # Then it is refused at the role, and no key is made
    assert answer.status_code == 422
    assert [error["path"] for error in problem_of(answer)["errors"]] == ["$.role"]
    assert [key["name"] for key in admin.get("/api-keys").json()["items"]] == ["tests"]


# --- Roles -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    name: str
    method: str
    path: str  # '{location}' etc. are the scene's records
    body: Any = None
    etag: bool = False  # send If-Match with the record's current ETag

    def send(self, tenant: Tenant, scene: dict[str, str], if_match: str | None) -> Response:
        headers = {} if if_match is None else {"If-Match": if_match}
        return tenant.request(
            self.method, self.path.format(**scene), json=_filled(self.body, scene), headers=headers
        )


def _filled(body: Any, scene: dict[str, str]) -> Any:
    if isinstance(body, dict):
        return {key: _filled(value, scene) for key, value in body.items()}
    return body.format(**scene) if isinstance(body, str) and body.startswith("{") else body


ROLES = (Role.ADMIN, Role.BILLING, Role.SUPPORT, Role.READ_ONLY)


def everyone(status: int) -> tuple[int, ...]:
    return (status, status, status, status)


def billing_too(status: int) -> tuple[int, ...]:
    """Admin and billing, who manage tariffs (and billing reads the audit log)."""
    return (status, status, 403, 403)


def admin_only(status: int) -> tuple[int, ...]:
    return (status, 403, 403, 403)


def all_but_read_only(status: int) -> tuple[int, ...]:
    """Admin, billing and support, who look after customers."""
    return (status, status, status, 403)


PREVIEW = {"tariff_id": "{tariff}", "session": SAMPLE_SESSION}
# What each role gets for each action, in the order of ROLES.
PERMISSIONS = [
    (Action("read a location", "GET", "/locations/{location}"), everyone(200)),
    (Action("list sessions", "GET", "/sessions"), everyone(200)),
    (Action("read a tariff", "GET", "/tariffs/{tariff}"), everyone(200)),
    (Action("read the operator", "GET", "/operators/{operator}"), everyone(200)),
    (Action("validate a tariff", "POST", "/tariffs/validate", SIMPLE_TARIFF), everyone(200)),
    (Action("preview a price", "POST", "/tariffs/preview", PREVIEW), everyone(200)),
    (Action("create a location", "POST", "/locations", AMSTERDAM), admin_only(201)),
    (Action("change a location", "PATCH", "/locations/{location}", {"name": "P2"}, etag=True),
     admin_only(200)),
    (Action("delete a connector", "DELETE", "/connectors/{connector}", etag=True), admin_only(204)),
    (Action("create a tariff", "POST", "/tariffs", {**SIMPLE_TARIFF, "id": "AC-NIGHT"}), billing_too(201)),
    (Action("publish a new version", "PUT", "/tariffs/{tariff}", SIMPLE_TARIFF, etag=True), billing_too(200)),
    (Action("assign a tariff", "POST", "/tariff-assignments", {"tariff_id": "{tariff}", "scope": "operator"}),
     billing_too(201)),
    (Action("remove a tariff assignment", "DELETE", "/tariff-assignments/{assignment}", etag=True),
     billing_too(204)),
    (Action("read the audit log", "GET", "/audit-log"), billing_too(200)),
    (Action("list API keys", "GET", "/api-keys"), admin_only(200)),
    (Action("create an API key", "POST", "/api-keys", {"name": "ERP", "role": "read_only"}), admin_only(201)),
    (Action("revoke an API key", "DELETE", "/api-keys/{api_key}"), admin_only(204)),
    (Action("change the operator", "PATCH", "/operators/{operator}", {"vat_id": "NL001234567B01"}, etag=True),
     admin_only(200)),
    (Action("create a customer", "POST", "/customers", JAN), all_but_read_only(201)),
    (Action("create a plan", "POST", "/plans", {**PLAN, "name": "Plus"}), billing_too(201)),
    (Action("preview a bill", "GET", "/contracts/{contract}/bill?cycle_start=2026-03-01"), everyone(200)),
    (Action("bill a contract", "POST", "/contracts/{contract}/bill", {"cycle_start": "2026-03-01"}),
     billing_too(200)),
]  # fmt: skip


def _scene(tenant: Tenant) -> dict[str, str]:
    """An operator's records for the actions to work on: a site, a tariff on its EVSE, a spare key."""
    site = make_site(tenant)
    tariff = tenant.created("/tariffs", SIMPLE_TARIFF)
    assignment = tenant.created(
        "/tariff-assignments", {"tariff_id": tariff["id"], "scope": "evse", "scope_id": site["evse"]["id"]}
    )
    spare = tenant.created("/api-keys", {"name": "Spare", "role": "support"})
    customer = tenant.created("/customers", JAN)
    plan = tenant.created("/plans", PLAN)
    terms = {"plan_id": plan["id"], "payment_method": "CARD_ON_FILE"}
    contract = tenant.created("/contracts", {"customer_id": customer["id"], "start": "2026-01-01T00:00:00Z",
                                             "activate": True, "terms": terms})  # fmt: skip
    return {
        "operator": tenant.operator_id,
        "location": site["location"]["id"],
        "connector": site["connector"]["id"],
        "tariff": tariff["id"],
        "assignment": assignment["id"],
        "api_key": spare["id"],
        "contract": contract["id"],
    }


@pytest.mark.parametrize(
    ("action", "role", "status"),
    [
        pytest.param(
            action, role, status, id=f"{role.value} may {'' if status < 400 else 'not '}{action.name}"
        )
        for action, statuses in PERMISSIONS
        for role, status in zip(ROLES, statuses, strict=True)
    ],
)
def test_each_role_may_do_what_it_is_granted_and_nothing_else(
    api: Api, action: Action, role: Role, status: int
) -> None:
    # Given an operator's records, and a key with the role
    admin = api.tenant()
    scene = _scene(admin)
    caller = admin.with_role(role)
    if_match = etag_of(admin, action.path.format(**scene)) if action.etag else None
    before = audit_entries(admin)

    # When the key's holder tries the action
    answer = action.send(caller, scene, if_match)

    # Then it is done, or refused with 403 forbidden and nothing recorded
    assert answer.status_code == status, answer.text
    if status == 403:
        assert problem_of(answer)["code"] == "forbidden"
        assert audit_entries(admin) == before


# --- API keys ----------------------------------------------------------------------------------------


def test_a_new_key_is_shown_once_works_and_stops_working_when_revoked(api: Api) -> None:
    # Given an operator's admin
    admin = api.tenant()

    # When it creates a key for its billing system
    created = admin.post("/api-keys", json={"name": "Billing export", "role": "billing"})

    # Then the key is in that answer only: listings show its prefix, never the secret
    assert created.status_code == 201
    new = created.json()
    assert set(new) == {"id", "name", "role", "prefix", "created_at", "revoked_at", "key"}
    assert (new["name"], new["role"], new["revoked_at"]) == ("Billing export", "billing", None)
    assert new["key"].startswith(f"evb_{new['prefix']}_")
    secret = new["key"].split("_", 2)[2]
    listed = admin.get("/api-keys")
    assert secret not in listed.text
    assert [key for key in listed.json()["items"] if key["id"] == new["id"]] == [
        {key: value for key, value in new.items() if key != "key"}
    ]
    assert secret not in json.dumps(audit_entries(admin))

    # And the key works, with its role
    billing = Tenant(api, admin.operator_id, new["key"], admin.name)
    assert billing.get("/tariffs").status_code == 200
    assert billing.post("/locations", json=AMSTERDAM).status_code == 403

    # When the admin revokes it
    assert admin.delete(f"/api-keys/{new['id']}").status_code == 204

    # Then it is refused like any unknown key, and listed as revoked
    refused = billing.get("/tariffs")
    assert refused.status_code == 401
    assert problem_of(refused) == UNAUTHENTICATED
    [revoked] = [key for key in admin.get("/api-keys").json()["items"] if key["id"] == new["id"]]
    assert revoked["revoked_at"] is not None


def test_revoking_a_revoked_key_again_records_nothing_new(api: Api) -> None:
    # Given a revoked key
    admin = api.tenant()
    key = admin.created("/api-keys", {"name": "Old integration", "role": "read_only"})
    assert admin.delete(f"/api-keys/{key['id']}").status_code == 204

    # When it is revoked again
    again = admin.delete(f"/api-keys/{key['id']}")

    # Then the audit log still has one revocation
    assert again.status_code in {204, 404}
    assert [entry["action"] for entry in audit_entries(admin, entity_id=key["id"])] == ["create", "delete"]


class Ticking:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_revoked_by_another_process_stops_working_within_the_cache_time(
    module_database_url: str,
) -> None:
    # Given a server that trusts a key it checked for 5 s, and a key it has just checked
    for api in build_api(module_database_url, api_key_cache_seconds=5):
        clock = Ticking()
        api.client.app.state.key_cache = KeyCache(5, clock=clock)  # type: ignore[attr-defined]
        admin = api.tenant()
        key = admin.created("/api-keys", {"name": "Kiosk", "role": "read_only"})
        kiosk = Tenant(api, admin.operator_id, key["key"], admin.name)
        assert kiosk.get("/tariffs").status_code == 200

        # When another process (the CLI, another worker) revokes it, this one not being told
        who = Actor(operator_id=admin.operator_id, role=Role.ADMIN, key_id=key_id_of(admin), name="tests")
        revoke_api_key(api.container.services, who, key["id"])

        # Then this server still knows the key for the rest of the 5 s, and not a moment longer
        clock.now += 4.9
        assert kiosk.get("/tariffs").status_code == 200
        clock.now += 0.1
        refused = kiosk.get("/tariffs")
        assert refused.status_code == 401
        assert problem_of(refused) == UNAUTHENTICATED

        # And a wrong secret behind a remembered key's prefix is never taken for it
        assert admin.get("/tariffs").status_code == 200
        _, prefix, secret = admin.key.split("_", 2)
        # change the last character to one it is not (a secret ends in "A" once in 64 keys)
        last = "B" if secret.endswith("A") else "A"
        wrong = api.anonymous("GET", "/tariffs", headers={"X-API-Key": f"evb_{prefix}_{secret[:-1]}{last}"})
        assert wrong.status_code == 401


def test_with_the_cache_off_every_request_reads_the_key() -> None:
    cache = KeyCache(0)
    cache.put("evb_abc_secret", Actor(operator_id="op", role=Role.ADMIN, key_id="k1", name="n"))
    assert cache.get("evb_abc_secret") is None


def test_the_key_cache_forgets_a_key_and_stays_bounded() -> None:
    clock = Ticking()
    cache = KeyCache(5, capacity=2, clock=clock)
    one = Actor(operator_id="op", role=Role.ADMIN, key_id="k1", name="one")
    two = Actor(operator_id="op", role=Role.BILLING, key_id="k2", name="two")
    cache.put("evb_1_a", one)
    cache.put("evb_2_b", two)
    assert (cache.get("evb_1_a"), cache.get("evb_2_b"), cache.get("evb_1_b")) == (one, two, None)

    cache.forget("k1")
    assert (cache.get("evb_1_a"), cache.get("evb_2_b")) == (None, two)

    cache.put("evb_1_a", one)
    cache.put("evb_3_c", one)  # full: the old entries go, the new one stays
    assert (cache.get("evb_1_a"), cache.get("evb_2_b"), cache.get("evb_3_c")) == (None, None, one)


# --- The audit log -----------------------------------------------------------------------------------


def test_each_change_is_recorded_once_with_who_what_before_and_after(api: Api) -> None:
    # Given an operator's admin
    admin = api.tenant()

    # When it creates a location, renames it and deletes it
    location = admin.created("/locations", AMSTERDAM)
    path = f"/locations/{location['id']}"
    renamed = admin.patch(path, json={"name": "Amsterdam Zuid P2"}, headers={"If-Match": '"1"'})
    assert renamed.status_code == 200
    assert admin.delete(path, headers={"If-Match": '"2"'}).status_code == 204

    # Then the log has exactly those three entries, by that key, with the record before and after
    entries = audit_entries(admin, entity_id=location["id"])
    actor = actor_of(admin)
    assert [(e["action"], e["actor"], e["entity_type"], e["entity_id"]) for e in entries] == [
        ("create", actor, "location", location["id"]),
        ("update", actor, "location", location["id"]),
        ("delete", actor, "location", location["id"]),
    ]
    created, updated, deleted = entries
    assert created["before"] is None
    assert (created["after"]["name"], created["after"]["version"]) == ("Amsterdam Zuid P1", 1)
    assert (updated["before"]["name"], updated["after"]["name"]) == ("Amsterdam Zuid P1", "Amsterdam Zuid P2")
    assert (updated["before"]["version"], updated["after"]["version"]) == (1, 2)
    assert (deleted["before"]["name"], deleted["before"]["version"], deleted["after"]) == (
        "Amsterdam Zuid P2", 2, None,
    )  # fmt: skip
    assert len({entry["id"] for entry in entries}) == 3


def test_a_station_password_is_never_shown_only_whether_one_is_set(api: Api) -> None:
    # Given an operator's location
    admin = api.tenant()
    location = admin.created("/locations", AMSTERDAM)

    # When it registers a station with an HTTP Basic password, changes the password, then clears it
    station = {
        "location_id": location["id"], "charge_point_id": "CP-SECRET-1", "vendor": "Alfen",
        "model": "Eve Single", "ocpp_version": "2.0.1", "security_profile": 2, "password": STATION_PASSWORD,
    }  # fmt: skip
    created = admin.post("/stations", json=station)
    path = f"/stations/{created.json()['id']}"
    changed = admin.patch(path, json={"password": STATION_PASSWORD[::-1]}, headers={"If-Match": '"1"'})
    read, listed = admin.get(path), admin.get("/stations")
    cleared = admin.patch(path, json={"password": None}, headers={"If-Match": '"2"'})

    # Then every answer says only whether a password is set
    answers = [created, changed, read, listed, cleared]
    assert [answer.status_code for answer in answers] == [201, 200, 200, 200, 200]
    assert [created.json()["has_password"], changed.json()["has_password"], read.json()["has_password"]] == [
        True, True, True,
    ]  # fmt: skip
    assert cleared.json()["has_password"] is False
    # And neither the passwords nor their hashes appear in any answer or audit entry
    log = json.dumps(audit_entries(admin, entity_type="station"))
    for text in [answer.text for answer in answers] + [log]:
        for secret in (STATION_PASSWORD, STATION_PASSWORD[::-1], "password_hash", "$argon2"):
            assert secret not in text
    assert '"password"' not in log


def test_the_audit_log_pages_through_every_entry_exactly_once(api: Api) -> None:
    # Given an operator with more changes than fit on one page
    admin = api.tenant()
    for number in range(7):
        admin.created("/locations", {**AMSTERDAM, "name": f"Car park {number}"})
    entries = audit_entries(admin)
    everything = [entry["id"] for entry in entries]

    # When it reads the log three entries at a time, following next_cursor
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "3"} if cursor is None else {"limit": "3", "cursor": cursor}
        page = admin.get("/audit-log", params=params).json()
        pages.append([entry["id"] for entry in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    # Then every entry comes once, oldest first, in full pages but the last
    assert [entry for page in pages for entry in page] == everything
    assert len(set(everything)) == len(everything)
    times = [datetime.fromisoformat(entry["at"]) for entry in entries]
    assert times == sorted(times)
    assert [entry["after"]["name"] for entry in entries if entry["entity_type"] == "location"] == [
        f"Car park {number}" for number in range(7)
    ]
    assert len(everything) >= 9  # the operator and its key, then the seven locations
    assert [len(page) for page in pages[:-1]] == [3] * (len(pages) - 1)
    assert 1 <= len(pages[-1]) <= 3


# --- Rate limit and body size ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited_api(module_database_url: str) -> Iterator[Api]:
    """A second app on the same database that allows each key five requests a minute."""
    yield from build_api(module_database_url, rate_limit_per_minute=5)


@pytest.fixture(scope="module")
def small_body_api(module_database_url: str) -> Iterator[Api]:
    """A second app on the same database that accepts request bodies up to 2 KiB."""
    yield from build_api(module_database_url, max_body_bytes=2048)


def test_the_sixth_request_in_a_minute_is_refused_with_retry_after(limited_api: Api) -> None:
    # Given a key allowed five requests a minute
    tenant = limited_api.tenant()

    # When it sends six at once
    answers = [tenant.get("/locations") for _ in range(6)]

    # Then the sixth is 429 rate_limited, saying when to retry (one request's worth: 12 s at most)
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 200, 429]
    refused = problem_of(answers[5])
    assert (refused["status"], refused["code"]) == (429, "rate_limited")
    assert 1 <= int(answers[5].headers["retry-after"]) <= 12

    # And another key, of the same operator or of another one, is not affected
    assert tenant.with_role(Role.ADMIN).get("/locations").status_code == 200
    assert limited_api.tenant("Other").get("/locations").status_code == 200


def test_a_body_over_the_limit_is_refused_and_nothing_is_stored(small_body_api: Api) -> None:
    # Given an app that accepts bodies up to 2048 bytes
    tenant = small_body_api.tenant()
    oversized = {**AMSTERDAM, "address": "Parnassusweg " + "1" * 2100}

    # When a location that large is posted
    answer = tenant.post("/locations", json=oversized)

    # Then it is 413, and no location exists
    assert answer.status_code == 413
    assert problem_of(answer) == {
        "type": "https://evbill.dev/problems/payload_too_large",
        "title": "Payload too large",
        "status": 413,
        "detail": "request bodies are limited to 2048 bytes",
        "code": "payload_too_large",
    }
    assert tenant.get("/locations").json()["items"] == []


def _in_chunks(data: bytes) -> Iterator[bytes]:
    """A body sent chunked, without Content-Length: the limit must hold while it streams."""
    for start in range(0, len(data), 512):
        yield data[start : start + 512]


@pytest.mark.parametrize(
    "path",
    ["/tariffs", "/locations"],
)
def test_a_streamed_body_over_the_limit_is_refused_and_nothing_is_stored(
    small_body_api: Api, path: str
) -> None:
    # Given an app that accepts bodies up to 2048 bytes
    tenant = small_body_api.tenant()
    document = SIMPLE_TARIFF if path == "/tariffs" else AMSTERDAM
    oversized = json.dumps({**document, "padding": "x" * 2100}).encode()

    # When the body comes in chunks, without a Content-Length
    answer = tenant.post(path, content=_in_chunks(oversized), headers={"Content-Type": "application/json"})

    # Then it is 413, and nothing was stored
    assert answer.status_code == 413
    assert problem_of(answer)["code"] == "payload_too_large"
    assert tenant.get(path).json()["items"] == []


# --- Malformed requests ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/locations", "/tariffs", "/api-keys", "/tariffs/preview"])
def test_a_body_that_is_not_json_is_422(api: Api, path: str) -> None:
    # Given an operator
    tenant = api.tenant()

    # When it posts a body that is not JSON
    answer = tenant.post(path, content=b'{"name": "Amsterdam', headers={"Content-Type": "application/json"})

    # Then it is 422 invalid_input with the problem located
    assert answer.status_code == 422
    problem = problem_of(answer)
    assert problem["code"] == "invalid_input"
    assert len(problem["errors"]) == 1


def test_an_unknown_field_is_422_naming_each_one(api: Api) -> None:
    # Given an operator
    tenant = api.tenant()

    # When it posts a location with a field the API does not know, also inside opening_hours
    body = {**AMSTERDAM, "colour": "green", "opening_hours": {"twentyfourseven": True, "open": "always"}}
    answer = tenant.post("/locations", json=body)

    # Then every unknown field is named by its path, and nothing is stored
    assert answer.status_code == 422
    problem = problem_of(answer)
    assert problem["code"] == "invalid_input"
    assert sorted((error["path"], error["message"]) for error in problem["errors"]) == [
        ("$.colour", "Extra inputs are not permitted"),
        ("$.opening_hours.open", "Extra inputs are not permitted"),
    ]
    assert tenant.get("/locations").json()["items"] == []


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"],
)
@pytest.mark.parametrize("path", ["/locations", "/tariffs", "/tariffs/validate"])
def test_a_wrong_content_type_is_no_server_error(api: Api, path: str, content_type: str) -> None:
    # Given an operator
    tenant = api.tenant()
    document = AMSTERDAM if path == "/locations" else SIMPLE_TARIFF

    # When it posts a JSON document declared as something else
    answer = tenant.post(path, content=json.dumps(document).encode(), headers={"Content-Type": content_type})

    # Then the API answers without a server error: a JSON model endpoint refuses it with 422; the OCPI
    # endpoints read the body as JSON whatever it is declared as
    assert answer.status_code < 500, answer.text
    if path == "/locations":
        assert answer.status_code == 422
        assert problem_of(answer)["code"] == "invalid_input"


@dataclass(frozen=True)
class Malformed:
    """A request with an absurd but well-formed value; ``bug`` says where it is still a server error."""

    name: str
    method: str
    path: str  # '{tariff}' and '{contract}' are the scene's records
    params: dict[str, str] | None = None
    body: Any = None
    bug: str | None = None
    dialects: frozenset[str] = frozenset({"sqlite", "postgresql"})  # where the bug shows
    if_match: str | None = None


BEYOND_64_BITS = "9223372036854775808"
POSTGRESQL = frozenset({"postgresql"})
# Found by tests/e2e/test_schemathesis.py and by hand; every one must be a 4xx, never a 5xx.
MALFORMED = [
    Malformed("audit cursor '²'", "GET", "/audit-log", {"cursor": "²"}),
    Malformed("audit cursor beyond 64 bits", "GET", "/audit-log", {"cursor": BEYOND_64_BITS}),
    Malformed("sessions from before year 1 in UTC", "GET", "/sessions",
              {"started_from": "0001-01-01T00:00:00+14:00"}),
    Malformed("sessions to after year 9999 in UTC", "GET", "/sessions",
              {"started_to": "9999-12-31T23:59:59-14:00"}),
    Malformed("tariff version beyond 64 bits", "GET", "/tariffs/{tariff}/versions/" + BEYOND_64_BITS),
    Malformed("tariff version beyond 32 bits", "GET", "/tariffs/{tariff}/versions/2147483648"),
    Malformed("bill preview of year 1", "GET", "/contracts/{contract}/bill", {"cycle_start": "0001-01-01"}),
    Malformed("bill preview of year 9999", "GET", "/contracts/{contract}/bill",
              {"cycle_start": "9999-12-01"}),
    Malformed("bill of year 1", "POST", "/contracts/{contract}/bill", body={"cycle_start": "0001-01-01"}),
    Malformed("NUL in a name", "POST", "/locations", body={**AMSTERDAM, "name": "Zuid\x00P1"},
              dialects=POSTGRESQL),
    Malformed("NUL in a filter", "GET", "/locations", {"name": "Zuid\x00"}, dialects=POSTGRESQL),
    Malformed("NUL in a cursor", "GET", "/locations", {"cursor": "\x00"}, dialects=POSTGRESQL),
    Malformed("NUL in an id", "GET", "/locations/Zuid%00P1", dialects=POSTGRESQL),
    Malformed("a page of a million", "GET", "/locations", {"limit": "1000000"}),
    Malformed("a cursor of another list", "GET", "/sessions", {"cursor": "0190aaaa-0000-7000-8000-0000000"}),
    Malformed("If-Match beyond 64 bits", "POST", "/contracts/{contract}/status", body={"status": "ACTIVE"},
              if_match=f'"{BEYOND_64_BITS}"'),
]  # fmt: skip


def _dialect(api: Api) -> str:
    return "postgresql" if api.container.settings.database_url.startswith("postgresql") else "sqlite"


@pytest.mark.parametrize("malformed", MALFORMED, ids=lambda malformed: malformed.name)
def test_a_malformed_request_is_no_server_error(
    request: pytest.FixtureRequest, api: Api, malformed: Malformed
) -> None:
    if malformed.bug is not None and _dialect(api) in malformed.dialects:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"product bug: {malformed.bug}"))
    # Given an operator with a location in Amsterdam (its billing calendar), a tariff and a contract
    tenant = api.tenant()
    tenant.created("/locations", AMSTERDAM)
    tariff = tenant.created("/tariffs", SIMPLE_TARIFF)
    customer = tenant.created("/customers", {"kind": "BUSINESS", "name": "Acme", "language": "nl",
                                             "currency": "EUR", "country": "NL"})  # fmt: skip
    plan = tenant.created("/plans", PLAN)  # from January: a plan starting today could not bill the contract
    terms = {"plan_id": plan["id"], "payment_method": "CARD_ON_FILE"}
    contract = tenant.created("/contracts", {"customer_id": customer["id"], "start": "2026-01-01T00:00:00Z",
                                             "activate": True, "terms": terms})  # fmt: skip

    # When the malformed request is sent
    path = malformed.path.format(tariff=tariff["id"], contract=contract["id"])
    headers = {} if malformed.if_match is None else {"If-Match": malformed.if_match}
    answer = tenant.request(
        malformed.method, path, params=malformed.params, json=malformed.body, headers=headers
    )

    # Then it is refused or answered, never a server error, and a refusal is a problem
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert problem_of(answer)["status"] == answer.status_code


# --- Optimistic concurrency --------------------------------------------------------------------------


CHANGES = [
    ("PATCH", "/locations/{id}", {"name": "Zuid P2"}),
    ("DELETE", "/locations/{id}", None),
    ("PUT", "/tariffs/{tariff}", SIMPLE_TARIFF),
    ("PATCH", "/operators/{operator}", {"vat_id": "NL001234567B01"}),
]


@pytest.mark.parametrize(("method", "path", "body"), CHANGES, ids=[f"{m} {p}" for m, p, _ in CHANGES])
@pytest.mark.parametrize(
    ("if_match", "status", "code"),
    [(None, 428, "precondition_required"), ("banana", 428, "precondition_required"),
     ('"0"', 412, "stale_version"), ('"2"', 412, "stale_version")],
    ids=["without If-Match", "If-Match not an ETag", "stale If-Match", "If-Match from the future"],
)  # fmt: skip
def test_a_change_needs_the_current_etag(
    api: Api, method: str, path: str, body: Any, if_match: str | None, status: int, code: str
) -> None:
    # Given a record at version 1
    tenant = api.tenant()
    location = tenant.created("/locations", AMSTERDAM)
    tariff = tenant.created("/tariffs", SIMPLE_TARIFF)
    target = path.format(id=location["id"], tariff=tariff["id"], operator=tenant.operator_id)
    before = tenant.get(target).json()

    # When it is changed without the current ETag
    headers = {} if if_match is None else {"If-Match": if_match}
    answer = tenant.request(method, target, json=body, headers=headers)

    # Then the change is refused and the record is unchanged
    assert answer.status_code == status
    assert problem_of(answer)["code"] == code
    assert tenant.get(target).json() == before


def test_a_weak_etag_is_refused_for_if_match(api: Api) -> None:
    # Given a location at version 1
    tenant = api.tenant()
    location = tenant.created("/locations", AMSTERDAM)

    # When it is changed with If-Match: W/"1" (If-Match compares strongly: a weak ETag never matches)
    answer = tenant.patch(
        f"/locations/{location['id']}", json={"name": "Zuid P2"}, headers={"If-Match": 'W/"1"'}
    )

    # Then the change is refused with 412 and the location is unchanged
    assert answer.status_code == 412
    assert problem_of(answer)["code"] == "stale_version"
    assert tenant.get(f"/locations/{location['id']}").json()["name"] == AMSTERDAM["name"]


def test_of_two_changes_from_the_same_version_only_one_wins(api: Api) -> None:
    # Given a location both of two clients have read at version 1
    tenant = api.tenant()
    location = tenant.created("/locations", AMSTERDAM)
    path = f"/locations/{location['id']}"
    start = threading.Barrier(2)
    answers: dict[str, Response] = {}

    def rename(name: str) -> None:
        start.wait()
        answers[name] = tenant.patch(path, json={"name": name}, headers={"If-Match": '"1"'})

    # When both send their change at the same moment
    clients = [threading.Thread(target=rename, args=(name,)) for name in ("Zuid P2", "Zuid P3")]
    for client in clients:
        client.start()
    for client in clients:
        client.join()

    # Then exactly one is applied and the other is 412 stale_version
    statuses = sorted(answer.status_code for answer in answers.values())
    assert statuses == [200, 412], [answer.text for answer in answers.values()]
    [winner] = [name for name, answer in answers.items() if answer.status_code == 200]
    [loser] = [answer for answer in answers.values() if answer.status_code == 412]
    assert problem_of(loser)["code"] == "stale_version"
    assert (tenant.get(path).json()["name"], tenant.get(path).json()["version"]) == (winner, 2)
    assert [entry["action"] for entry in audit_entries(tenant, entity_id=location["id"])] == [
        "create",
        "update",
    ]


def _send_raw(api: Api, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """The status of a request whose header bytes reach the app exactly as given (HTTP headers are
    Latin-1; the test client would re-encode them as UTF-8)."""
    started: list[int] = []
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": PREFIX + path, "raw_path": (PREFIX + path).encode(), "root_path": "",
        "query_string": b"", "headers": [(b"content-type", b"application/json"), *headers],
        "server": ("testserver", 80), "client": ("127.0.0.1", 50000),
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.append(message["status"])

    async def call() -> None:
        with contextlib.suppress(Exception):  # the app re-raises what it answered 500 for
            await api.client.app(scope, receive, send)

    asyncio.run(call())
    return started[0]


def test_an_if_match_of_non_ascii_digits_is_428(api: Api) -> None:
    # Given a location
    tenant = api.tenant()
    location = tenant.created("/locations", AMSTERDAM)

    # When a client sends If-Match: "²" (HTTP headers are Latin-1)
    headers = [(b"authorization", f"Bearer {tenant.key}".encode()), (b"if-match", b'"\xb2"')]
    status = _send_raw(api, "PATCH", f"/locations/{location['id']}", headers, b'{"name": "Zuid P2"}')

    # Then it is told the ETag is not one the API gave out
    assert status == 428
