"""Invoices, credit notes and receipts; per-series counters; invoicing profiles."""
