"""What a transaction looks up once: the operator's own settings, read again and again by a billing
run's chunk (one transaction, hundreds of contracts), are read the first time only.

    profile = once(uow, ("profile", operator_id), lambda: uow.invoices.profile(operator_id))

The memo belongs to the unit of work (a new one per transaction; it goes with it), so it never sees
another transaction's data. Only records the transaction itself does not change belong here.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar, cast
from weakref import WeakKeyDictionary

T = TypeVar("T")

_MEMOS: WeakKeyDictionary[object, dict[Hashable, object]] = WeakKeyDictionary()


def once(uow: object, key: Hashable, make: Callable[[], T]) -> T:
    """``make()`` the first time ``key`` is asked for in this unit of work; the same answer after."""
    try:
        memo = _MEMOS[uow]
    except KeyError:
        memo = _MEMOS[uow] = {}
    except TypeError:  # a unit of work that cannot be referenced weakly: no memo
        return make()
    if key not in memo:
        memo[key] = make()
    return cast(T, memo[key])


def remember(uow: object, key: Hashable, value: object) -> None:
    """What ``once(uow, key, ...)`` answers from now on, read some other way (many at once)."""
    once(uow, key, lambda: value)


def recall(uow: object, key: Hashable) -> object | None:
    """What ``once(uow, key, ...)`` holds already, or None (nothing read yet)."""
    try:
        return _MEMOS.get(uow, {}).get(key)
    except TypeError:
        return None


def forget(uow: object, key: Hashable) -> None:
    """The transaction changed what ``key`` stood for: the next ``once`` reads it again."""
    try:
        _MEMOS.get(uow, {}).pop(key, None)
    except TypeError:
        return
