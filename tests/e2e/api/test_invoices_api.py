"""/api/v1/invoices: documents read, downloaded, credited, voided; session receipts; the draft preview.

The subscriber of test_offers_api (November 2026, Plus 100) is invoiced 9.99 + 23.75 + 21.80 - 23.40
- 15.60 = 16.54 excl. VAT, VAT 21 % of 16.54 = 3.4734 -> 3.47, 20.01 in all (lines 1-5 in that order).
"""

from __future__ import annotations

import base64
import io
import threading
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import facturx
from PIL import Image
from pypdf import PdfReader

from evbill.adapters.db.charging.tables import session_evidence
from evbill.application.access.keys import platform_actor
from evbill.application.invoicing import documents as invoicing
from evbill.application.invoicing.preview import preview_invoice
from evbill.application.invoicing.receipts import issue_session_receipt
from evbill.domain.access.operators import Role
from tests.e2e.api.conftest import SIMPLE_TARIFF, make_site
from tests.e2e.api.test_invoicing_storage import billed, profile
from tests.e2e.api.test_offers_api import record, subscriber
from tests.einvoices import cii_problems, ubl_problems

OCMF = (
    'OCMF|{"FV":"1.0","GI":"KEBA_KCP30","GS":"17619300","GV":"2.8.5","PG":"T32","RD":[{"TM":'
    '"2026-11-20T09:00:00,000+0000 I","TX":"B","RV":1000.0,"RI":"1-b:1.8.0","RU":"kWh"},{"TM":'
    '"2026-11-20T10:00:00,000+0000 R","TX":"E","RV":1010.0,"RI":"1-b:1.8.0","RU":"kWh"}]}|{"SD":"3045"}'
)


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def issued_invoice(api, tenant):
    services, actor = api.container.services, platform_actor(tenant.operator_id)
    invoicing.save_profile(services, actor, profile(tenant, series="AMS"), ibans=api.container.ibans)
    bill_id, contract = billed(api, tenant)
    return invoicing.invoice_bill(services, actor, bill_id), contract


def test_an_issued_invoice_is_listed_read_and_downloaded_as_valid_pdf_ubl_and_cii(api):
    alpha = api.tenant()
    invoice, contract = issued_invoice(api, alpha)

    listed = alpha.get("/invoices", params={"period": "2026-11", "kind": "invoice", "status": "issued"})
    other_month = alpha.get("/invoices", params={"period": "2026-10"})
    other_contract = alpha.get("/invoices", params={"contract_id": api.container.services.ids.new_id()})
    read = alpha.get(f"/invoices/{invoice.id}")
    pdf, ubl, cii = (alpha.get(f"/invoices/{invoice.id}/{kind}") for kind in ("pdf", "ubl", "cii"))

    assert [item["id"] for item in listed.json()["items"]] == [invoice.id]
    assert other_month.json()["items"] == other_contract.json()["items"] == []
    body = read.json()
    assert (body["number"], body["kind"], body["status"], body["contract_id"], body["draft"]) == (
        invoice.number, "invoice", "issued", contract["id"], False,
    )  # fmt: skip
    assert body["totals"] == {"excl_vat": "16.54", "vat": "3.47", "incl_vat": "20.01", "prepaid": "0.00",
                              "payable": "20.01"}  # fmt: skip
    assert [line["net"] for line in body["lines"]] == ["9.99", "23.75", "21.80", "-23.40", "-15.60"]
    assert read.headers["etag"]
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert ubl.headers["content-type"] == "application/xml"
    assert ubl.headers["content-disposition"] == f'attachment; filename="{invoice.number}.ubl.xml"'
    assert cii.headers["content-disposition"] == f'attachment; filename="{invoice.number}.cii.xml"'
    assert ubl_problems(ubl.content) == []
    assert cii_problems(cii.content) == []
    name, embedded = facturx.get_facturx_xml_from_pdf(pdf.content)
    assert (name, embedded) == ("factur-x.xml", cii.content)
    text = text_of(pdf.content)
    assert "Charging sessions in detail" in text
    assert "Energy 60,000 kWh" in text  # the first session in detail (Dutch customer: Dutch numbers)


