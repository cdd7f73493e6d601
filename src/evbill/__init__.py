"""evbill: billing and payments for operators of EV charging stations."""

__version__ = "0.1.0"
