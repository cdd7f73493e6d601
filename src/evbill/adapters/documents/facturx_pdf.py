"""Factur-X written by the renderer itself: the CII XML embedded and the XMP metadata set in fpdf2's one pass.

A Factur-X invoice is a PDF/A-3 whose catalog names ``factur-x.xml`` as an associated file (AFRelationship
Data) and whose XMP metadata declares PDF/A-3B and carries the Factur-X extension schema with the profile
(``EN 16931``). The ``factur-x`` package adds both to a finished PDF by copying it object by object with
pypdf, a third of the cost of a document; fpdf2 writes the same objects while it writes the page, so the
copy is not needed. What the package writes is kept: the embedded file (flate-compressed, MIME text/xml,
its MD5 checksum, size and modification date, "Factur-X XML file"), the catalog's /AF and
/EmbeddedFiles, /PageMode /UseAttachments, the document information (title, author, subject and keywords
built from the invoice as the package builds them from the XML) and an XMP packet with the same
properties. The output intent (sRGB ICC profile) and the embedded fonts are fpdf2's PDF/A-3B output as
before. Two things go beyond the package: each rdf:Description says rdf:about="" and the XMP repeats the
keywords and producer of the information dictionary, as PDF/A asks of every entry the two share.

    >>> packet = xmp_packet(title="A & B: Invoice 1", author="A & B", subject="Invoice 1 issued by A & B",
    ...                     keywords="Invoice, Factur-X", producer="fpdf2", creator="evbill",
    ...                     moment="2026-11-01T08:00:00+00:00")
    >>> print(packet.splitlines()[7].strip())
    <dc:title><rdf:Alt><rdf:li xml:lang="x-default">A &amp; B: Invoice 1</rdf:li></rdf:Alt></dc:title>
    >>> print(packet.splitlines()[-4].strip())
    <fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import fpdf
from fpdf.enums import PageMode
from fpdf.output import OutputProducer, PDFInfo
from fpdf.syntax import PDFDate
from fpdf.syntax import create_dictionary_string as pdf_dict

from evbill.domain.invoicing.documents import Document

FILENAME = "factur-x.xml"
LEVEL = "EN 16931"  # the XMP ConformanceLevel of the en16931 profile (factur-x's FACTURX_LEVEL2xmp)
URN = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
CREATOR = "evbill"
PRODUCER = f"fpdf2 {fpdf.FPDF_VERSION}"
DOCUMENT_TYPES = {"380": "Invoice", "381": "Refund"}  # as factur-x names them in the metadata
PROPERTIES = (
    ("DocumentFileName", "The name of the embedded XML document"),
    ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
    ("Version", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "The conformance level of the embedded XML document"),
)
XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
    <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
      <pdfaid:part>3</pdfaid:part>
      <pdfaid:conformance>B</pdfaid:conformance>
    </rdf:Description>
    <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
      <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
      <dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
      <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt></dc:description>
    </rdf:Description>
    <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
      <pdf:Producer>{producer}</pdf:Producer>
      <pdf:Keywords>{keywords}</pdf:Keywords>
    </rdf:Description>
    <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
      <xmp:CreatorTool>{creator}</xmp:CreatorTool>
      <xmp:CreateDate>{moment}</xmp:CreateDate>
      <xmp:ModifyDate>{moment}</xmp:ModifyDate>
    </rdf:Description>
    <rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
        xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
      <pdfaExtension:schemas>
        <rdf:Bag>
          <rdf:li rdf:parseType="Resource">
            <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
            <pdfaSchema:namespaceURI>{urn}</pdfaSchema:namespaceURI>
            <pdfaSchema:prefix>fx</pdfaSchema:prefix>
            <pdfaSchema:property>
              <rdf:Seq>
{properties}
              </rdf:Seq>
            </pdfaSchema:property>
          </rdf:li>
        </rdf:Bag>
      </pdfaExtension:schemas>
    </rdf:Description>
    <rdf:Description rdf:about="" xmlns:fx="{urn}">
      <fx:DocumentType>INVOICE</fx:DocumentType>
      <fx:DocumentFileName>{filename}</fx:DocumentFileName>
      <fx:Version>1.0</fx:Version>
      <fx:ConformanceLevel>{level}</fx:ConformanceLevel>
    </rdf:Description>
  </rdf:RDF>
</x:xmpmeta>"""
PROPERTY = """                <rdf:li rdf:parseType="Resource">
                  <pdfaProperty:name>{name}</pdfaProperty:name>
                  <pdfaProperty:valueType>Text</pdfaProperty:valueType>
                  <pdfaProperty:category>external</pdfaProperty:category>
                  <pdfaProperty:description>{description}</pdfaProperty:description>
                </rdf:li>"""
