"""The PDF a person is glad to read: the brand, each session in detail with its time of use, the min/max
adjustment explained, signed meter data with how to check it, in English and German; a draft says so."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pypdf import PdfReader

from evbill.adapters.documents.pdf import render_facturx, render_pdf
from evbill.application.invoicing.documents import check_branding
from evbill.domain.invoicing.statement import (
    Branding,
    DocumentView,
    PricedPeriod,
    SessionStatement,
    read_ocmf,
)
from tests.unit.test_einvoices import MIXED

BERLIN = ZoneInfo("Europe/Berlin")
OCMF = (
    'OCMF|{"FV":"1.0","GS":"17619300","RD":[{"TM":"2026-10-03T17:40:00,000+0200 I","TX":"B","RV":1000.5,'
    '"RU":"kWh"},{"TM":"2026-10-03T19:42:00,000+0200 R","TX":"E","RV":1020.5,"RU":"kWh"}]}|{"SD":"3045"}'
)
START = datetime(2026, 10, 3, 17, 40, tzinfo=BERLIN)
PERIODS = (
    PricedPeriod(START, datetime(2026, 10, 3, 18, 0, tzinfo=BERLIN), "ENERGY", Decimal(4210), Decimal("0.39"),
                 Decimal("1.6419"), Decimal(21), ("local time 17:40 is within 07:00-18:00",)),
    PricedPeriod(datetime(2026, 10, 3, 18, 0, tzinfo=BERLIN), datetime(2026, 10, 3, 19, 15, tzinfo=BERLIN),
                 "ENERGY", Decimal(15790), Decimal("0.49"), Decimal("7.7371"), Decimal(21),
                 ("local time 18:00 is within 18:00-22:00",)),
    PricedPeriod(datetime(2026, 10, 3, 19, 15, tzinfo=BERLIN), datetime(2026, 10, 3, 19, 42, tzinfo=BERLIN),
                 "PARKING_TIME", Decimal(1620), Decimal("6.00"), Decimal("2.70"), Decimal(21),
                 ("no restrictions",)),
)  # fmt: skip
# 4.21 kWh x 0.39 = 1.6419; 15.79 kWh x 0.49 = 7.7371; 27 min x 6.00/h = 2.70; + 0.50 minimum: 12.5790
SESSION = SessionStatement(
    "s1", "Alexanderplatz P2, Alexanderplatz 1, 10178, Berlin", "DE*BCH*E0001*1", "Europe/Berlin", START,
    datetime(2026, 10, 3, 19, 42, tzinfo=BERLIN), Decimal(20000), 95 * 60, 27 * 60, Decimal("12.5790"),
    Decimal("15.22059"), PERIODS, (), (("MIN_PRICE", Decimal("0.50")),), "Business 300 plan",
    (read_ocmf(OCMF),),
)  # fmt: skip


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def logo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 40), (142, 36, 170)).save(out, format="PNG")
    return out.getvalue()


def test_each_session_shows_place_times_energy_periods_with_time_of_use_and_the_adjustment_explained():
    view = DocumentView(MIXED, (SESSION,), Branding("Berlin Charge", logo(), "#8E24AA"))

    text = text_of(render_pdf(MIXED, view))

    assert "Berlin Charge" in text
    assert "3 Oct 2026 17:40–19:42 · Alexanderplatz P2, Alexanderplatz 1, 10178, Berlin" in text
    assert "EVSE DE*BCH*E0001*1 · Energy 20.000 kWh · Charging 1 h 35 min · Idle 27 min" in text
    assert "17:40–18:00 Energy 4.210 kWh €0.39/kWh €1.6419 local time 17:40 is within 07:00-18:00" in text
    assert "19:15–19:42 Idle time 27 min €6.00/h €2.70" in text
    assert "Minimum price adjustment +€0.50: the session cost less than the tariff's minimum price" in text
    assert "Signed meter data (OCMF) · Meter 17619300 · Start 1000.5 kWh" in text
    assert "transparency software" in text
    assert text.index("Amount due") < text.index("Charging sessions in detail")  # totals first


def test_the_german_document_speaks_german_with_german_numbers():
    document = replace(MIXED, language="de")

    text = text_of(render_pdf(document, DocumentView(document, (SESSION,))))

    assert "03.10.2026 17:40–19:42" in text
    assert "Ladepunkt DE*BCH*E0001*1 · Energie 20,000 kWh · Laden 1 Std. 35 Min. · Standzeit 27 Min." in text
    assert "17:40–18:00 Energie 4,210 kWh 0,39 €/kWh 1,6419 €" in text
    assert "Ausgleich auf Mindestpreis +0,50 €" in text
    assert "Prüfung der signierten Messwerte (Eichrecht)" in text


def test_a_draft_says_draft_and_has_no_number():
    draft = replace(MIXED, number=None, issue_date=None, due_date=None, status=MIXED.status.DRAFT)

    text = text_of(render_pdf(draft, DocumentView(draft, (), None, draft=True)))

    assert "Draft Invoice (not issued, no number)" in text
    assert "Do not pay." in text
    assert "DRAFT" in text


def test_the_facturx_pdf_with_sessions_still_carries_the_same_xml():
    import facturx

    from evbill.adapters.documents.cii import write_cii

    name, xml = facturx.get_facturx_xml_from_pdf(render_facturx(MIXED, DocumentView(MIXED, (SESSION,))))

    assert (name, xml) == ("factur-x.xml", write_cii(MIXED))


def test_an_unreadable_ocmf_record_keeps_its_text_and_reads_nothing_else():
    assert read_ocmf("OCMF|{not json|{}") == read_ocmf("OCMF|{not json|{}")
    assert read_ocmf("OCMF|{not json|{}").meter is None
    assert read_ocmf("garbage").format == "signed meter value"


@pytest.mark.parametrize(
    ("logo_text", "colour", "paths"),
    [
        (base64.b64encode(logo()).decode(), "#8E24AA", []),
        ("bm90IGFuIGltYWdl", "#8E24AA", ["$.logo"]),  # "not an image"
        ("%%%", "purple", ["$.accent_colour", "$.logo"]),
    ],
)
def test_the_brand_is_a_png_or_jpeg_and_a_hex_colour(logo_text, colour, paths):
    assert [problem.path for problem in check_branding(logo_text, colour)] == paths


def test_a_document_written_with_cut_fonts_from_the_cache_reads_exactly_as_the_first():
    view = DocumentView(MIXED, (SESSION,))
    first = render_pdf(MIXED, view)  # cuts (or finds) the fonts' glyph subsets
    second = render_pdf(MIXED, view)  # finds them

    assert text_of(second) == text_of(first)
    assert "€1.6419" in text_of(second)
