"""Reading decoded OCPI JSON with every problem collected: objects, lists, strings, numbers, times.

Each reader takes a value, its JSONPath and the document's ``Problems``; it returns the value read,
or None after recording why not, so one pass reports everything wrong with a document instead of
stopping at the first. ``tariffs`` builds OCPI Tariffs from these.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TypeVar

from evbill.domain import currency as currencies
from evbill.domain.errors import InvalidInput, Problem, Severity
from evbill.domain.money import to_decimal

T = TypeVar("T")
E = TypeVar("E", bound=enum.StrEnum)


class Problems:
    """Everything found wrong with one document, object by object (its unknown fields first)."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def error(self, path: str, message: str) -> None:
        self.found.append(Problem(path, message))

    def warn(self, path: str, message: str) -> None:
        self.found.append(Problem(path, message, Severity.WARNING))

    def has_errors(self) -> bool:
        return any(problem.severity is Severity.ERROR for problem in self.found)


Reader = Callable[[object, str, Problems], T | None]

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
COUNTRY_CODE = re.compile(r"[A-Z]{2}")
PARTY_ID = re.compile(r"[A-Za-z0-9]{3}")
CI_STRING_36 = re.compile(r"[\x20-\x7e]{1,36}")
LANGUAGE = re.compile(r"[A-Za-z]{2}")
TIME_OF_DAY = re.compile(r"([0-1][0-9]|2[0-3]):([0-5][0-9])")
DATE = re.compile(r"([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
DATE_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d{1,9}))?(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<offset>[01]\d|2[0-3]):(?P<offset_minute>[0-5]\d))?"
)
MAX_TEXT = 512
MAX_URL = 255


# --- structure -------------------------------------------------------------------------------------


def member(path: str, key: str) -> str:
    return f"{path}.{key}" if IDENTIFIER.fullmatch(key) else f"{path}[{key!r}]"


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def read_object(
    value: object, path: str, problems: Problems, fields: frozenset[str], kind: str
) -> Mapping[str, object] | None:
    """``value`` as a JSON object; fields not in ``fields`` are warned about (typos) and ignored."""
    if not isinstance(value, Mapping):
        problems.error(path, f"must be an object ({kind}), not {json_type(value)}")
        return None
    for key in value:
        if key not in fields:
            import difflib  # only for a typo's hint: not on every start-up (evbill rate)

            guess = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            problems.warn(member(path, str(key)), f"unknown field, ignored{hint}")
    return value


def optional(obj: Mapping[str, object], key: str, path: str, problems: Problems, read: Reader[T]) -> T | None:
    """An optional field: absent and null both mean "not given"."""
    value = obj.get(key)
    return None if value is None else read(value, member(path, key), problems)


def required(obj: Mapping[str, object], key: str, path: str, problems: Problems, read: Reader[T]) -> T | None:
    if obj.get(key) is None:
        problems.error(
            member(path, key), "required field is missing" if key not in obj else "must not be null"
        )
        return None
    return read(obj[key], member(path, key), problems)


def read_list(
    value: object, path: str, problems: Problems, read_item: Reader[T], *, empty_error: str | None = None
) -> tuple[T, ...] | None:
    if not isinstance(value, list):
        problems.error(path, f"must be a list, not {json_type(value)}")
        return None
    if not value and empty_error is not None:
        problems.error(path, empty_error)
        return None
    items = [read_item(item, f"{path}[{index}]", problems) for index, item in enumerate(value)]
    valid = tuple(item for item in items if item is not None)
    return valid if len(valid) == len(items) else None


# --- scalars ---------------------------------------------------------------------------------------


def read_string(value: object, path: str, problems: Problems) -> str | None:
    if not isinstance(value, str):
        problems.error(path, f"must be a string, not {json_type(value)}")
        return None
    return value


def matching(pattern: re.Pattern[str], requirement: str) -> Reader[str]:
    def read(value: object, path: str, problems: Problems) -> str | None:
        text = read_string(value, path, problems)
        if text is not None and not pattern.fullmatch(text):
            problems.error(path, f"must be {requirement}, not {text!r}")
            return None
        return text

    return read


read_country_code = matching(COUNTRY_CODE, "2 upper-case letters (ISO 3166-1 alpha-2, e.g. 'DE')")
read_party_id = matching(PARTY_ID, "3 letters or digits (e.g. 'ALL')")
read_tariff_id = matching(CI_STRING_36, "1 to 36 printable ASCII characters")
read_language = matching(LANGUAGE, "2 letters (ISO 639-1, e.g. 'en')")


