"""A JSON body that names a key twice in one object is refused, at any depth, whatever the route.

Python's parser (and so FastAPI's) keeps the last of two equal keys, so ``{"amount": "1.00",
"amount": "900.00"}`` would pay 900.00 while a reviewer, a log or another parser reads 1.00. Before
the app reads a body, ``duplicate_keys`` parses it once more with an ``object_pairs_hook`` that keeps
which keys an object repeats, and names each such key by its JSON path:

    >>> duplicate_keys(b'{"amount": "1.00", "amount": "900.00"}')
    ['$.amount']
    >>> duplicate_keys(b'{"lines": [{"a": 1}, {"a": 1, "b": 2, "a": 3}], "x": {"y": {"z": 1, "z": 2}}}')
    ['$.lines[1].a', '$.x.y.z']
    >>> duplicate_keys(b'{"amount": "1.00"}'), duplicate_keys(b'not json')
    ([], [])

A body that is not JSON is left to the route, which refuses it in its own words. Called only on a
body whose depth was checked (``security.MAX_JSON_DEPTH``), so neither parse nor walk recurses far.
"""

from __future__ import annotations

import json
from typing import Any


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers the keys it was given more than once, in order."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for key, _ in pairs:
        if key in seen:
            repeated[key] = None
        seen.add(key)
    parsed = _Object(pairs)
    parsed.repeated = tuple(repeated)
    return parsed


def duplicate_keys(body: bytes) -> list[str]:
    """The JSON path of every key an object of ``body`` names twice (none if it is not JSON)."""
    try:
        # numbers kept as text: only the keys matter here, and no number is too large to read
        parsed = json.loads(body, object_pairs_hook=_object, parse_int=str, parse_float=str)
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        return []
    found: list[str] = []
    _walk(parsed, "$", found)
    return found


def _walk(value: object, path: str, found: list[str]) -> None:
    if isinstance(value, _Object):
        found.extend(f"{path}.{key}" for key in value.repeated)
        for key, item in value.items():
            _walk(item, f"{path}.{key}", found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", found)
