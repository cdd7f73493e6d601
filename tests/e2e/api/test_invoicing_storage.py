"""Invoices stored and numbered: a recorded bill becomes one issued invoice under a gapless number.

The subscriber of test_offers_api (November 2026, Plus 100) is billed 9.99 + 23.75 + 21.80 - 23.40
- 15.60 = 16.54 excl. VAT, VAT 21 % of 16.54 = 3.4734 -> 3.47, 20.01 in all.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from evbill.adapters.documents.cii import write_cii
from evbill.adapters.documents.ubl import write_ubl
from evbill.application.access.keys import platform_actor
from evbill.application.invoicing import documents as invoicing
from evbill.domain.errors import InvalidInput
from evbill.domain.invoicing.documents import DocumentKind, DocumentStatus, Party
from evbill.domain.invoicing.profiles import InvoicingProfile
from tests.e2e.api.test_offers_api import subscriber
from tests.einvoices import cii_problems, ubl_problems

SELLER = Party("Alpha Charging B.V.", "NL", "Parnassusweg 10", "Amsterdam", "1077 DC", "NL123456782B90",
               registration="KvK 12345678", iban="nl91 abna 0417 1643 00")  # fmt: skip


def billed(api, tenant):
    customer, contract, first, second = subscriber(api, tenant)
    bill = tenant.post(f"/contracts/{contract['id']}/bill", json={"cycle_start": "2026-11-01"}).json()
    return bill["id"], contract


def profile(tenant, **fields):
    return InvoicingProfile(tenant.operator_id, SELLER, time_zone="Europe/Amsterdam", **fields)


def test_a_recorded_bill_becomes_one_issued_invoice_with_the_operators_number_and_checked_iban(api):
    alpha = api.tenant()
    services, actor = api.container.services, platform_actor(alpha.operator_id)
    saved = invoicing.save_profile(services, actor, profile(alpha, series="AMS"), ibans=api.container.ibans)
    bill_id, contract = billed(api, alpha)

    invoice = invoicing.invoice_bill(services, actor, bill_id)
    again = invoicing.invoice_bill(services, actor, bill_id)

    assert (saved.seller.iban, saved.seller.bic) == ("NL91ABNA0417164300", "ABNANL2A")
    assert invoice.number.startswith("AMS-")
    assert invoice.number.endswith("-000001")
    assert (again.id, again.number) == (invoice.id, invoice.number)  # billed once, invoiced once
    assert (invoice.kind, invoice.status, invoice.contract_id) == (
        DocumentKind.INVOICE, DocumentStatus.ISSUED, contract["id"],
    )  # fmt: skip
    totals = invoice.composed.totals
    assert (totals.excl_vat_minor, totals.vat_minor, totals.incl_vat_minor) == (1654, 347, 2001)
    assert [line.net_minor for line in invoice.composed.lines] == [999, 2375, 2180, -2340, -1560]
    assert invoice.seller.iban == "NL91ABNA0417164300"
    stored = invoicing.get_document(services, actor, invoice.id)
    assert stored == invoice
    assert cii_problems(write_cii(stored)) == []
    assert ubl_problems(write_ubl(stored)) == []
    with services.uow() as uow:
        assert uow.bills.get(alpha.operator_id, bill_id).invoice_id == invoice.id


def test_a_wrong_iban_or_number_format_is_refused_with_the_field(api):
    alpha = api.tenant()
    services, actor = api.container.services, platform_actor(alpha.operator_id)
    bad_iban = InvoicingProfile(alpha.operator_id, Party("A", "NL", iban="NL91ABNA0417164301"))

    with pytest.raises(InvalidInput) as refused:
        invoicing.save_profile(services, actor, bad_iban, ibans=api.container.ibans)
    with pytest.raises(InvalidInput, match="invalid number format"):
        invoicing.save_profile(
            services, actor, profile(alpha, number_format="{series}-{day}"), ibans=api.container.ibans
        )

    assert [p.path for p in refused.value.problems] == ["$.seller.iban"]


def test_credit_notes_take_their_own_series_reference_the_invoice_and_never_credit_more_than_it(api):
    alpha = api.tenant()
    services, actor = api.container.services, platform_actor(alpha.operator_id)
    invoicing.save_profile(
        services, actor, profile(alpha, number_format="{series}-{number:04d}"), ibans=api.container.ibans
    )
    bill_id, _ = billed(api, alpha)
    invoice = invoicing.invoice_bill(services, actor, bill_id)

    partial = invoicing.credit_document(services, actor, invoice.id, reason="fee waived",
                                        amounts={1: Decimal("4.99")})  # fmt: skip
    with pytest.raises(InvalidInput, match="more than the 5.00 left to credit"):
        invoicing.credit_document(services, actor, invoice.id, reason="again", amounts={1: Decimal("5.01")})
    rest = invoicing.credit_document(services, actor, invoice.id, reason="rest", amounts={1: Decimal("5.00")})

    assert (invoice.number, partial.number, rest.number) == ("INV-0001", "CN-0001", "CN-0002")
    assert (partial.kind, partial.original_id, partial.original_number) == (
        DocumentKind.CREDIT_NOTE, invoice.id, "INV-0001",
    )  # fmt: skip
    assert (partial.composed.totals.excl_vat_minor, partial.composed.totals.vat_minor) == (499, 105)  # 1.0479


def test_a_number_taken_by_a_transaction_that_rolls_back_is_given_again_no_gap(api):
    alpha = api.tenant()
    services = api.container.services
    with services.uow() as uow:
        assert uow.invoices.next_number(alpha.operator_id, "R") == 1
        # no commit: the issue failed after taking its number

    with services.uow() as uow:
        again = uow.invoices.next_number(alpha.operator_id, "R")
        uow.commit()

    assert again == 1


def test_concurrent_issuers_get_every_number_once_without_gap(api):
    """Eight issuers at once, each holding its number a moment before committing; a ninth rolls back.
    Without the counter's row lock, two of them read the same last number."""
    alpha = api.tenant()
    services = api.container.services
    taken: list[int] = []
    start = threading.Barrier(9)

    def issuer(commit: bool) -> None:
        start.wait()
        with services.uow() as uow:
            number = uow.invoices.next_number(alpha.operator_id, "P")
            time.sleep(0.02)  # the window in which a second reader would see the same last number
            if commit:
                uow.commit()
                taken.append(number)

    threads = [threading.Thread(target=issuer, args=(n != 4,)) for n in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(taken) == list(range(1, 9))


def test_a_chunk_takes_its_numbers_in_one_step_and_a_rollback_gives_them_again(api):
    """A billing run's chunk takes consecutive numbers at once (``next_numbers``); single issuers and
    chunks share the counter, and a chunk that rolls back leaves no gap."""
    alpha = api.tenant()
    services = api.container.services
    with services.uow() as uow:
        assert uow.invoices.next_number(alpha.operator_id, "B") == 1
        assert list(uow.invoices.next_numbers(alpha.operator_id, "B", 3)) == [2, 3, 4]
        uow.commit()
    with services.uow() as uow:
        assert list(uow.invoices.next_numbers(alpha.operator_id, "B", 5)) == [5, 6, 7, 8, 9]
        # no commit: the chunk failed after taking its numbers
    with services.uow() as uow:
        again = list(uow.invoices.next_numbers(alpha.operator_id, "B", 2))
        last = uow.invoices.next_number(alpha.operator_id, "B")
        uow.commit()

    assert (again, last) == ([5, 6], 7)
    with services.uow() as uow, pytest.raises(ValueError, match="count"):
        uow.invoices.next_numbers(alpha.operator_id, "B", 0)
