"""/api/v1/billing-runs: a run started over the API waits on the queue (202) until a worker takes it.

Data (``tests.billing_data``): two monthly contracts with one October session each. By hand:
9.99 + 0.35 + 10 x 0.39 = 14.24, VAT 21 % 2.9904 -> 2.99, 17.23; 9.99 + 0.35 + 11 x 0.39 = 14.63,
VAT 3.0723 -> 3.07, 17.70; issued in all 17.23 + 17.70 = 34.93 EUR.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import update

from evbill.adapters.db.offers.tables import contract_terms
from evbill.application.access.keys import create_api_key
from evbill.domain.access.operators import Role
from tests.billing_data import build_contracts
from tests.e2e.api.conftest import PREFIX, Api

EVBILL = Path(sys.executable).with_name("evbill")


def test_a_run_started_over_the_api_is_queued_then_worked_through_by_a_worker(
    api: Api, module_database_url: str
) -> None:
    # Given two contracts with October sessions, and the operator's admin key
    built = build_contracts(
        module_database_url, contracts=2, sessions_per_contract=1, period="2026-10", name="Api"
    )
    _, key = create_api_key(
        api.container.services, operator_id=built.operator_id, role=Role.ADMIN, name="runs"
    )
    headers = {"Authorization": f"Bearer {key}"}
    # When a run of October is started
    started = api.client.post(f"{PREFIX}/billing-runs", json={"period": "2026-10"}, headers=headers)
    queued = api.client.get(f"{PREFIX}/billing-runs/{started.json()['id']}", headers=headers).json()
    # And a worker on the app's queue works it through
    settings = api.container.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBILL_")}
    env.update(EVBILL_DATABASE_URL=module_database_url, EVBILL_QUEUE_NAME=settings.queue_name,
               EVBILL_QUEUE_URL=settings.queue_url)  # fmt: skip
    worker = subprocess.Popen([str(EVBILL), "worker"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline, run = time.monotonic() + 120, queued
        while run["status"] != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
            run = api.client.get(f"{PREFIX}/billing-runs/{queued['id']}", headers=headers).json()
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
    listed = api.client.get(f"{PREFIX}/billing-runs", headers=headers).json()
    # Then the start answered 202 with the run queued and nothing counted yet
    assert started.status_code == 202, started.text
    assert (queued["status"], queued["counts"]["cycles"], queued["progress"]) == ("queued", 0, "0")
    # And the worker planned and issued both: done, with the hand-computed total
    assert run["status"] == "done"
    assert run["counts"] == {"cycles": 2, "issued": 2, "already_issued": 0, "skipped": 0, "failed": 0,
                             "pending": 0, "uncollected": 0}  # fmt: skip
    assert (run["progress"], run["totals_incl_vat"]) == ("1.0000", {"EUR": "34.93"})
    assert [item["id"] for item in listed["items"]] == [queued["id"]]
    # (paid by bank transfer: nothing charged at issue; the list leaves the charges out)
    assert run["charges"] == {"charged": 0, "charged_amounts": {}, "declined": 0, "declined_amounts": {},
                              "direct_debit": 0}  # fmt: skip
    assert listed["items"][0]["charges"] is None


def test_a_queued_run_charges_the_cards_on_file_on_the_worker_after_the_commit(
    api: Api, module_database_url: str
) -> None:
    # Given two contracts paying by card on file (the sandbox's tok_visa)
    built = build_contracts(
        module_database_url, contracts=2, sessions_per_contract=1, period="2026-10", name="Cards"
    )
    with api.container.engine.begin() as connection:
        connection.execute(
            update(contract_terms)
            .where(contract_terms.c.operator_id == built.operator_id)
            .values(payment_method="CARD_ON_FILE")
        )
    _, key = create_api_key(
        api.container.services, operator_id=built.operator_id, role=Role.ADMIN, name="runs"
    )
    headers = {"Authorization": f"Bearer {key}"}
    for customer in api.client.get(f"{PREFIX}/customers", headers=headers).json()["items"]:
        saved = api.client.put(f"{PREFIX}/customers/{customer['id']}/card-on-file",
                               json={"payment_method": "tok_visa"}, headers=headers)  # fmt: skip
        assert saved.status_code == 200, saved.text
    # When a run is started and a worker works it through (its charge jobs too)
    started = api.client.post(f"{PREFIX}/billing-runs", json={"period": "2026-10"}, headers=headers)
    settings = api.container.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBILL_")}
    env.update(EVBILL_DATABASE_URL=module_database_url, EVBILL_QUEUE_NAME=settings.queue_name,
               EVBILL_QUEUE_URL=settings.queue_url)  # fmt: skip
    worker = subprocess.Popen([str(EVBILL), "worker"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline, run = time.monotonic() + 120, started.json()
        while (run["charges"] or {}).get("charged") != 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            run = api.client.get(f"{PREFIX}/billing-runs/{run['id']}", headers=headers).json()
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
    # Then both invoices were charged their totals (34.93 together) and are paid
    assert run["charges"] == {"charged": 2, "charged_amounts": {"EUR": "34.93"}, "declined": 0,
                              "declined_amounts": {}, "direct_debit": 0}  # fmt: skip
    invoices = api.client.get(f"{PREFIX}/invoices", headers=headers).json()["items"]
    assert sorted(invoice["status"] for invoice in invoices) == ["paid", "paid"]


def test_a_bad_period_is_a_problem_naming_the_field(api: Api) -> None:
    alpha = api.tenant()

    answer = alpha.post("/billing-runs", json={"period": "2026-13"})

    assert answer.status_code == 422
    assert [error["path"] for error in answer.json()["errors"]] == ["$.period"]
