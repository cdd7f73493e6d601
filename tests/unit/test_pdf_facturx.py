"""Factur-X written by the renderer in one pass holds what the factur-x package's second pypdf pass writes:
the XML as an associated file (Data), the Factur-X XMP extension schema with the EN 16931 level, PDF/A-3B
identification, the sRGB output intent, every font embedded, and the same pages a person reads."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace

import facturx
from lxml import etree
from pypdf import PdfReader

from evbill.adapters.documents.cii import write_cii
from evbill.adapters.documents.pdf import render_facturx, render_pdf
from evbill.domain.invoicing.statement import DocumentView
from tests.unit.test_einvoices import CREDIT_PARTIAL, MIXED
from tests.unit.test_pdf_statements import SESSION

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
FACTS = ("pdfaid", "fx", "pdfaSchema", "pdfaProperty")  # the XMP prefixes Factur-X readers check


def catalog(pdf: bytes):
    return PdfReader(io.BytesIO(pdf)).trailer["/Root"]


def xmp(pdf: bytes) -> etree._Element:
    return etree.fromstring(catalog(pdf)["/Metadata"].get_object().get_data())


def xmp_facts(pdf: bytes) -> list[tuple[str, str]]:
    """(prefix:name, text) of every leaf in the PDF/A identification and the Factur-X schemas, in order."""
    root = xmp(pdf)
    return [
        (f"{element.prefix}:{etree.QName(element).localname}", (element.text or "").strip())
        for element in root.iter()
        if isinstance(element.tag, str) and element.prefix in FACTS and len(element) == 0
    ]


def associated_files(pdf: bytes) -> list[dict[str, object]]:
    files = []
    for reference in catalog(pdf)["/AF"]:
        spec = reference.get_object()
        stream = spec["/EF"]["/F"].get_object()
        params = stream["/Params"]
        files.append({
            "name": (spec["/F"], spec["/UF"]), "relationship": spec["/AFRelationship"], "desc": spec["/Desc"],
            "type": (stream["/Type"], stream["/Subtype"]), "size": params["/Size"],
            "checksum": params["/CheckSum"].original_bytes, "data": stream.get_data(),
        })  # fmt: skip
    return files


def by_the_package(document, view=None) -> bytes:
    """What the factur-x package makes of the renderer's PDF: the reference for its guarantees."""
    pdf, xml = render_pdf(document, view), write_cii(document)
    return bytes(facturx.generate_from_binary(pdf, xml, flavor="factur-x", level="en16931"))


def test_the_facturx_reader_finds_the_xml_valid_against_its_own_xsd_at_the_en16931_level():
    pdf = render_facturx(MIXED)
    name, xml = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=True)

    assert (name, xml) == ("factur-x.xml", write_cii(MIXED))
    assert facturx.get_level(etree.fromstring(xml), "factur-x") == "en16931"
    facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")  # raises if invalid


def test_the_xml_is_an_associated_file_with_relationship_data_as_the_package_embeds_it():
    xml = write_cii(MIXED)
    ours, theirs = associated_files(render_facturx(MIXED)), associated_files(by_the_package(MIXED))

    assert ours == theirs == [{
        "name": ("factur-x.xml", "factur-x.xml"), "relationship": "/Data", "desc": "Factur-X XML file",
        "type": ("/EmbeddedFile", "/text/xml"), "size": len(xml), "checksum": hashlib.md5(xml).digest(),
        "data": xml,
    }]  # fmt: skip
    root = catalog(render_facturx(MIXED))
    assert root["/Names"]["/EmbeddedFiles"]["/Names"][0] == "factur-x.xml"
    assert root["/PageMode"] == "/UseAttachments"


def test_the_xmp_says_pdfa_3b_and_carries_the_facturx_extension_schema_exactly_as_the_package_writes_it():
    ours = xmp_facts(render_facturx(MIXED))

    assert ours == xmp_facts(by_the_package(MIXED))
    assert ("pdfaid:part", "3") in ours
    assert ("pdfaid:conformance", "B") in ours
    assert ("fx:ConformanceLevel", "EN 16931") in ours
    assert ("fx:DocumentFileName", "factur-x.xml") in ours
    assert ("fx:DocumentType", "INVOICE") in ours
    assert ("pdfaSchema:namespaceURI", "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#") in ours


def test_the_document_information_says_what_the_xmp_says():
    pdf = render_facturx(CREDIT_PARTIAL)
    info = PdfReader(io.BytesIO(pdf)).metadata
    root = xmp(pdf)

    def one(tag: str) -> str:
        return next(root.iter(tag)).xpath("string()").strip()

    assert info["/Title"] == one("{http://purl.org/dc/elements/1.1/}title")
    assert info["/Title"] == f"{CREDIT_PARTIAL.seller.name}: Refund {CREDIT_PARTIAL.number}"
    assert info["/Author"] == one("{http://purl.org/dc/elements/1.1/}creator")
    assert info["/Subject"] == one("{http://purl.org/dc/elements/1.1/}description")
    assert info["/Keywords"] == one("{http://ns.adobe.com/pdf/1.3/}Keywords") == "Refund, Factur-X"
    assert info["/Producer"] == one("{http://ns.adobe.com/pdf/1.3/}Producer")
    assert info["/Creator"] == one("{http://ns.adobe.com/xap/1.0/}CreatorTool")
    created = one("{http://ns.adobe.com/xap/1.0/}CreateDate")  # 2026-12-03T12:34:29+00:00
    digits = "".join(character for character in created[:19] if character.isdigit())
    assert info["/CreationDate"] == info["/ModDate"] == f"D:{digits}Z"
    assert all(element.get(f"{RDF}about") == "" for element in root.iter(f"{RDF}Description"))


def test_the_srgb_output_intent_and_every_font_are_embedded():
    pdf = render_facturx(MIXED, DocumentView(MIXED, (SESSION,)))
    intent = catalog(pdf)["/OutputIntents"][0].get_object()
    profile = intent["/DestOutputProfile"].get_object()

    assert (intent["/S"], intent["/OutputConditionIdentifier"]) == ("/GTS_PDFA1", "sRGB")
    assert profile["/N"] == 3
    assert profile.get_data()[36:40] == b"acsp"  # an ICC profile
    fonts = [font.get_object() for page in PdfReader(io.BytesIO(pdf)).pages
             for font in page["/Resources"]["/Font"].values()]  # fmt: skip
    assert fonts
    for font in fonts:
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert descriptor["/FontFile2"].get_object().get_data()


def test_the_pages_are_those_of_the_plain_pdf():
    view = DocumentView(replace(MIXED, language="de"), (SESSION,))

    def pages(pdf: bytes) -> list[bytes]:
        return [page.get_contents().get_data() for page in PdfReader(io.BytesIO(pdf)).pages]

    assert pages(render_facturx(view.document, view)) == pages(render_pdf(view.document, view))
