"""The billing run's jobs, as the worker runs them: plan a run, invoice a chunk of contract
cycles (or one), render, and collect the issued invoices (card on file charged after the commit).

Each job acts as the platform for the operator named in its payload and calls one use case of
``application.invoicing.runs``; each is idempotent, so huey's retries and duplicates change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from evbill.application.access.keys import platform_actor
from evbill.application.collection import at_issue
from evbill.application.invoicing import runs
from evbill.bootstrap import Container


def register(container: Container) -> None:
    """Give the container's queue the handlers of the billing jobs."""
    queue = container.queue

    def plan(payload: Mapping[str, str]) -> None:
        who = platform_actor(payload["operator_id"])
        runs.plan_and_enqueue(container.services, who, queue, payload["run_id"])

    def invoice(payload: Mapping[str, str]) -> None:
        runs.invoice_job(container.services, platform_actor(payload["operator_id"]), queue, payload)

    def invoice_chunk(payload: Mapping[str, str]) -> None:
        runs.invoice_chunk_job(container.services, platform_actor(payload["operator_id"]), queue, payload)

    def render(payload: Mapping[str, str]) -> None:
        who = platform_actor(payload["operator_id"])
        runs.render_document(container.services, who, container.documents, payload["document_id"])

    def charge_issued(payload: Mapping[str, str]) -> None:
        who = platform_actor(payload["operator_id"])
        invoices = payload["invoices"].split()
        contracts = payload["contracts"].split() if "contracts" in payload else None
        at_issue.charge_issued(container.services, container.payment_gateway, who, invoices, contracts)

    queue.handlers.update(
        {
            runs.PLAN_JOB: plan,
            runs.INVOICE_JOB: invoice,
            runs.CHUNK_JOB: invoice_chunk,
            runs.RENDER_JOB: render,
            runs.CHARGE_JOB: charge_issued,
        }
    )
