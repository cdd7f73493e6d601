"""Abuse: what a hostile or broken client sends is refused cheaply, never a server error.

* A JSON body nested deeper than 32 levels is a 422 before any parser recurses into it, on every
  route (issue 12: 100,000 ``[`` to ``POST /tariffs`` was a 500, a RecursionError, and dropped the
  keep-alive connection). Brackets inside strings do not count.
* A JSON body naming a key twice in one object is a 422 naming the key's path, at any depth, on every
  route (issue 14: ``{"amount": "1.00", "amount": "900.00"}`` paid 900.00, the last one).
* Failed authentication is throttled per client address and per key prefix (API) and per charge
  point id (OCPP): past the limit, 429 before any key or password is checked. The per-key request
  rate and these counts live in one limiter, shared by every process through Redis when configured.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from evbill.adapters.limits import RedisLimiter
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Role
from evbill.domain.errors import DomainError
from evbill.entrypoints.api.app import create_app
from evbill.entrypoints.api.security import json_depth_exceeds
from tests.e2e.api.conftest import PREFIX, SIMPLE_TARIFF, Api
from tests.support import store_session

REDIS = os.environ.get("EVBILL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 5_000 + "1" + "}" * 5_000


@pytest.mark.parametrize(
    "path", ["/tariffs", "/tariffs/validate", "/tariffs/preview", "/customers", "/plans"]
)
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_a_deeply_nested_body_is_a_422_on_every_route(api: Api, path: str, body: str) -> None:
    alpha = api.tenant()
    response = alpha.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "the body is nested deeper than 32 levels"


def test_a_tariff_at_the_usual_depth_with_brackets_in_its_strings_is_accepted(api: Api) -> None:
    alpha = api.tenant()
    tariff = {**SIMPLE_TARIFF, "id": "BRACKETS", "tariff_alt_text": [{"language": "en", "text": "[[[" * 40}]}
    response = alpha.post(
        "/tariffs", content=json.dumps(tariff), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("text", "deeper"),
    [
        (b"[" * 32 + b"]" * 32, False),
        (b"[" * 33 + b"]" * 33, True),
        (b'[["' + b"[" * 100 + b'\\"' + b"{" * 100 + b'"]]', False),
        (b'{"a": "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "b": ' + b"[" * 33 + b"]" * 33 + b"}", True),
    ],
)
def test_the_depth_counts_arrays_and_objects_but_not_strings(text: bytes, deeper: bool) -> None:
    assert json_depth_exceeds(text, 32) is deeper


def _problem(response) -> tuple[int, str, str, list[tuple[str, str]]]:
    body = response.json()
    return (
        response.status_code,
        response.headers["content-type"],
        body["code"],
        [(error["path"], error["message"]) for error in body.get("errors", [])],
    )


def test_a_payment_naming_its_amount_twice_is_refused_and_nothing_is_paid(api: Api) -> None:
    # Given a session's payment whose body names "amount" twice (Python's parser keeps the last: 900.00)
    alpha = api.tenant()
    store_session(api.container.services, alpha.operator_id, "s-twice")  # a price of 10,000.00
    body = (
        '{"subject": "session:s-twice", "amount": "1.00", "currency": "EUR", '
        '"payment_method": "tok_visa", "amount": "900.00"}'
    )
    headers = {"Content-Type": "application/json", "Idempotency-Key": "twice"}

    # When it is sent, then sent again without a content type (FastAPI reads that as JSON too)
    typed = alpha.post("/payments", content=body, headers=headers)
    untyped = alpha.post("/payments", content=body, headers={"Idempotency-Key": "twice-untyped"})
    # and with the media type in capitals, which is the same type (RFC 9110; tester)
    capitals = {"Content-Type": "Application/JSON; charset=utf-8", "Idempotency-Key": "twice-capitals"}
    shouted = alpha.post("/payments", content=body, headers=capitals)

    # Then both are refused as problem+json naming the key, and no payment exists
    expected = (422, "application/problem+json", "invalid_input", [("$.amount", "duplicate key")])
    assert _problem(typed) == expected
    assert _problem(untyped) == expected
    assert _problem(shouted) == expected
    assert typed.json()["detail"] == "the body names a key twice"
    assert alpha.get("/payments").json()["items"] == []


def test_a_key_named_twice_deep_in_a_body_is_refused_at_its_path(api: Api) -> None:
    # Given a tariff whose second price component names "price" twice, and "id" twice at the top
    alpha = api.tenant()
    text = json.dumps({**SIMPLE_TARIFF, "id": "TWICE"})
    text = text.replace('"price": 0.39', '"price": 0.39, "price": 39', 1)
    text = text.replace('"id": "TWICE"', '"id": "TWICE", "id": "ONCE"', 1)

    response = alpha.post("/tariffs", content=text, headers={"Content-Type": "application/json"})

    # Then each key named twice is listed at its path, and the tariff is not stored
    assert _problem(response) == (
        422,
        "application/problem+json",
        "invalid_input",
        [("$.id", "duplicate key"), ("$.elements[0].price_components[1].price", "duplicate key")],
    )
    assert alpha.get("/tariffs").json()["items"] == []
    # while the same key in two objects (each names "price" once) is no duplicate
    accepted = alpha.post(
        "/tariffs", content=json.dumps(SIMPLE_TARIFF), headers={"Content-Type": "application/json"}
    )
    assert accepted.status_code == 201, accepted.text


# --- Failed authentication and request rates, in one limiter --------------------------------------


def _limited_api(database_url: str, limiter: Any = None, **settings: Any) -> Iterator[Api]:
    configured = Settings(database_url=database_url, **settings)
    container = bootstrap(configured)
    if limiter is not None:
        container.__dict__["limiter"] = limiter  # a Redis namespace of this test's own
    app = create_app(configured, container=container)
    with TestClient(app, raise_server_exceptions=False, client=("192.0.2.10", 50000)) as client:
        yield Api(client, container)
    container.dispose()


@pytest.fixture
def guarded(module_database_url: str) -> Iterator[Api]:
    yield from _limited_api(module_database_url, auth_failures_per_minute=5)


def wrong_key(prefix: str = "0123456789ab") -> dict[str, str]:
    return {"Authorization": f"Bearer evb_{prefix}_{secrets.token_urlsafe(32)}"}


def test_the_sixth_failed_authentication_from_one_address_in_a_minute_is_429(guarded: Api) -> None:
    # Given an API that allows 5 failed authentications per minute per client address
    alpha = guarded.tenant()
    # When one address sends six wrong keys (each with another prefix)
    answers = [
        guarded.anonymous("GET", "/locations", headers=wrong_key(secrets.token_hex(6))) for _ in range(6)
    ]
    # Then five are 401 and the sixth is 429 with Retry-After, before any key is looked up
    assert [answer.status_code for answer in answers] == [401, 401, 401, 401, 401, 429]
    assert answers[5].json()["code"] == "rate_limited"
    assert 1 <= int(answers[5].headers["retry-after"]) <= 12
    # And while throttled, even a right key not yet checked by this process is refused from there
    fresh = alpha.with_role(Role.READ_ONLY)
    assert fresh.get("/locations").status_code == 429


def test_failed_authentication_for_one_key_prefix_is_throttled_from_every_address(guarded: Api) -> None:
    # Given five wrong secrets for one key prefix, each from another address
    alpha = guarded.tenant()
    prefix = alpha.key.split("_")[1]
    app = guarded.client.app
    for number in range(5):
        with TestClient(app, raise_server_exceptions=False, client=(f"198.51.100.{number}", 1)) as other:
            assert other.get(f"{PREFIX}/locations", headers=wrong_key(prefix)).status_code == 401
    # When a sixth address tries that prefix
    with TestClient(app, raise_server_exceptions=False, client=("203.0.113.9", 1)) as sixth:
        answer = sixth.get(f"{PREFIX}/locations", headers=wrong_key(prefix))
        # Then it is 429, and another prefix from that address is still only checked (401)
        other_prefix = sixth.get(f"{PREFIX}/locations", headers=wrong_key("fedcba987654"))
    assert (answer.status_code, other_prefix.status_code) == (429, 401)


def test_failed_station_logins_are_throttled_per_charge_point_id(guarded: Api) -> None:
    endpoint = guarded.container.ocpp_endpoint

    async def six_logins() -> list[str]:
        outcomes = []
        for _ in range(6):
            try:
                await endpoint.authenticate("CP-NOBODY", "Basic Q1AtTk9CT0RZOndyb25n", secure=False)
            except DomainError as error:
                outcomes.append(error.code)
        return outcomes

    assert asyncio.run(six_logins()) == ["unauthenticated"] * 5 + ["rate_limited"]


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS}")
    return REDIS


def test_the_request_rate_of_a_key_is_shared_by_every_process_through_redis(
    module_database_url: str, redis_url: str
) -> None:
    # Given two API processes (two apps, two containers) sharing one Redis limiter, 5 requests a minute
    namespace = f"evbill-test:{secrets.token_hex(8)}:"
    first_app = _limited_api(
        module_database_url, RedisLimiter(redis_url, namespace=namespace), rate_limit_per_minute=5
    )
    second_app = _limited_api(
        module_database_url, RedisLimiter(redis_url, namespace=namespace), rate_limit_per_minute=5
    )
    first, second = next(first_app), next(second_app)
    alpha = first.tenant()
    # When one key sends three requests to each
    answers = [first.client.get(f"{PREFIX}/locations", headers=alpha.headers) for _ in range(3)]
    answers += [second.client.get(f"{PREFIX}/locations", headers=alpha.headers) for _ in range(3)]
    # Then the sixth is refused: the processes count together
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 200, 429]
    for app in (first_app, second_app):
        next(app, None)


def test_failed_authentication_is_counted_across_processes_through_redis(
    module_database_url: str, redis_url: str
) -> None:
    namespace = f"evbill-test:{secrets.token_hex(8)}:"
    apps = [
        _limited_api(
            module_database_url, RedisLimiter(redis_url, namespace=namespace), auth_failures_per_minute=5
        )
        for _ in range(2)
    ]
    first, second = (next(app) for app in apps)
    answers = [first.anonymous("GET", "/locations", headers=wrong_key()) for _ in range(3)]
    answers += [second.anonymous("GET", "/locations", headers=wrong_key()) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [401, 401, 401, 401, 401, 429]
    for app in apps:
        next(app, None)
