"""Settings, read once from the environment (prefix ``EVBILL_``) and validated.

Only ``bootstrap`` and the entrypoints read settings; everything else gets values through parameters.
Every problem is reported at once, each naming its variable:

| variable                  | default                     | meaning                                        |
|---------------------------|-----------------------------|------------------------------------------------|
| EVBILL_DATABASE_URL       | sqlite:///evbill.db         | SQLAlchemy URL; postgresql+psycopg://... too    |
| EVBILL_ROUNDING_MODE      | half_up                     | default rounding of document totals             |
| EVBILL_TIME_ZONE          | UTC                         | default time zone of the `rate` command         |
| EVBILL_RATE_LIMIT         | 1200                        | API requests per minute per key                 |
| EVBILL_MAX_BODY_BYTES     | 1048576                     | largest accepted API request body               |
| EVBILL_API_KEY_CACHE      | 5                           | seconds a worker trusts a checked key (0: off)  |
| EVBILL_ENVIRONMENT        | development                 | development or production (see below)           |
| EVBILL_DOCS               | on (production: off)        | on or off: the interactive docs at /docs        |
| EVBILL_OCPP_HEARTBEAT     | 300                         | heartbeat interval told to chargers (s)         |
| EVBILL_OCPP_COST_INTERVAL | 60                          | seconds between running-cost messages (0: off)  |
| EVBILL_OCPP_RATE          | 20                          | messages per second per station, on average     |
| EVBILL_OCPP_BURST         | 200                         | messages a station may send at once             |
| EVBILL_OCPP_UNKNOWN_STATIONS | reject                   | reject, or pending (connect, wait to be added)  |
| EVBILL_OCPP_MAX_FRAME     | 65536                       | largest OCPP frame a station may send (bytes)   |
| EVBILL_LIMITER            | memory                      | memory (one process) or redis://host:port/db    |
| EVBILL_AUTH_FAILURES      | 30                          | failed logins per minute per address / key / id |
| EVBILL_QUEUE_URL          | (SQLite file by the db)     | job queue: sqlite:///FILE or redis://HOST/DB    |
| EVBILL_QUEUE_NAME         | evbill                      | queue name: workers of one name share its jobs  |
| EVBILL_PAYMENT_GATEWAY    | sandbox                     | sandbox (built in) or stripe                    |
| EVBILL_STRIPE_SECRET_KEY  | (none)                      | Stripe secret key (required with stripe)        |
| EVBILL_STRIPE_WEBHOOK_SECRET | (none)                   | whsec_...: checks POST /webhooks/stripe         |
| EVBILL_STRIPE_API_BASE    | (Stripe's)                  | another Stripe API address (a local stand-in)   |

In production (``EVBILL_ENVIRONMENT=production``) evbill refuses to start on defaults that are only
safe on a developer's machine: the default database (a local SQLite file) or a database URL whose
password is a well-known default (``postgres``, ``password``, ...), the Stripe gateway without its
secret key and webhook secret (refused in development too), and ``serve --demo`` (its keys and
station passwords are published); ``/docs`` is off unless ``EVBILL_DOCS=on``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.money import RoundingMode
from evbill.domain.sites.model import UnknownStationPolicy

DEFAULT_DATABASE_URL = "sqlite:///evbill.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    rounding_mode: RoundingMode = RoundingMode.HALF_UP
    default_time_zone: str = "UTC"
    rate_limit_per_minute: int = 1200
    max_body_bytes: int = 1024 * 1024
    api_key_cache_seconds: int = 5
    environment: str = "development"
    ocpp_heartbeat_interval: int = 300
    ocpp_cost_interval: float = 60.0
    ocpp_messages_per_second: float = 20.0
    ocpp_burst: int = 200
    ocpp_unknown_stations: UnknownStationPolicy = UnknownStationPolicy.REJECT
    ocpp_clock_skew_seconds: int = 300  # plausibility: how far ahead a charger's clock may run
    ocpp_max_offline_days: int = 30  # plausibility: how old a charger's timestamp may be
    ocpp_max_frame_bytes: int = 64 * 1024
    limiter_url: str = "memory"
    auth_failures_per_minute: int = 30
    docs: bool = True
    smtp_url: str = ""  # "" refuses to send; "memory" keeps mail in the process; smtp://host:port
    mail_from: str = "billing@evbill.invalid"
    adhoc_hold: Decimal = Decimal("50.00")  # held on a card at an ad hoc start, unless set per operator
    adhoc_start_timeout: float = 120.0  # seconds for the station to start after an accepted remote start
    ocpp_command_timeout: float = 30.0  # seconds a remote start or stop waits for the station's answer
    payments_sweep_interval: float = 5.0  # seconds between runs that finish due ad hoc payments
    pay_starts_per_minute: int = (
        10  # per client address: POSTs to /pay (enough for a driver, not card testing)
    )
    pay_reads_per_minute: int = 300  # per client address: GETs of /pay (a page polling its start's status)
    queue_url: str = ""  # "": huey on an SQLite file beside the database; sqlite:///file; redis://...
    queue_name: str = "evbill"
    payment_gateway: str = "sandbox"  # sandbox or stripe
    stripe_secret_key: str = field(default="", repr=False)
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str = ""  # "" is Stripe's own address

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        problems: list[Problem] = []
        mode_text = environ.get("EVBILL_ROUNDING_MODE", RoundingMode.HALF_UP.value)
        try:
            mode = RoundingMode(mode_text)
        except ValueError:
            allowed = ", ".join(member.value for member in RoundingMode)
            problems.append(Problem("EVBILL_ROUNDING_MODE", f"{mode_text!r} is not one of {allowed}"))
            mode = RoundingMode.HALF_UP
        zone = environ.get("EVBILL_TIME_ZONE", "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(Problem("EVBILL_TIME_ZONE", f"{zone!r} is not an IANA time zone"))
        rate_limit = _positive_int(environ, "EVBILL_RATE_LIMIT", 1200, problems)
        max_body = _positive_int(environ, "EVBILL_MAX_BODY_BYTES", 1024 * 1024, problems)
        key_cache = _whole_or_zero(environ, "EVBILL_API_KEY_CACHE", 5, problems)
        heartbeat = _positive_int(environ, "EVBILL_OCPP_HEARTBEAT", 300, problems)
        cost_interval = _whole_or_zero(environ, "EVBILL_OCPP_COST_INTERVAL", 60, problems)
        ocpp_rate = _positive_int(environ, "EVBILL_OCPP_RATE", 20, problems)
        ocpp_burst = _positive_int(environ, "EVBILL_OCPP_BURST", 200, problems)
        clock_skew = _whole_or_zero(environ, "EVBILL_OCPP_CLOCK_SKEW", 300, problems)
        max_offline = _positive_int(environ, "EVBILL_OCPP_MAX_OFFLINE_DAYS", 30, problems)
        ocpp_max_frame = _positive_int(environ, "EVBILL_OCPP_MAX_FRAME", 64 * 1024, problems)
        unknown_text = environ.get("EVBILL_OCPP_UNKNOWN_STATIONS", UnknownStationPolicy.REJECT.value)
        try:
            unknown = UnknownStationPolicy(unknown_text)
        except ValueError:
            problems.append(
                Problem("EVBILL_OCPP_UNKNOWN_STATIONS", f"{unknown_text!r} is not reject or pending")
            )
            unknown = UnknownStationPolicy.REJECT
        limiter = environ.get("EVBILL_LIMITER", "memory")
        if limiter != "memory" and not limiter.startswith(("redis://", "rediss://", "unix://")):
            problems.append(Problem("EVBILL_LIMITER", f"{limiter!r} is not memory or a redis:// URL"))
        auth_failures = _positive_int(environ, "EVBILL_AUTH_FAILURES", 30, problems)
        environment = environ.get("EVBILL_ENVIRONMENT", "development")
        if environment not in ("development", "production"):
            problems.append(
                Problem("EVBILL_ENVIRONMENT", f"{environment!r} is not development or production")
            )
        database_url = environ.get("EVBILL_DATABASE_URL", DEFAULT_DATABASE_URL)
        docs_text = environ.get("EVBILL_DOCS", "off" if environment == "production" else "on")
        if docs_text not in ("on", "off"):
            problems.append(Problem("EVBILL_DOCS", f"{docs_text!r} is not on or off"))
        smtp_url = environ.get("EVBILL_SMTP_URL", "")
        if smtp_url not in ("", "memory") and not smtp_url.startswith(
            ("smtp://", "smtps://", "smtp+starttls://")
        ):
            problems.append(
                Problem(
                    "EVBILL_SMTP_URL",
                    f"{smtp_url!r} is not memory or an smtp://, smtps://, smtp+starttls:// URL",
                )
            )
        mail_from = environ.get("EVBILL_MAIL_FROM", "billing@evbill.invalid")
        if "@" not in mail_from:
            problems.append(Problem("EVBILL_MAIL_FROM", f"{mail_from!r} is not an e-mail address"))
        hold_text = environ.get("EVBILL_ADHOC_HOLD", "50.00")
        try:
            hold = Decimal(hold_text)
            if not hold.is_finite() or hold <= 0:
                raise InvalidOperation
        except InvalidOperation:
            problems.append(
                Problem("EVBILL_ADHOC_HOLD", f"{hold_text!r} is not a positive amount like 50.00")
            )
            hold = Decimal("50.00")
        start_timeout = _positive_int(environ, "EVBILL_ADHOC_START_TIMEOUT", 120, problems)
        command_timeout = _positive_int(environ, "EVBILL_OCPP_COMMAND_TIMEOUT", 30, problems)
        pay_starts = _positive_int(environ, "EVBILL_PAY_STARTS_PER_MINUTE", 10, problems)
        pay_reads = _positive_int(environ, "EVBILL_PAY_READS_PER_MINUTE", 300, problems)
        queue_url = environ.get("EVBILL_QUEUE_URL", "")
        if queue_url and not queue_url.startswith(("sqlite:///", "redis://", "rediss://", "unix://")):
            problems.append(Problem("EVBILL_QUEUE_URL", f"{queue_url!r} is not a sqlite:/// or redis:// URL"))
        queue_name = environ.get("EVBILL_QUEUE_NAME", "evbill")
        if not queue_name.strip():
            problems.append(Problem("EVBILL_QUEUE_NAME", "must not be empty"))
        gateway = _gateway_settings(environ, problems)
        if environment == "production":
            problems.extend(_production_problems(environ, database_url))
        if problems:
            raise InvalidInput("invalid settings", tuple(problems))
        return cls(
            database_url=database_url,
            rounding_mode=mode,
            default_time_zone=zone,
            rate_limit_per_minute=rate_limit,
            max_body_bytes=max_body,
            api_key_cache_seconds=key_cache,
            environment=environment,
            ocpp_heartbeat_interval=heartbeat,
            ocpp_cost_interval=float(cost_interval),
            ocpp_messages_per_second=float(ocpp_rate),
            ocpp_burst=ocpp_burst,
            ocpp_unknown_stations=unknown,
            ocpp_clock_skew_seconds=clock_skew,
            ocpp_max_offline_days=max_offline,
            ocpp_max_frame_bytes=ocpp_max_frame,
            limiter_url=limiter,
            auth_failures_per_minute=auth_failures,
            docs=docs_text == "on",
            smtp_url=smtp_url,
            mail_from=mail_from,
            adhoc_hold=hold,
            adhoc_start_timeout=float(start_timeout),
            ocpp_command_timeout=float(command_timeout),
            pay_starts_per_minute=pay_starts,
            pay_reads_per_minute=pay_reads,
            queue_url=queue_url,
            queue_name=queue_name,
            **gateway,
        )

    @property
    def websocket_max_bytes(self) -> int:
        """What the websocket layer buffers of one message at most: four OCPP frame limits. A frame up
        to that is read and answered with a CallError (connection kept); a larger one closes the
        connection (1009, message too big) before it is read."""
        return 4 * self.ocpp_max_frame_bytes


def _positive_int(environ: Mapping[str, str], name: str, default: int, problems: list[Problem]) -> int:
    text = environ.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        problems.append(Problem(name, f"{text!r} is not a positive whole number"))
        return default
    return int(text)


def _whole_or_zero(environ: Mapping[str, str], name: str, default: int, problems: list[Problem]) -> int:
    text = environ.get(name)
    if text is None:
        return default
    if not text.isdigit():
        problems.append(Problem(name, f"{text!r} is not a whole number of seconds (0 turns it off)"))
        return default
    return int(text)


DEFAULT_PASSWORDS = frozenset({"", "postgres", "password", "evbill", "secret", "changeme", "admin", "root"})


def _production_problems(environ: Mapping[str, str], database_url: str) -> list[Problem]:
    """Defaults that are fine on a developer's machine and refused in production."""
    if "EVBILL_DATABASE_URL" not in environ:
        return [Problem("EVBILL_DATABASE_URL", "set it in production (the default is a local SQLite file)")]
    credentials = database_url.partition("://")[2].rpartition("@")[0]
    user, has_password, password = credentials.partition(":")
    if has_password and password.lower() in DEFAULT_PASSWORDS | {user.lower()}:
        return [
            Problem("EVBILL_DATABASE_URL", "the database password is a well-known default; set a secret one")
        ]
    return []


