"""Adapters between the core and the outside world (formats, databases, gateways)."""
