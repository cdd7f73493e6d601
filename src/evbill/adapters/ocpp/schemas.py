"""OCPP JSON-schema validation: the library's schemas and verdicts, checked by compiled code first.

The ``ocpp`` library validates every payload with ``jsonschema``'s ``Draft4Validator``, which walks
the schema for each message; under load that was the largest single cost of serving a station
(bench/ocpp.py). ``fastjsonschema`` compiles each schema once into plain Python that does the same
checks in a fraction of the time. It only decides the common case:

- compiled code says *valid*: the payload is accepted; the check is the library's own schema with
  the library's draft-4 meaning (``$schema`` set to draft 4: a 2.0.1 schema declares draft 6, where
  ``1.0`` would pass as an integer, but the library reads every schema as draft 4), no format checks
  (the library has none) and no defaults filled in (the payload is never changed);
- compiled code says *invalid*, or the schema could not be compiled: the library validates, so the
  CallError a station gets (its code and text) is exactly the library's, and a payload the library
  accepts is accepted.

Schemas with ``multipleOf`` (three 1.6 charging-profile messages, which the library checks with
Decimal numbers) always go to the library. ``tests/adapters/test_ocpp_schemas.py`` holds the two
to the same verdict on every schema of every version the library ships.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import fastjsonschema
from ocpp.messages import Call, CallResult, get_validator, validate_payload

Check = Callable[[Any], Any]
DRAFT_4 = "http://json-schema.org/draft-04/schema#"


def compiled(schema: dict[str, Any]) -> Check | None:
    """The compiled check of one of the library's schemas, read as the library reads it; None if not."""
    if _mentions(schema, "multipleOf"):
        return None
    draft4 = copy.deepcopy(schema)
    draft4["$schema"] = DRAFT_4
    draft4.pop("$id", None)  # refs are all "#/definitions/..."; an urn: base only confuses resolution
    try:
        check: Check = fastjsonschema.compile(draft4, use_formats=False, use_default=False)
    except fastjsonschema.JsonSchemaDefinitionException:
        return None
    return check


@functools.lru_cache(maxsize=1024)
def _check_for(message_type: int, action: str, version: str) -> Check | None:
    return compiled(get_validator(message_type, action, version).schema)


async def validate(message: Call | CallResult, version: str) -> None:
    """Accept ``message`` or raise the library's OCPPError for it (see the module)."""
    try:
        check = _check_for(message.message_type_id, message.action, version)
    except (OSError, ValueError):
        check = None  # no schema for this action: the library raises its NotImplementedError
    if check is not None:
        try:
            check(message.payload)
        except fastjsonschema.JsonSchemaException:
            pass
        else:
            return
    await validate_payload(message, version)


def _mentions(node: Any, keyword: str) -> bool:
    if isinstance(node, dict):
        return keyword in node or any(_mentions(value, keyword) for value in node.values())
    if isinstance(node, list):
        return any(_mentions(value, keyword) for value in node)
    return False
