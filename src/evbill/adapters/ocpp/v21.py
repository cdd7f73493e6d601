"""OCPP 2.1: the 2.0.1 handlers, checked against the 2.1 schemas.

For what evbill does with a station, 2.1 is a superset of 2.0.1: the same actions, the same fields,
and some new optional ones (TransactionEvent's ``costDetails``, ``preconditioningStatus``,
``evseSleep``; ``tariffId`` in the transaction info; a ``transactionLimit`` in answers). evbill
prices with its own engine, so it reads those and answers as for 2.0.1; the frames, new fields and
all, are on record verbatim. Validation uses the library's 2.1 schemas, so a 2.1 station that sends
what only 2.0.1 allows is told so (and the other way round).
"""

from __future__ import annotations

from evbill.adapters.ocpp.v201 import Station201


class Station21(Station201):
    _ocpp_version = "2.1"
