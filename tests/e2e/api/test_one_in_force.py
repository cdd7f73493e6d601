"""One thing in force at a time, whatever runs concurrently (issue 12).

* Concurrent tariff assignments to one EVSE leave exactly one assignment on it, every request
  answered 201 (each replaces the one before, in turn); the database holds it (a unique index per
  scope, and the operator row locked while assignments change).
* A customer cannot hold two overlapping ACTIVE contracts: the second is refused with 409, whether
  created ACTIVE or activated (or reactivated) later; contracts that do not overlap are fine.
"""

from __future__ import annotations

import threading
from typing import Any

from httpx import Response

from tests.e2e.api.conftest import SIMPLE_TARIFF, Api, Tenant, make_site

JAN = {"kind": "INDIVIDUAL", "name": "Jan Jansen", "language": "nl", "currency": "EUR", "country": "NL"}
PLAN = {"name": "Basic", "kind": "PAY_PER_USE", "currency": "EUR",
        "version": {"effective_from": "2026-01-01T00:00:00Z"}}  # fmt: skip


def test_concurrent_assignments_leave_one_assignment_on_the_evse(api: Api) -> None:
    # Given an EVSE and eight tariffs
    alpha = api.tenant()
    evse = make_site(alpha)["evse"]["id"]
    tariffs = [alpha.created("/tariffs", {**SIMPLE_TARIFF, "id": f"T{number}"})["id"] for number in range(8)]
    # When eight requests put one each on the EVSE at the same moment
    start = threading.Barrier(len(tariffs))
    answers: list[Response] = []

    def assign(tariff_id: str) -> None:
        start.wait()
        answers.append(
            alpha.post(
                "/tariff-assignments", json={"tariff_id": tariff_id, "scope": "evse", "scope_id": evse}
            )
        )

    threads = [threading.Thread(target=assign, args=(tariff_id,)) for tariff_id in tariffs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every request succeeded and exactly one assignment is on the EVSE: the one the EVSE shows
    assert sorted(answer.status_code for answer in answers) == [201] * 8, [a.text for a in answers]
    listed = alpha.get("/tariff-assignments").json()
    on_evse = [a for a in listed["items"] if a["scope_id"] == evse]
    assert len(on_evse) == 1
    assert alpha.get(f"/evses/{evse}/tariff").json()["id"] == on_evse[0]["tariff_id"]


def _shop(api: Api) -> tuple[Tenant, str, dict[str, Any]]:
    admin = api.tenant()
    customer = admin.created("/customers", JAN)["id"]
    terms = {"plan_id": admin.created("/plans", PLAN)["id"], "payment_method": "CARD_ON_FILE"}
    return admin, customer, terms


def _contract(
    admin: Tenant, customer: str, terms: dict[str, Any], start: str, end: str | None, **more: Any
) -> Any:
    return admin.post(
        "/contracts", json={"customer_id": customer, "start": start, "end": end, "terms": terms, **more}
    )


def test_a_second_overlapping_active_contract_is_refused(api: Api) -> None:
    admin, customer, terms = _shop(api)
    first = _contract(admin, customer, terms, "2026-01-01T00:00:00Z", None, activate=True)
    assert first.status_code == 201, first.text

    overlapping = _contract(admin, customer, terms, "2026-06-01T00:00:00Z", None, activate=True)

    assert overlapping.status_code == 409, overlapping.text
    assert first.json()["id"] in overlapping.json()["detail"]
    listed = admin.get("/contracts", params={"customer_id": customer}).json()["items"]
    assert [c["status"] for c in listed] == ["ACTIVE"]


def test_a_draft_cannot_be_activated_over_an_active_contract_but_one_after_it_can(api: Api) -> None:
    admin, customer, terms = _shop(api)
    _contract(admin, customer, terms, "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z", activate=True)
    during = _contract(admin, customer, terms, "2026-06-30T00:00:00Z", None).json()
    after = _contract(admin, customer, terms, "2026-07-01T00:00:00Z", None).json()

    activate_during = admin.post(f"/contracts/{during['id']}/status", json={"status": "ACTIVE"},
                                 headers={"If-Match": '"1"'})  # fmt: skip
    activate_after = admin.post(f"/contracts/{after['id']}/status", json={"status": "ACTIVE"},
                                headers={"If-Match": '"1"'})  # fmt: skip

    assert (activate_during.status_code, activate_after.status_code) == (409, 200)


def test_overlapping_drafts_activated_at_the_same_moment_leave_one_active(api: Api) -> None:
    # Given six overlapping DRAFT contracts of one customer
    admin, customer, terms = _shop(api)
    drafts = [_contract(admin, customer, terms, "2026-02-01T00:00:00Z", None).json()["id"] for _ in range(6)]
    # When all six are activated at the same moment
    start = threading.Barrier(len(drafts))
    answers: list[Response] = []

    def activate(contract_id: str) -> None:
        start.wait()
        answers.append(
            admin.post(
                f"/contracts/{contract_id}/status", json={"status": "ACTIVE"}, headers={"If-Match": '"1"'}
            )
        )

    threads = [threading.Thread(target=activate, args=(contract_id,)) for contract_id in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one is ACTIVE and the others were refused (409), on PostgreSQL as on SQLite
    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 5, [a.text for a in answers]
    listed = admin.get("/contracts", params={"customer_id": customer}).json()["items"]
    assert sorted(c["status"] for c in listed) == ["ACTIVE"] + ["DRAFT"] * 5
