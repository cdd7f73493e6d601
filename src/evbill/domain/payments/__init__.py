"""Payments: state derived from append-only gateway events (``events``), and prepaid wallets (``wallets``)."""
