"""Importing customers and tokens from CSV files: every row or none.

An operator moving to evbill brings its customers and their cards as spreadsheets. A file is read
whole and every row is checked with the same rules as the API (``customers.CUSTOMERS`` and
``TOKENS`` validation, VAT ids through ``customers.customer_fields``, enums, lengths) and against
the stored data (duplicate e-mails and uids, the business account a fleet driver belongs to, the
customer a token belongs to). If any row is bad, nothing is stored and the report lists every
problem as (line, column, message); otherwise all rows are stored in one transaction, with an audit
entry per record. A customers file, with a fleet driver under a business account of the same file:

    kind,name,email,language,currency,country,address,city,postal_code,vat_id,parent_email
    BUSINESS,Fleet B.V.,fleet@example.nl,nl,EUR,NL,Damrak 1,Amsterdam,1012 LG,NL004495445B01,
    INDIVIDUAL,Jan Jansen,jan@example.nl,nl,EUR,NL,,,,,fleet@example.nl

and a tokens file (``valid_until`` in RFC 3339, or empty for no end):

    uid,type,contract_id,customer_email,status,valid_until
    04A2B3C4D5E6F7,RFID,NL-EVB-C00000001-X,jan@example.nl,ACTIVE,2027-12-31T23:00:00Z

Line numbers count from 1 at the header, as a spreadsheet shows them. E-mails are compared ignoring
case; a file may hold at most ``MAX_ROWS`` rows.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from evbill.application.offers.customers import CUSTOMERS, TOKENS, customer_fields
from evbill.application.ports import UnitOfWork
from evbill.application.records import RecordKind, Services, audit, require
from evbill.domain.access.keys import AuditAction
from evbill.domain.access.operators import Actor
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.offers.customers import Customer, CustomerKind, Token, TokenStatus, TokenType

MAX_ROWS = 10_000
MAX_LENGTHS = {"name": 255, "email": 254, "address": 255, "city": 100, "postal_code": 32, "vat_id": 32}
HEADER_LINE = 1
E = TypeVar("E", bound=enum.Enum)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One thing wrong with a file: the line (1 is the header), the column, and what is wrong."""

    line: int
    column: str
    message: str

    @property
    def path(self) -> str:
        """Where the problem is, as the API reports it: ``line 7.email``."""
        return f"line {self.line}.{self.column}"

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """How many records were stored (0 unless every row was good), and every problem found."""

    imported: int
    problems: tuple[RowProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class Layout:
    """The columns a kind of file may have, and those it must have."""

    columns: tuple[str, ...]
    required: frozenset[str]


CUSTOMER_LAYOUT = Layout(
    ("kind", "name", "email", "language", "currency", "country", "address", "city", "postal_code",
     "vat_id", "parent_email"),
    frozenset({"kind", "name", "language", "currency", "country"}),
)  # fmt: skip
TOKEN_LAYOUT = Layout(
    ("uid", "type", "contract_id", "customer_email", "status", "valid_until"),
    frozenset({"uid", "type", "contract_id", "customer_email"}),
)


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its first line in the file, and every column's text (stripped; '' if absent)."""

    line: int
    values: dict[str, str]

    def text(self, column: str) -> str:
        return self.values.get(column, "")

    def optional(self, column: str) -> str | None:
        return self.values.get(column) or None


# Reading the file


def read_rows(text: str, layout: Layout) -> tuple[list[Row], list[RowProblem]]:
    """The data rows of a CSV text, or the problems that keep it from being read as ``layout``."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        header = next(_records(reader), None)
    except csv.Error as error:
        return [], [RowProblem(reader.line_num, "header", f"not readable as CSV: {error}")]
    if header is None:
        return [], [RowProblem(HEADER_LINE, "header", "the file is empty: its first line names the columns")]
    columns = [name.strip().lower() for name in header[1]]
    problems = _header_problems(columns, layout, header[0])
    if problems:
        return [], problems
    return _data_rows(reader, columns)


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank record with the line it starts on (a quoted field may span lines)."""
    line = reader.line_num
    for record in reader:
        start, line = line + 1, reader.line_num
        if any(value.strip() for value in record):
            yield start, record


def _header_problems(columns: Sequence[str], layout: Layout, line: int) -> list[RowProblem]:
    problems = []
    known = ", ".join(layout.columns)
    for position, name in enumerate(columns):
        if name not in layout.columns:
            column = name or f"column {position + 1}"
            problems.append(RowProblem(line, column, f"unknown column; the columns are {known}"))
        elif columns.index(name) != position:
            problems.append(RowProblem(line, name, "the column appears twice"))
    problems.extend(
        RowProblem(line, name, "this column is required") for name in sorted(layout.required - set(columns))
    )
    return problems


def _data_rows(reader: Any, columns: Sequence[str]) -> tuple[list[Row], list[RowProblem]]:
    rows: list[Row] = []
    problems: list[RowProblem] = []
    try:
        for line, record in _records(reader):
            if len(rows) == MAX_ROWS:
                limit = f"a file may hold at most {MAX_ROWS} rows; split it and import each part"
                raise InvalidInput("the file is too large", (Problem("$", limit),))
            if len(record) != len(columns):
                message = f"has {len(record)} values; the header names {len(columns)} columns"
                problems.append(RowProblem(line, "row", message))
                continue
            rows.append(Row(line, {name: value.strip() for name, value in zip(columns, record, strict=True)}))
    except csv.Error as error:
        problems.append(RowProblem(reader.line_num, "row", f"not readable as CSV: {error}"))
    return rows, problems


# Checking rows


@dataclass
class _Check:
    """What checking a file has found so far, and the records it would store."""

    services: Services
    actor: Actor
    uow: UnitOfWork
    now: datetime
    problems: list[RowProblem] = field(default_factory=list)
    checked: list[Any] = field(default_factory=list)  # every row's record, bad ones too
    first_by_key: dict[str, tuple[int, Any]] = field(default_factory=dict)  # e-mail/uid: (line, record)
    stored_by_email: dict[str, list[Customer]] = field(default_factory=dict)

    def problem(self, row: Row, column: str, message: str) -> None:
        self.problems.append(RowProblem(row.line, column, message))

    def choice(self, row: Row, column: str, enum_type: type[E], default: E | None = None) -> E | None:
        """The enum member the column names (``default`` when empty), or None after noting a problem."""
        text = row.text(column)
        if not text and default is not None:
            return default
        try:
            return enum_type(text)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in enum_type)
            self.problem(row, column, f"{text!r} is not one of {allowed}")
            return None

    def validated(self, row: Row, kind: RecordKind, record: Any, renamed: dict[str, str]) -> None:
        """Run the kind's own validation (the API's) and note its problems under the file's columns."""
        for problem in kind.validate(record):
            self.use_case_problem(row, problem, renamed)

    def use_case_problem(self, row: Row, problem: Problem, renamed: dict[str, str]) -> None:
        name = problem.path.removeprefix("$.")
        self.problem(row, renamed.get(name, name), problem.message)

    def stored_customers(self, email: str) -> list[Customer]:
        """The operator's stored customers with this e-mail (ignoring case), looked up once."""
        key = email.lower()
        if key not in self.stored_by_email:
            customers = self.uow.customers
            found = customers.list(self.actor.operator_id, filters={"email": email}, after=None, limit=50)
            self.stored_by_email[key] = list(found)
        return self.stored_by_email[key]

    def keep(self, row: Row, record: Any, key: str | None) -> None:
        """Keep a checked record, bad ones too, so that later rows are checked against them by ``key``."""
        self.checked.append(record)
        if key is not None:
            self.first_by_key.setdefault(key, (row.line, record))

    def earlier(self, key: str) -> tuple[int, Any] | None:
        """The line and record of the first earlier row with this key (e-mail or uid), if any."""
        return self.first_by_key.get(key)

    def report(self) -> ImportReport:
        ordered = sorted(self.problems, key=lambda p: p.line)
        return ImportReport(0 if ordered else len(self.checked), tuple(ordered))


