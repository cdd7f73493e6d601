"""The OCPP central system on the `ocpp` library: thin handlers that translate messages into use cases.

``measurements`` turns OCPP meter values into exact ``MeterSample`` values; ``protocol`` is the base
charge point (frames on record before every reply, exact JSON out, CallErrors for malformed frames,
per-station rate limits, outgoing calls); ``v16`` and ``v201`` are the handlers of each version.
"""