def test_a_partial_then_a_full_credit_note_reference_the_invoice_and_never_credit_more(api):
    alpha = api.tenant()
    invoice, _ = issued_invoice(api, alpha)

    # the plan fee (line 1, 9.99 excl. VAT) waived: 9.99 + 21 % = 9.99 + 2.0979 -> 2.10 = 12.09
    partial = alpha.post(f"/invoices/{invoice.id}/credit-notes",
                         json={"reason": "fee waived", "lines": [{"line": 1, "amount": "9.99"}]})  # fmt: skip
    too_much = alpha.post(f"/invoices/{invoice.id}/credit-notes",
                          json={"reason": "again", "lines": [{"line": 1, "amount": "0.01"}]})  # fmt: skip
    # the rest: 16.54 - 9.99 = 6.55 and the VAT that is left, 3.47 - 2.10 = 1.37 (6.55 x 21 % would
    # round to 1.38: the two notes would credit 20.02 of a 20.01 invoice), 7.92 in all
    rest = alpha.post(f"/invoices/{invoice.id}/credit-notes", json={"reason": "goodwill"})
    no_reason = alpha.post(f"/invoices/{invoice.id}/credit-notes", json={"reason": ""})

    assert partial.status_code == 201, partial.text
    note = partial.json()
    assert (note["kind"], note["original_id"], note["original_number"], note["reason"]) == (
        "credit_note", invoice.id, invoice.number, "fee waived",
    )  # fmt: skip
    assert (note["totals"]["excl_vat"], note["totals"]["vat"], note["totals"]["incl_vat"]) == (
        "9.99", "2.10", "12.09",
    )  # fmt: skip
    assert too_much.status_code == 422
    assert [error["path"] for error in too_much.json()["errors"]] == ["$.lines[0].amount"]  # the array index
    assert rest.status_code == 201, rest.text
    assert (rest.json()["totals"]["excl_vat"], rest.json()["totals"]["incl_vat"]) == ("6.55", "7.92")
    assert no_reason.status_code == 422
    ubl = alpha.get(f"/invoices/{note['id']}/ubl")
    assert b"<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>" in ubl.content
    assert ubl_problems(ubl.content, credit_note=True) == []
    assert cii_problems(alpha.get(f"/invoices/{note['id']}/cii").content) == []
    rest_ubl = alpha.get(f"/invoices/{rest.json()['id']}/ubl").content
    assert ubl_problems(rest_ubl, credit_note=True) == []  # 1.37 on 6.55: within EN 16931's tolerance
    assert cii_problems(alpha.get(f"/invoices/{rest.json()['id']}/cii").content) == []
    kinds = [item["kind"] for item in alpha.get("/invoices").json()["items"]]
    assert sorted(kinds) == ["credit_note", "credit_note", "invoice"]


def test_an_unpaid_invoice_is_voided_once_and_a_paid_one_is_not(api):
    alpha = api.tenant()
    invoice, _ = issued_invoice(api, alpha)
    bravo = api.tenant("Bravo")
    paid, _ = issued_invoice(api, bravo)
    invoicing.record_payment(api.container.services, platform_actor(bravo.operator_id), paid.id, 100)

    voided = alpha.post(f"/invoices/{invoice.id}/void", json={"reason": "wrong customer"})
    again = alpha.post(f"/invoices/{invoice.id}/void", json={"reason": "wrong customer"})
    partly_paid = bravo.post(f"/invoices/{paid.id}/void", json={"reason": "no"})
    read_only = alpha.with_role(Role.READ_ONLY).post(f"/invoices/{invoice.id}/void", json={"reason": "x"})

    assert voided.status_code == 200, voided.text
    assert (voided.json()["status"], voided.json()["reason"]) == ("void", "wrong customer")
    assert again.status_code == 409
    assert partly_paid.status_code == 409
    assert read_only.status_code == 403