PROPERTY_LIST = "\n".join(PROPERTY.format(name=name, description=text) for name, text in PROPERTIES)


def xmp_packet(*, title: str, author: str, subject: str, keywords: str, producer: str, creator: str,
               moment: str) -> str:  # fmt: skip
    """The XMP metadata (without the xpacket wrapper fpdf2 adds) of a Factur-X EN 16931 invoice."""
    return XMP.format(
        title=escape(title), author=escape(author), subject=escape(subject), keywords=escape(keywords),
        producer=escape(producer), creator=escape(creator), moment=moment, urn=URN, filename=FILENAME,
        level=LEVEL, properties=PROPERTY_LIST,
    )  # fmt: skip


def metadata(document: Document) -> dict[str, str]:
    """Title, author, subject and keywords as factur-x derives them from the CII XML (in English)."""
    kind = DOCUMENT_TYPES.get(document.kind.type_code, "Invoice")
    seller = document.seller.name
    issued = document.issue_date.isoformat() if document.issue_date else ""
    return {
        "title": f"{seller}: {kind} {document.number}",
        "author": seller,
        "subject": f"{kind} {document.number} dated {issued} issued by {seller}",
        "keywords": f"{kind}, Factur-X",
    }


def make_facturx(pdf: Any, document: Document, xml: bytes, now: datetime | None = None) -> None:
    """Attach ``xml`` to ``pdf`` (an fpdf2 document in PDF/A-3B not yet written) as Factur-X EN 16931."""
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    info = metadata(document)
    pdf.set_title(info["title"])
    pdf.set_author(info["author"])
    pdf.set_subject(info["subject"])
    pdf.set_keywords(info["keywords"])
    pdf.set_creator(CREATOR)
    pdf.set_producer(PRODUCER)
    pdf.set_creation_date(moment)
    pdf.page_mode = PageMode.USE_ATTACHMENTS
    embedded = pdf.embed_file(
        bytes=xml, basename=FILENAME, modification_date=moment, mime_type="text/xml",
        associated_file_relationship="Data", desc="Factur-X XML file", compress=True,
    )  # fmt: skip
    # the checksum is of the file itself (fpdf2's checksum=True would take the compressed bytes)
    embedded.params = pdf_dict({
        "/Size": len(xml), "/ModDate": PDFDate(moment, with_tz=True).serialize(),
        "/CheckSum": f"<{hashlib.md5(xml, usedforsecurity=False).hexdigest()}>",
    })  # fmt: skip
    pdf.set_xmp_metadata(xmp_packet(**info, producer=PRODUCER, creator=CREATOR, moment=moment.isoformat()))


class FacturXOutput(OutputProducer):
    """fpdf2's writer, with the document information dictionary factur-x writes (fpdf2 writes none for
    PDF/A, only the XMP) and /ModDate beside /CreationDate in it, as the XMP's ModifyDate says.

    fpdf2 (2.8.9, pinned) adds the dictionary right after the XMP when a document is not PDF/A; the
    compliance is set aside for that one step and put back before anything else reads it."""

    _compliance: Any = None

    def _add_xmp_metadata(self) -> Any:
        metadata = super()._add_xmp_metadata()
        self._compliance, self.fpdf._compliance = self.fpdf._compliance, None
        return metadata

    def _add_info(self) -> PDFInfo:
        info = super()._add_info()
        info.mod_date = PDFDate(self.fpdf.creation_date, with_tz=True, encrypt=True)  # type: ignore[attr-defined]
        return info

    def _add_encryption(self) -> Any:
        self.fpdf._compliance = self._compliance
        return super()._add_encryption()


def write_facturx(pdf: Any, document: Document, xml: bytes) -> bytes:
    make_facturx(pdf, document, xml)
    return bytes(pdf.output(output_producer_class=FacturXOutput))
