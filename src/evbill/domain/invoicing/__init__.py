"""Invoicing: receipts, invoices and credit notes, with VAT per category and one rounding step.

``tax`` names the VAT categories of EN 16931 and the rates by country with validity dates;
``compose`` turns precise lines into a settled document whose totals add up as EN 16931 checks them;
``documents`` holds the document, its lifecycle and credit notes.
"""