def _ad_hoc_session(api, tenant, *, signed=True, seller=True):
    """An ad-hoc (no token) session on 20 November 2026, 10 kWh in an hour at 0.35 + 0.39 per kWh:
    0.35 + 3.90 = 4.25 excl. VAT, with its evidence as the OCPP system stores it. ``seller``: the
    operator's invoicing profile (its legal data) is saved first."""
    services, actor = api.container.services, platform_actor(tenant.operator_id)
    if seller:
        invoicing.save_profile(services, actor, profile(tenant), ibans=api.container.ibans)
    site = make_site(tenant)
    tariff = tenant.created("/tariffs", SIMPLE_TARIFF)
    tenant.created("/tariff-assignments", {"tariff_id": tariff["id"], "scope": "operator"})
    session = record(api, tenant, site, None, "2026-11-20T09:00:00+00:00", 60, 10)
    explanation = {
        "tariff_id": tariff["id"], "currency": "EUR", "time_zone": "Europe/Amsterdam",
        "lines": [
            {"period_index": 0, "period_start": "2026-11-20T09:00:00+00:00",
             "period_end": "2026-11-20T10:00:00+00:00", "phase": "SESSION", "dimension": "ENERGY",
             "element_index": 0, "why": ["local time 10:00 is within 08:00-20:00"], "passed_over": [],
             "volume": "10000", "billed_volume": "10000", "unit": "Wh", "step_size": 1, "price": "0.39",
             "vat": "21", "excl_vat": "3.90", "incl_vat": "4.719"},
        ],
        "free": [], "adjustments": [], "notes": [],
    }  # fmt: skip
    details = {"stop_reason": "Local", "signed_meter_values": [OCMF] if signed else [],
               "explanation": explanation, "anomalies": []}  # fmt: skip
    with api.container.engine.begin() as connection:
        connection.execute(
            session_evidence.insert().values(
                session_id=session.id, operator_id=tenant.operator_id, start_key=None, details=details
            )
        )
    return session


def test_a_closed_ad_hoc_session_gets_one_receipt_listed_with_the_invoices(api):
    alpha = api.tenant()
    session = _ad_hoc_session(api, alpha)

    first = alpha.post(f"/sessions/{session.id}/receipt")
    again = alpha.post(f"/sessions/{session.id}/receipt")
    receipts = alpha.get("/invoices", params={"kind": "receipt"}).json()["items"]

    assert first.status_code == 200, first.text
    receipt = first.json()
    assert again.json()["id"] == receipt["id"]
    assert [item["id"] for item in receipts] == [receipt["id"]]
    assert (receipt["kind"], receipt["status"], receipt["number"]) == ("receipt", "issued", "RCP-2026-000001")
    # 4.25 excl. VAT, 21 %: 0.8925 -> 0.89, 5.14 in all
    assert (receipt["totals"]["excl_vat"], receipt["totals"]["vat"], receipt["totals"]["incl_vat"]) == (
        "4.25", "0.89", "5.14",
    )  # fmt: skip
    assert [line["session_id"] for line in receipt["lines"]] == [session.id]
    assert ubl_problems(alpha.get(f"/invoices/{receipt['id']}/ubl").content) == []
    pdf = alpha.get(f"/invoices/{receipt['id']}/pdf")
    text = text_of(pdf.content)
    assert "Receipt RCP-2026-000001" in text
    assert "Paid €5.14" in text
    assert "Amsterdam Zuid P1" in text
    assert "local time 10:00 is within 08:00-20:00" in text  # the time of use, visible
    assert "Signed meter data (OCMF) · Meter 17619300" in text
    assert "transparency software" in text
    assert cii_problems(facturx.get_facturx_xml_from_pdf(pdf.content)[1]) == []


SELLER_BODY = {
    "seller": {"name": "Alpha Charging B.V.", "country": "NL", "address": "Parnassusweg 10",
               "city": "Amsterdam", "postal_code": "1077 DC", "vat_id": "NL123456782B90"},
    "time_zone": "Europe/Amsterdam",
}  # fmt: skip


