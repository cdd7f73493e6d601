"""Payments: see the modules of this package."""