def _import(
    services: Services,
    actor: Actor,
    text: str,
    layout: Layout,
    kind: RecordKind,
    check_row: Callable[[_Check, Row], None],
) -> ImportReport:
    require(actor, kind.permission)
    rows, problems = read_rows(text, layout)
    if problems and not rows:
        return ImportReport(0, tuple(problems))
    now = services.clock.now()
    with services.uow() as uow:
        check = _Check(services, actor, uow, now, problems)
        for row in rows:
            check_row(check, row)
        report = check.report()
        if not report.ok:
            return report
        for record in check.checked:
            kind.repository(uow).add(record)
            audit(uow, actor, now, AuditAction.CREATE, kind.name, record.id, None, record)
        uow.commit()
    return report


# Customers


def import_customers_csv(services: Services, actor: Actor, text: str) -> ImportReport:
    """Store every customer of a CSV file (columns: ``CUSTOMER_LAYOUT``), or none if any row is bad."""
    return _import(services, actor, text, CUSTOMER_LAYOUT, CUSTOMERS, _check_customer)


def _check_customer(check: _Check, row: Row) -> None:
    kind = check.choice(row, "kind", CustomerKind)
    _check_lengths(check, row)
    fields: dict[str, Any] = {
        "name": row.text("name"),
        "email": row.optional("email"),
        "language": row.text("language"),
        "currency": row.text("currency"),
        "country": row.text("country"),
        "address": row.optional("address"),
        "city": row.optional("city"),
        "postal_code": row.optional("postal_code"),
        "vat_id": row.optional("vat_id"),
    }
    try:
        fields = customer_fields(check.services, fields)
    except InvalidInput as error:
        for problem in error.problems:
            check.use_case_problem(row, problem, {})
    customer = Customer(
        id=check.services.ids.new_id(), operator_id=check.actor.operator_id,
        kind=kind or CustomerKind.INDIVIDUAL, parent_id=_parent_id(check, row, kind),
        created_at=check.now, updated_at=check.now, **fields,
    )  # fmt: skip
    check.validated(row, CUSTOMERS, customer, {"parent_id": "parent_email"})
    _check_email_is_new(check, row, customer.email)
    check.keep(row, customer, None if customer.email is None else customer.email.lower())