def test_without_the_sellers_legal_data_nothing_is_issued_and_the_error_names_each_field(api):
    # Given an operator that never saved its invoicing profile, and an ad hoc session to receipt
    alpha = api.tenant()
    session = _ad_hoc_session(api, alpha, seller=False)
    # When the receipt is asked for, then the profile is saved and it is asked for again
    before = alpha.get("/invoicing-profile").json()
    refused = alpha.post(f"/sessions/{session.id}/receipt")
    listed = alpha.get("/invoices").json()["items"]
    saved = alpha.put("/invoicing-profile", json=SELLER_BODY, headers={"If-Match": '"0"'})
    issued = alpha.post(f"/sessions/{session.id}/receipt")
    # And the VAT id is dropped from the profile before a credit note is asked for
    no_vat_id = {**SELLER_BODY, "seller": {**SELLER_BODY["seller"], "vat_id": None}}
    without_vat = alpha.put("/invoicing-profile", json=no_vat_id, headers={"If-Match": saved.headers["etag"]})
    credit = alpha.post(f"/invoices/{issued.json()['id']}/credit-notes", json={"reason": "goodwill"})

    # Then the profile said it was incomplete, and what it lacks
    assert (before["complete"], [m["path"] for m in before["missing"]]) == (
        False, ["$.seller.address", "$.seller.city", "$.seller.postal_code", "$.seller.vat_id"],
    )  # fmt: skip
    # And the receipt was refused (422) naming each field, with the way out; nothing was stored
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [error["path"] for error in refused.json()["errors"]] == [
        "$.seller.address", "$.seller.city", "$.seller.postal_code", "$.seller.vat_id",
    ]  # fmt: skip
    assert refused.json()["detail"].endswith(
        "save the seller's legal data with PUT /api/v1/invoicing-profile"
    )
    assert listed == []
    # And once saved the profile is complete and the receipt takes the series' first number
    assert (saved.json()["complete"], saved.json()["missing"]) == (True, [])
    assert issued.status_code == 200, issued.text
    assert issued.json()["number"] == "RCP-2026-000001"
    document_id = issued.json()["id"]
    assert ubl_problems(alpha.get(f"/invoices/{document_id}/ubl").content) == []
    assert cii_problems(alpha.get(f"/invoices/{document_id}/cii").content) == []
    # And without the VAT id no credit note is issued either
    assert without_vat.json()["missing"] == [
        {
            "path": "$.seller.vat_id",
            "message": "the seller's VAT id is required to charge VAT (BR-S-02, BR-CO-26)",
        }
    ]
    assert credit.status_code == 422, credit.text
    assert [error["path"] for error in credit.json()["errors"]] == ["$.seller.vat_id"]


def test_a_session_of_a_contract_or_unknown_gets_no_receipt(api):
    alpha = api.tenant()
    _, _, first, _ = subscriber(api, alpha)

    contracted = alpha.post(f"/sessions/{first.id}/receipt")
    unknown = alpha.post(f"/sessions/{api.container.services.ids.new_id()}/receipt")

    assert contracted.status_code == 409
    assert "contract's invoice" in contracted.json()["detail"]
    assert unknown.status_code == 404
    assert alpha.get("/invoices").json()["items"] == []


def test_the_preview_is_the_current_cycles_invoice_as_an_unnumbered_draft_and_stores_nothing(api):
    alpha = api.tenant()
    customer, contract, _, _ = subscriber(api, alpha)
    services, actor = api.container.services, platform_actor(alpha.operator_id)

    view = preview_invoice(services, actor, contract["id"], today=date(2026, 11, 20))
    json_preview = alpha.get(f"/contracts/{contract['id']}/invoice-preview")
    pdf_preview = alpha.get(f"/contracts/{contract['id']}/invoice-preview", params={"format": "pdf"})

    draft = view.document
    assert (draft.number, draft.status.value, view.draft) == (None, "draft", True)
    totals = draft.composed.totals
    assert (totals.excl_vat_minor, totals.vat_minor, totals.incl_vat_minor) == (1654, 347, 2001)
    assert [statement.energy_wh for statement in view.sessions] == [60000, 55000]
    assert json_preview.status_code == 200, json_preview.text
    assert (json_preview.json()["number"], json_preview.json()["draft"]) == (None, True)
    assert pdf_preview.headers["content-type"] == "application/pdf"
    assert "DRAFT" in text_of(pdf_preview.content)
    assert alpha.get("/invoices").json()["items"] == []
    with services.uow() as uow:
        assert uow.bills.of_contract(alpha.operator_id, contract["id"]) == []


