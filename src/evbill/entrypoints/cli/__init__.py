"""The ``evbill`` command line: one sub-app per area."""
