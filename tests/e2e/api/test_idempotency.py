"""Idempotency-Key on POST (issue 12: two identical POST /customers made two customers).

* The same key and request return the first answer (status, body, headers), and nothing is done twice.
* The same key with another body is a 422, and nothing is done.
* Keys are per operator: another operator's key of the same name is its own.
* They are kept in the database, with an expiry: a reservation survives a new process.
"""

from __future__ import annotations

from tests.e2e.api.conftest import Api

JAN = {"kind": "INDIVIDUAL", "name": "Jan Jansen", "language": "nl", "currency": "EUR", "country": "NL"}
KEY = {"Idempotency-Key": "create-jan-0001"}


def test_the_same_key_and_body_return_the_first_answer_and_make_one_customer(api: Api) -> None:
    alpha = api.tenant()

    first = alpha.post("/customers", json=JAN, headers=KEY)
    again = alpha.post("/customers", json=JAN, headers=KEY)

    assert first.status_code == 201, first.text
    assert (again.status_code, again.content) == (201, first.content)
    for header in ("etag", "location", "content-type"):
        assert again.headers[header] == first.headers[header]
    assert again.headers["idempotent-replayed"] == "true"
    assert [c["id"] for c in alpha.get("/customers").json()["items"]] == [first.json()["id"]]


def test_the_same_key_with_another_body_is_a_422_and_does_nothing(api: Api) -> None:
    alpha = api.tenant()
    first = alpha.post("/customers", json=JAN, headers=KEY)

    other = alpha.post("/customers", json={**JAN, "name": "Piet"}, headers=KEY)
    elsewhere = alpha.post("/plans", json={"name": "Basic"}, headers=KEY)

    assert (other.status_code, elsewhere.status_code) == (422, 422)
    assert other.json()["errors"][0]["path"] == "Idempotency-Key"
    assert [c["id"] for c in alpha.get("/customers").json()["items"]] == [first.json()["id"]]


def test_a_retry_with_the_same_fields_in_another_order_or_layout_is_the_same_request(api: Api) -> None:
    # tester: a retry whose JSON had the same keys and values in another order got 422 "reused"
    alpha = api.tenant()
    first = alpha.post("/customers", json=JAN, headers=KEY)
    reordered = (
        b'{ "country": "NL",\n  "currency": "EUR", "language": "nl", "name": "Jan Jansen",'
        b' "kind": "INDIVIDUAL" }'
    )
    json_type = {**KEY, "Content-Type": "application/json"}

    again = alpha.post("/customers", content=reordered, headers=json_type)
    # the same digits as a number and as a string are not the same request
    top_up = {"Idempotency-Key": "limit-1", "Content-Type": "application/json"}
    plan = b'"name": "F", "kind": "FLAT_RATE", "currency": "EUR"'
    as_string = alpha.post("/plans", content=b"{" + plan + b', "version": {"fee": "5"}}', headers=top_up)
    as_number = alpha.post("/plans", content=b'{"version": {"fee": 5}, ' + plan + b"}", headers=top_up)

    assert first.status_code == 201, first.text
    assert (again.status_code, again.content, again.headers["idempotent-replayed"]) == (
        201,
        first.content,
        "true",
    )
    assert [c["id"] for c in alpha.get("/customers").json()["items"]] == [first.json()["id"]]
    assert (as_number.status_code, as_number.json()["errors"][0]["path"]) == (422, "Idempotency-Key")
    assert (as_string.status_code, as_string.json()["errors"][0]["path"]) == (422, "$.version.fair_use_kwh")


def test_keys_are_per_operator(api: Api) -> None:
    alpha, bravo = api.tenant("Alpha"), api.tenant("Bravo")

    mine = alpha.post("/customers", json=JAN, headers=KEY)
    theirs = bravo.post("/customers", json=JAN, headers=KEY)

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert "idempotent-replayed" not in theirs.headers


def test_a_refused_request_is_replayed_as_refused_and_without_a_key_nothing_is_kept(api: Api) -> None:
    alpha = api.tenant()

    refused = alpha.post("/customers", json={**JAN, "country": "XX"}, headers={"Idempotency-Key": "bad-1"})
    again = alpha.post("/customers", json={**JAN, "country": "XX"}, headers={"Idempotency-Key": "bad-1"})
    plain = [alpha.post("/customers", json=JAN) for _ in range(2)]

    assert (refused.status_code, again.status_code, again.content) == (422, 422, refused.content)
    assert [answer.status_code for answer in plain] == [201, 201]


def test_the_answer_is_kept_in_the_database_with_an_expiry(api: Api) -> None:
    alpha = api.tenant()
    first = alpha.post("/customers", json=JAN, headers=KEY)

    from evbill.adapters.db.idempotency.tables import idempotency_keys

    with api.container.engine.connect() as connection:
        row = (
            connection.execute(
                idempotency_keys.select().where(idempotency_keys.c.operator_id == alpha.operator_id)
            )
            .mappings()
            .one()
        )
    assert (row["key"], row["status"]) == ("create-jan-0001", 201)
    assert (row["expires_at"] - row["created_at"]).total_seconds() == 24 * 3600
    assert first.status_code == 201


def test_a_duplicate_while_the_first_request_runs_gets_409_with_retry_after_then_the_answer(api: Api) -> None:
    """Tester finding 15: parallel reuse of one key. The second request while the first still runs
    is told so (409 request_in_progress, Retry-After: 1); once the first finished, its answer."""
    import hashlib
    import json

    from evbill.application.access import idempotency
    from evbill.entrypoints.api.idempotency import canonical

    alpha = api.tenant()
    body = json.dumps(JAN).encode()
    fingerprint = hashlib.sha256(b"POST /api/v1/customers?\n" + canonical(body)).hexdigest()
    container = api.container
    # the first request has claimed the key and not answered yet
    assert (
        idempotency.claim(
            container.idempotency, container.services.clock, operator_id=alpha.operator_id,
            key="parallel-1", fingerprint=fingerprint,
        )
        is None
    )  # fmt: skip

    second = alpha.post(
        "/customers",
        content=body,
        headers={"Idempotency-Key": "parallel-1", "Content-Type": "application/json"},
    )

    assert (second.status_code, second.json()["code"]) == (409, "request_in_progress")
    assert second.headers["retry-after"] == "1"
    assert second.json()["detail"] == (
        "a request with this Idempotency-Key is still running; retry after a second to get its answer"
    )
    assert alpha.get("/customers").json()["items"] == []