def test_the_preview_of_an_unknown_contract_is_not_found(api):
    alpha = api.tenant()

    answer = alpha.get(f"/contracts/{api.container.services.ids.new_id()}/invoice-preview")

    assert answer.status_code == 404
    assert datetime.now().year >= 2026  # noqa: DTZ005  (the clock is real here)


def test_concurrent_receipt_requests_make_one_receipt_and_take_one_number(api):
    alpha = api.tenant()
    session = _ad_hoc_session(api, alpha, signed=False)
    other = record(api, alpha, make_site(alpha), None, "2026-11-21T09:00:00+00:00", 60, 10)
    services, actor = api.container.services, platform_actor(alpha.operator_id)
    results, errors = [], []

    def ask():
        try:
            results.append(issue_session_receipt(services, actor, session.id))
        except Exception as error:  # noqa: BLE001  (collected, asserted below)
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    next_one = issue_session_receipt(services, actor, other.id)

    assert errors == []
    assert {receipt.id for receipt in results} == {results[0].id}
    assert results[0].number == "RCP-2026-000001"
    assert next_one.number == "RCP-2026-000002"  # no number was lost to the requests that lost the race
    assert len(alpha.get("/invoices", params={"kind": "receipt"}).json()["items"]) == 2


def _png() -> str:
    out = io.BytesIO()
    Image.new("RGB", (90, 30), (46, 125, 50)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_the_invoicing_profile_sets_the_brand_on_the_operators_documents_and_no_one_elses(api):
    alpha, bravo = api.tenant(), api.tenant("Bravo")
    body = {
        "seller": {"name": "Alpha Charging B.V.", "country": "NL", "address": "Parnassusweg 10",
                   "city": "Amsterdam", "postal_code": "1077 DC", "vat_id": "NL123456782B90",
                   "iban": "nl91 abna 0417 1643 00"},
        "series": "AMS", "time_zone": "Europe/Amsterdam", "logo": _png(), "accent_colour": "#2E7D32",
    }  # fmt: skip

    first = {"If-Match": '"0"'}  # the GET's ETag before the first save
    saved = alpha.put("/invoicing-profile", json=body, headers=first)
    bad = alpha.put("/invoicing-profile", json={**body, "accent_colour": "green", "logo": "bm90IGFuIGltYWdl"},
                    headers={"If-Match": '"1"'})  # fmt: skip
    bad_iban = alpha.put("/invoicing-profile", json={**body, "seller": {**body["seller"], "iban": "NL00X"}},
                         headers={"If-Match": '"1"'})  # fmt: skip
    read_only = alpha.with_role(Role.READ_ONLY).put(
        "/invoicing-profile", json=body, headers={"If-Match": '"1"'}
    )
    session = _ad_hoc_session(api, bravo)  # Bravo's own profile (saved in the helper), not Alpha's brand

    assert saved.status_code == 200, saved.text
    assert (saved.json()["seller"]["iban"], saved.json()["seller"]["bic"]) == (
        "NL91ABNA0417164300",
        "ABNANL2A",
    )
    assert alpha.get("/invoicing-profile").json() == saved.json()
    assert bravo.get("/invoicing-profile").json()["logo"] is None
    assert [error["path"] for error in bad.json()["errors"]] == ["$.accent_colour", "$.logo"]
    assert [error["path"] for error in bad_iban.json()["errors"]] == ["$.seller.iban"]
    assert read_only.status_code == 403
    invoice, _ = issued_invoice_keeping_profile(api, alpha)
    alphas = alpha.get(f"/invoices/{invoice.id}/pdf").content
    receipt = bravo.post(f"/sessions/{session.id}/receipt").json()
    bravos = bravo.get(f"/invoices/{receipt['id']}/pdf").content
    assert b"/Subtype /Image" in alphas
    assert b"/Subtype /Image" not in bravos
    assert "Alpha Charging B.V." in text_of(alphas)


def issued_invoice_keeping_profile(api, tenant):
    bill_id, contract = billed(api, tenant)
    return invoicing.invoice_bill(
        api.container.services, platform_actor(tenant.operator_id), bill_id
    ), contract


def test_the_invoicing_profile_is_changed_with_if_match_and_keeps_numbers_unambiguous(api):
    """Tester finding 12: PUT needs If-Match (428 without, 412 stale), GET gives the ETag; the series
    differ and the number format names {series} and {number} (each series counts on its own, never reset)."""
    alpha = api.tenant()
    body = {"seller": {"name": "Alpha Charging B.V.", "country": "NL"}, "series": "AMS"}

    before = alpha.get("/invoicing-profile")
    without = alpha.put("/invoicing-profile", json=body)
    saved = alpha.put("/invoicing-profile", json=body, headers={"If-Match": before.headers["etag"]})
    stale = alpha.put("/invoicing-profile", json={**body, "series": "AMX"}, headers={"If-Match": '"0"'})
    again = alpha.put("/invoicing-profile", json={**body, "series": "AMX"}, headers={"If-Match": '"1"'})
    same_series = alpha.put(
        "/invoicing-profile", json={**body, "credit_series": "AMS", "receipt_series": "AMS"},
        headers={"If-Match": '"2"'},
    )  # fmt: skip
    no_series = alpha.put(
        "/invoicing-profile", json={**body, "number_format": "{number}"}, headers={"If-Match": '"2"'}
    )

    assert before.headers["etag"] == '"0"'
    assert (without.status_code, without.json()["code"]) == (428, "precondition_required")
    assert (saved.status_code, saved.headers["etag"]) == (200, '"1"')
    assert stale.status_code == 412
    assert (again.status_code, again.headers["etag"], again.json()["series"]) == (200, '"2"', "AMX")
    assert alpha.get("/invoicing-profile").headers["etag"] == '"2"'
    assert (same_series.status_code, [e["path"] for e in same_series.json()["errors"]]) == (
        422,
        ["$.credit_series", "$.receipt_series"],
    )
    assert (no_series.status_code, [e["path"] for e in no_series.json()["errors"]]) == (
        422,
        ["$.number_format"],
    )
    assert "use {series} too" in no_series.json()["errors"][0]["message"]
    assert alpha.get("/invoicing-profile").json()["series"] == "AMX"


def test_a_session_closed_without_a_price_breakdown_never_blocks_its_contracts_bill(api):
    # Given the subscriber's two sessions and a third one stored without a price breakdown, as a stuck
    # session closed by an operator was before such sessions were rated (0 Wh, nothing to bill)
    alpha = api.tenant()
    _, contract, first, _ = subscriber(api, alpha)
    site_session = record(api, alpha, make_site(alpha), "JAN-1", "2026-11-12T09:00:00+00:00", 30, 0)
    services = api.container.services
    legacy = replace(
        site_session, energy_wh=Decimal(0), parts=(), total_excl_vat=Decimal(0), total_incl_vat=Decimal(0),
        total_excl_vat_minor=0, total_incl_vat_minor=0,
    )  # fmt: skip
    with services.uow() as uow:
        uow.live_sessions.close(legacy, details={})
        uow.commit()
    # Then the preview and the bill are made, 20.01 as without it; the bill says why it is left out
    preview = alpha.get(f"/contracts/{contract['id']}/invoice-preview")
    assert preview.status_code == 200, preview.text
    actor = platform_actor(alpha.operator_id)
    view = preview_invoice(services, actor, contract["id"], today=date(2026, 11, 20))
    totals = view.document.composed.totals
    assert (totals.excl_vat_minor, totals.vat_minor, totals.incl_vat_minor) == (1654, 347, 2001)
    bill = alpha.get(f"/contracts/{contract['id']}/bill", params={"cycle_start": "2026-11-01"})
    assert bill.status_code == 200, bill.text
    assert bill.json()["notes"] == [
        f"session {legacy.id} of 2026-11-12 09:00 UTC is not billed: it has no price breakdown"
        " (closed without one); re-rate it to bill it"
    ]
