"""Payments use cases: gateway payments (payments.py), prepaid wallets (wallets.py), reconciliation."""