GATEWAYS = ("sandbox", "stripe")


def _gateway_settings(environ: Mapping[str, str], problems: list[Problem]) -> dict[str, str]:
    """EVBILL_PAYMENT_GATEWAY and, for stripe, its secrets: never a Stripe gateway that cannot check a
    webhook's signature, in production or anywhere else."""
    gateway = environ.get("EVBILL_PAYMENT_GATEWAY", "sandbox")
    if gateway not in GATEWAYS:
        problems.append(Problem("EVBILL_PAYMENT_GATEWAY", f"{gateway!r} is not sandbox or stripe"))
    secret = environ.get("EVBILL_STRIPE_SECRET_KEY", "")
    webhook_secret = environ.get("EVBILL_STRIPE_WEBHOOK_SECRET", "")
    api_base = environ.get("EVBILL_STRIPE_API_BASE", "")
    if gateway == "stripe":
        if not secret.startswith(("sk_", "rk_")):
            problems.append(
                Problem("EVBILL_STRIPE_SECRET_KEY", "set it to the Stripe secret key (sk_...) to use stripe")
            )
        if not webhook_secret:
            problems.append(
                Problem(
                    "EVBILL_STRIPE_WEBHOOK_SECRET",
                    "set it to the endpoint's signing secret (whsec_...): webhooks are always checked",
                )
            )
    if api_base and not api_base.startswith(("http://", "https://")):
        problems.append(Problem("EVBILL_STRIPE_API_BASE", f"{api_base!r} is not an http(s):// address"))
    return {
        "payment_gateway": gateway,
        "stripe_secret_key": secret,
        "stripe_webhook_secret": webhook_secret,
        "stripe_api_base": api_base,
    }