def read_currency(value: object, path: str, problems: Problems) -> str | None:
    code = read_string(value, path, problems)
    if code is not None and not currencies.is_known(code):
        problems.error(path, f"{code!r} is not an ISO 4217 currency code")
        return None
    return code


def one_of(enum_type: type[E]) -> Reader[E]:
    allowed = ", ".join(member.value for member in enum_type)

    def read(value: object, path: str, problems: Problems) -> E | None:
        text = read_string(value, path, problems)
        if text is None:
            return None
        try:
            return enum_type(text)
        except ValueError:
            problems.error(path, f"{text!r} is not a {enum_type.__name__}; allowed: {allowed}")
            return None

    return read


# No price, quantity or duration in a tariff comes near this; bounding it keeps every amount rating
# computes well inside its 34 significant digits.
MAX_MAGNITUDE = Decimal(10) ** 9


def read_number(value: object, path: str, problems: Problems) -> Decimal | None:
    try:
        number = to_decimal(value, path=path)
    except InvalidInput as error:
        problems.found.extend(error.problems)
        return None
    if abs(number) > MAX_MAGNITUDE:
        problems.error(path, f"is too large ({number}); at most {MAX_MAGNITUDE:,} is accepted")
        return None
    return number


def at_least_zero(message: str) -> Reader[Decimal]:
    def read(value: object, path: str, problems: Problems) -> Decimal | None:
        number = read_number(value, path, problems)
        if number is not None and number < 0:
            problems.error(path, f"must not be negative ({number}){message}")
            return None
        return number

    return read


read_quantity = at_least_zero("")
read_unit_price = at_least_zero(
    ": evbill refuses negative unit prices; give discounts through plans or promotions"
)


def read_vat(value: object, path: str, problems: Problems) -> Decimal | None:
    number = read_number(value, path, problems)
    if number is not None and not 0 <= number <= 100:
        problems.error(path, f"must be a percentage from 0 to 100, not {number}")
        return None
    return number


def read_integer(
    value: object, path: str, problems: Problems, *, minimum: int, requirement: str
) -> int | None:
    number = read_number(value, path, problems)
    if number is None:
        return None
    if number != number.to_integral_value() or number < minimum:
        problems.error(path, f"must be {requirement}, not {number}")
        return None
    return int(number)


def read_seconds(value: object, path: str, problems: Problems) -> int | None:
    return read_integer(value, path, problems, minimum=0, requirement="a whole number of seconds, 0 or more")


def read_minute_of_day(value: object, path: str, problems: Problems) -> int | None:
    text = read_string(value, path, problems)
    match = None if text is None else TIME_OF_DAY.fullmatch(text)
    if match is None:
        if text is not None:
            problems.error(path, f"must be a time of day from 00:00 to 23:59 (HH:MM, 24-hour), not {text!r}")
        return None
    return int(match[1]) * 60 + int(match[2])


def read_date(value: object, path: str, problems: Problems) -> date | None:
    text = read_string(value, path, problems)
    match = None if text is None else DATE.fullmatch(text)
    if match is None:
        if text is not None:
            problems.error(path, f"must be a date YYYY-MM-DD, not {text!r}")
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        problems.error(path, f"{text!r} is not a real date")
        return None


def read_date_time(value: object, path: str, problems: Problems) -> datetime | None:
    """RFC 3339 with Z or an offset, or without a designator, which OCPI defines as UTC."""
    text = read_string(value, path, problems)
    match = None if text is None else DATE_TIME.fullmatch(text)
    if match is None:
        if text is not None:
            problems.error(
                path, f"must be an RFC 3339 date-time such as '2015-06-29T20:39:09Z', not {text!r}"
            )
        return None
    zone = UTC
    if match["sign"]:
        offset = timedelta(hours=int(match["offset"]), minutes=int(match["offset_minute"]))
        zone = timezone(-offset if match["sign"] == "-" else offset)
    # datetime holds microseconds; finer digits are cut (no timestamp here needs them).
    microsecond = int((match["fraction"] or "")[:6].ljust(6, "0"))
    try:
        day = date.fromisoformat(match["date"])
        clock = (int(match["hour"]), int(match["minute"]), int(match["second"]), microsecond)
        return datetime(day.year, day.month, day.day, *clock, tzinfo=zone).astimezone(UTC)
    except ValueError:
        problems.error(path, f"{text!r} is not a real date and time")
        return None


def read_url(value: object, path: str, problems: Problems) -> str | None:
    url = read_string(value, path, problems)
    if url is None:
        return None
    if len(url) > MAX_URL:
        problems.error(path, f"must be at most {MAX_URL} characters, not {len(url)}")
        return None
    if not url.startswith(("https://", "http://")):
        problems.warn(path, "is not an http(s) URL; drivers may not be able to open it")
    return url
