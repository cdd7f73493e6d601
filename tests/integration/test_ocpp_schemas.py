"""The compiled schema checks agree with the ``ocpp`` library on every schema it ships.

``evbill.adapters.ocpp.schemas`` accepts a payload on the word of compiled code and asks the library
only when that code finds fault. So the compiled check must never accept what the library refuses.
For every schema of OCPP 1.6, 2.0.1 and 2.1 (requests and responses), a payload is built that the
schema allows, then spoilt one place at a time: each value replaced by values of every JSON type
(booleans, integers as floats, huge numbers, over-long strings, null), each key removed, an unknown
key added. The two must give the same verdict on every one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastjsonschema
import ocpp.messages
import pytest
from ocpp.exceptions import FormatViolationError, TypeConstraintViolationError
from ocpp.messages import Call, CallResult, MessageType, get_validator

from evbill.adapters.ocpp import schemas

LIBRARY = Path(ocpp.messages.__file__).parent
VERSIONS = {"v16": "1.6", "v201": "2.0.1", "v21": "2.1"}
SPOILERS: list[Any] = [True, False, 0, 1, -1, 1.0, 2.5, -0.5, 10**20, "", "x", "7", "x" * 2001, None, [], {}]
DEEP_SPOILERS: list[Any] = [True, 1.0, -1, 10**20, "x" * 2001, None, {}]  # below the top two levels


def _schemas() -> Iterator[tuple[str, int, str]]:
    """Every schema the library can validate with (one 2.1 file breaks its naming and is never used)."""
    for directory, version in VERSIONS.items():
        for path in sorted((LIBRARY / directory / "schemas").glob("*.json")):
            name = path.stem
            if name.endswith("Response"):
                yield version, MessageType.CallResult, name.removesuffix("Response")
            elif version == "1.6":
                yield version, MessageType.Call, name
            elif name.endswith("Request"):
                yield version, MessageType.Call, name.removesuffix("Request")


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def example(node: dict[str, Any], root: dict[str, Any], *, depth: int = 0) -> Any:
    """A value the schema allows, with every optional property present (to be spoilt later)."""
    node = _resolve(node, root)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        properties = node.get("properties", {})
        return {name: example(child, root, depth=depth + 1) for name, child in properties.items()}
    if kind == "array":
        count = max(1, node.get("minItems", 1))
        return [example(node.get("items", {}), root, depth=depth + 1) for _ in range(count)]
    if kind == "string":
        if node.get("format") == "date-time":
            return "2026-11-21T10:00:00Z"
        return "A" * min(node.get("maxLength", 5), 5)
    if kind in ("integer", "number"):
        wanted = 1 if kind == "integer" else 1.5
        return min(max(wanted, node.get("minimum", wanted)), node.get("maximum", wanted))
    if kind == "boolean":
        return True
    return "A"


def spoilt(value: Any, depth: int = 0) -> Iterator[Any]:
    """``value`` itself, then copies of it spoilt in one place each."""
    yield value
    spoilers = SPOILERS if depth < 2 else DEEP_SPOILERS
    if isinstance(value, dict):
        yield {**value, "zzUnknown": 1}
        for key, child in value.items():
            yield {name: item for name, item in value.items() if name != key}
            for replacement in [*spoilers, *spoilt_children(child, depth + 1)]:
                yield {**value, key: replacement}
    elif isinstance(value, list):
        yield []
        yield [*value, *value, *value, *value, *value, *value]  # past a small maxItems
        for replacement in [*spoilers, *spoilt_children(value[0] if value else None, depth + 1)]:
            yield [replacement, *value[1:]]


def spoilt_children(value: Any, depth: int) -> Iterator[Any]:
    if isinstance(value, dict | list) and depth < 4:
        iterator = spoilt(value, depth)
        next(iterator)  # the unspoilt value is already covered
        yield from iterator


def library_accepts(message_type: int, action: str, version: str, payload: Any) -> bool:
    return bool(get_validator(message_type, action, version).is_valid(payload))


def compiled_accepts(check: schemas.Check, payload: Any) -> bool:
    try:
        check(payload)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@pytest.mark.parametrize(("version", "message_type", "action"), list(_schemas()))
def test_the_compiled_check_gives_the_library_verdict(version: str, message_type: int, action: str) -> None:
    schema = get_validator(message_type, action, version).schema
    check = schemas.compiled(schema)
    if check is None:
        assert "multipleOf" in str(schema)  # only schemas the library checks with Decimal numbers
        return
    valid = example(schema, schema)
    assert library_accepts(message_type, action, version, valid), "the test's example must be valid"
    verdicts = {True: 0, False: 0}
    for payload in spoilt(valid):
        expected = library_accepts(message_type, action, version, payload)
        assert compiled_accepts(check, payload) == expected, payload
        verdicts[expected] += 1
    assert verdicts[False] > 0  # the spoilers did reach the schema's rules


def test_a_payload_the_compiled_check_refuses_gets_the_library_error() -> None:
    bad_type = Call("1", "MeterValues", {"connectorId": 1.0, "meterValue": []})
    with pytest.raises(TypeConstraintViolationError):
        asyncio.run(schemas.validate(bad_type, "1.6"))
    unknown = Call("2", "Heartbeat", {"surprise": 1})
    with pytest.raises(FormatViolationError):
        asyncio.run(schemas.validate(unknown, "2.0.1"))


def test_a_valid_payload_passes_and_is_left_unchanged() -> None:
    payload = {"chargePointVendor": "V", "chargePointModel": "M"}
    asyncio.run(schemas.validate(Call("3", "BootNotification", payload), "1.6"))
    assert payload == {"chargePointVendor": "V", "chargePointModel": "M"}  # no defaults filled in
    result = CallResult("4", {"currentTime": "2026-11-21T10:00:00Z"}, action="Heartbeat")
    asyncio.run(schemas.validate(result, "2.0.1"))
