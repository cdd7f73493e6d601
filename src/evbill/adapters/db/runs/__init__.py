"""Billing runs (issue 13) and documents rendered once."""
