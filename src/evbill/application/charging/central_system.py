"""Use cases of the OCPP central system, independent of the protocol version: one import for them all.

The OCPP adapter translates OCPP 1.6 and 2.0.1 messages into these calls and their results back
into responses. Every call stores the frames it is given in the same transaction as what they carry,
so a charger is acknowledged only for what is durably on record (the busiest messages, meter values,
go through ``OcppJournal``'s group commit instead, with the same guarantee).

* ``connect_station``: who is on the other end of a websocket (HTTP Basic per station, security
  profiles 1 and 2); unknown or wrongly authenticated stations are refused.
* ``start_transaction``: authorise the token, resolve the price that applies and snapshot its tariff
  version onto the session (later edits never reprice it), open the session. A resent start (same
  transaction id, or for 1.6 the same content) returns the session it opened the first time.
* ``end_transaction``: clean the meter series, build periods, rate, store the priced session with
  its anomalies, signed meter values, explanation and OCPI CDR. Ending twice changes nothing.
* ``running_cost``: the same rating up to now, for the cost a charger shows during the session.

They live by concept in ``stations`` (connect, context, requests, frames), ``starts``, ``ends`` and
``costs`` (running and stored costs); this module gathers them for the protocol adapters.
"""

from __future__ import annotations

from evbill.application.charging.costs import Cost, RunningMeter, running_cost
from evbill.application.charging.ends import Ended, end_transaction, late_update
from evbill.application.charging.starts import (
    Started,
    find_session,
    live_sessions,
    price_text,
    start_transaction,
)
from evbill.application.charging.stations import (
    StationContext,
    StationRefused,
    UnknownStation,
    connect_station,
    note_station_request,
    record_frames,
    station_context,
    station_requests,
)

__all__ = [
    "Cost",
    "Ended",
    "RunningMeter",
    "Started",
    "StationContext",
    "StationRefused",
    "UnknownStation",
    "connect_station",
    "end_transaction",
    "find_session",
    "late_update",
    "live_sessions",
    "note_station_request",
    "price_text",
    "record_frames",
    "running_cost",
    "start_transaction",
    "station_context",
    "station_requests",
]