def _check_lengths(check: _Check, row: Row) -> None:
    for column, limit in MAX_LENGTHS.items():
        if len(row.text(column)) > limit:
            check.problem(row, column, f"must be at most {limit} characters")


def _check_email_is_new(check: _Check, row: Row, email: str | None) -> None:
    if email is None:
        return
    earlier = check.earlier(email.lower())
    if earlier is not None:
        check.problem(row, "email", f"{email!r} is already the e-mail of line {earlier[0]}")
    elif check.stored_customers(email):
        check.problem(row, "email", f"a customer with e-mail {email!r} already exists")


def _parent_id(check: _Check, row: Row, kind: CustomerKind | None) -> str | None:
    """The id of the business account named by ``parent_email``: earlier in the file, or stored."""
    email = row.optional("parent_email")
    if email is None:
        return None
    if kind is CustomerKind.BUSINESS:
        check.problem(row, "parent_email", "a business account cannot belong to another account")
        return None
    earlier = check.earlier(email.lower())
    if earlier is not None:
        line = earlier[0]
        parent: Customer = earlier[1]
        if parent.kind is not CustomerKind.BUSINESS:
            check.problem(row, "parent_email", f"line {line} ({email!r}) is not a business account")
            return None
        return parent.id
    businesses = [c for c in check.stored_customers(email) if c.kind is CustomerKind.BUSINESS]
    if len(businesses) == 1:
        return businesses[0].id
    if businesses:
        check.problem(row, "parent_email", f"{len(businesses)} business accounts have e-mail {email!r}")
    else:
        check.problem(
            row, "parent_email", f"no business account with e-mail {email!r} (earlier in this file or stored)"
        )
    return None


# Tokens


def import_tokens_csv(services: Services, actor: Actor, text: str) -> ImportReport:
    """Store every token of a CSV file (columns: ``TOKEN_LAYOUT``), or none if any row is bad."""
    return _import(services, actor, text, TOKEN_LAYOUT, TOKENS, _check_token)


def _check_token(check: _Check, row: Row) -> None:
    token_type = check.choice(row, "type", TokenType)
    status = check.choice(row, "status", TokenStatus, TokenStatus.ACTIVE)
    token = Token(
        id=check.services.ids.new_id(), operator_id=check.actor.operator_id,
        customer_id=_customer_id(check, row) or "", uid=row.text("uid"),
        type=token_type or TokenType.RFID, contract_id=row.text("contract_id"),
        status=status or TokenStatus.ACTIVE, valid_until=_moment(check, row, "valid_until"),
        created_at=check.now, updated_at=check.now,
    )  # fmt: skip
    check.validated(row, TOKENS, token, {"customer_id": "customer_email"})
    _check_uid_is_new(check, row, token.uid)
    check.keep(row, token, token.uid)


def _customer_id(check: _Check, row: Row) -> str | None:
    email = row.text("customer_email")
    if not email:
        check.problem(row, "customer_email", "must name the customer the token belongs to")
        return None
    customers = check.stored_customers(email)
    if len(customers) == 1:
        return customers[0].id
    if customers:
        check.problem(row, "customer_email", f"{len(customers)} customers have e-mail {email!r}")
    else:
        check.problem(row, "customer_email", f"no customer with e-mail {email!r}")
    return None


def _moment(check: _Check, row: Row, column: str) -> datetime | None:
    """An RFC 3339 date-time with its offset (e.g. 2027-12-31T23:00:00Z) in UTC, or None if empty."""
    text = row.text(column)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in text.upper():
        check.problem(row, column, f"{text!r} is not an RFC 3339 date-time like 2027-12-31T23:00:00Z")
        return None
    return moment.astimezone(UTC)


def _check_uid_is_new(check: _Check, row: Row, uid: str) -> None:
    earlier = check.earlier(uid)
    if earlier is not None:
        check.problem(row, "uid", f"{uid!r} is already the uid of line {earlier[0]}")
    elif uid and check.uow.tokens.find_by_uid(check.actor.operator_id, uid) is not None:
        check.problem(row, "uid", f"a token with uid {uid!r} already exists")
