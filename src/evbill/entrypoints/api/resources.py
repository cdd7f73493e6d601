"""One way to write a resource's routes: the API's conventions given once, to every resource.

A ``Resource`` names what is particular to a kind of record (its path, its request and response
models, its filters, the use cases that create, read, list, change and delete it); ``resource_router``
turns it into routes that all follow the README's conventions:

- ``POST {path}`` creates: 201, ``ETag`` and ``Location``; unknown fields refused (``Strict`` models);
- ``GET {path}`` lists a cursor page ``{"items": [...], "next_cursor": ...}`` with the resource's filters;
- ``GET {path}/{id}`` reads one record with its ``ETag``;
- ``PATCH {path}/{id}`` changes only the fields sent and needs ``If-Match`` (412 when stale, 428 without);
  null clears only the fields named nullable;
- ``DELETE {path}/{id}`` needs ``If-Match`` too.

Role checks, the audit entry and tenant scoping live in the use cases the resource names (every write
use case goes through ``application.records``), and errors become problem+json in ``problems``, so a
route built here cannot forget them. A resource leaves out what it does not offer (no ``update``: no
PATCH). Routes that are not plain CRUD use the same small helpers: ``with_etag``, ``created``, ``present``,
``page_body``; records with a history (plans, contracts) are in ``history``.

    router = resource_router(record_resource(
        LOCATIONS, path="/locations", tag="locations", model_in=LocationIn, model_patch=LocationPatch,
        model_out=LocationOut, filters=location_filters,
    ))
"""

# No `from __future__ import annotations` here: FastAPI reads the route signatures built in
# `resource_router` at runtime, and those name models held in local variables.

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from evbill.application import records
from evbill.application.records import Page, RecordKind, Services
from evbill.domain.access.operators import Actor
from evbill.entrypoints.api.common import (
    Cursor,
    IfMatch,
    Limit,
    PageOut,
    etag,
    expected_version,
    page_response,
    refuse_nulls,
)
from evbill.entrypoints.api.security import actor, services

API_PREFIX = "/api/v1"

Getter = Callable[[Services, Actor, str], Any]
Lister = Callable[[Services, Actor, dict[str, object], str | None, int], Page[Any]]
Creator = Callable[[Services, Actor, Any], Any]
Updater = Callable[[Services, Actor, str, Any, int], Any]
Deleter = Callable[[Services, Actor, str, int], None]


def present(values: Mapping[str, object]) -> dict[str, object]:
    """The filters a request named: None means "not asked for"."""
    return {name: value for name, value in values.items() if value is not None}


def with_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def created(response: Response, path: str, record_id: str, version: int) -> None:
    """A 201's headers: where the new record is, and the ETag of its first version."""
    with_etag(response, version)
    response.headers["Location"] = f"{API_PREFIX}{path}/{record_id}"


def page_body(page: Page[Any], to_out: Callable[[Any], Any]) -> dict[str, Any]:
    return {"items": [to_out(item) for item in page.items], "next_cursor": page.next_cursor}


def _version(record: Any) -> int:
    version: int = record.version
    return version


def _id(record: Any) -> str:
    record_id: str = record.id
    return record_id


@dataclass(frozen=True)
class Resource:
    """What is particular to one kind of record; ``resource_router`` adds the conventions."""

    path: str
    noun: str
    tag: str
    model_out: type[BaseModel]
    filters: Callable[..., Any]
    get: Getter
    list: Lister
    to_out: Callable[[Any], Any]
    model_in: type[BaseModel] | None = None
    model_patch: type[BaseModel] | None = None
    create: Creator | None = None
    update: Updater | None = None
    delete: Deleter | None = None
    nullable: frozenset[str] = frozenset()
    version_of: Callable[[Any], int] = _version
    id_of: Callable[[Any], str] = _id
    summary_out: type[BaseModel] | None = None
    """The model of a list item, where a list shows less than a read (a plan without its versions)."""
    written: Callable[[Any], Mapping[str, Any]] | None = None
    """A list item as plain values for ``page_response``: lists then skip building a model per item."""
    list_to_out: Callable[[Any], Any] | None = None
    id_name: str = "record_id"
    """The name of the id in the path (``/plans/{plan_id}``), as the OpenAPI document shows it."""


def model_fields(model: type[BaseModel]) -> Callable[[Any], dict[str, Any]]:
    names = tuple(model.model_fields)
    return lambda record: {name: getattr(record, name) for name in names}


def record_resource(
    kind: RecordKind,
    *,
    path: str,
    tag: str,
    model_out: type[BaseModel],
    filters: Callable[..., Any],
    model_in: type[BaseModel] | None = None,
    model_patch: type[BaseModel] | None = None,
    fields: Callable[[BaseModel, Services], dict[str, Any]] | None = None,
    create: Callable[[Services, Actor, dict[str, Any]], Any] | None = None,
    update: Callable[[Services, Actor, str, dict[str, Any], int], Any] | None = None,
    deletable: bool = True,
    to_out: Callable[[Any], Any] | None = None,
    written: Callable[[Any], Mapping[str, Any]] | None = None,
    nullable: frozenset[str] = frozenset(),
    id_name: str = "record_id",
) -> Resource:
    """A resource over the generic record use cases (``application.records``) of ``kind``.

    ``fields`` turns a request body into the fields a use case takes (default: the fields sent);
    ``create``/``update`` replace the generic use cases where a kind checks more (a customer's VAT id).
    """

    def body_fields(body: BaseModel, svc: Services, *, partial: bool) -> dict[str, Any]:
        if fields is not None:
            return fields(body, svc)
        return body.model_dump(exclude_unset=partial)

    def create_(svc: Services, who: Actor, body: BaseModel) -> Any:
        values = body_fields(body, svc, partial=False)
        return records.create(svc, who, kind, values) if create is None else create(svc, who, values)

    def update_(svc: Services, who: Actor, record_id: str, body: BaseModel, version: int) -> Any:
        values = body_fields(body, svc, partial=True)
        if update is None:
            return records.update(svc, who, kind, record_id, values, expected_version=version)
        return update(svc, who, record_id, values, version)

    def delete_(svc: Services, who: Actor, record_id: str, version: int) -> None:
        records.delete(svc, who, kind, record_id, expected_version=version)

    def list_(
        svc: Services, who: Actor, where: dict[str, object], cursor: str | None, limit: int
    ) -> Page[Any]:
        return records.list_records(svc, who, kind, filters=where, cursor=cursor, limit=limit)

    def get_(svc: Services, who: Actor, record_id: str) -> Any:
        return records.get(svc, who, kind, record_id)

    return Resource(
        path=path,
        noun=kind.name,
        tag=tag,
        model_out=model_out,
        filters=filters,
        get=get_,
        list=list_,
        to_out=to_out or (lambda record: model_out.model_validate(record, from_attributes=True)),
        model_in=model_in,
        model_patch=model_patch,
        create=create_ if model_in is not None else None,
        update=update_ if model_patch is not None else None,
        delete=delete_ if deletable else None,
        nullable=nullable,
        written=written or (model_fields(model_out) if to_out is None else None),
        id_name=id_name,
    )


def resource_router(resource: Resource) -> APIRouter:
    """The routes of one resource, each following the API's conventions (see the module's doc)."""
    router = APIRouter(prefix=resource.path, tags=[resource.tag])
    if resource.create is not None:
        _add_create(router, resource)
    _add_list(router, resource)
    _add_read(router, resource)
    if resource.update is not None:
        _add_change(router, resource)
    if resource.delete is not None:
        _add_delete(router, resource)
    return router


def _add_create(router: APIRouter, resource: Resource) -> None:
    model_in, create_record = resource.model_in, resource.create
    assert model_in is not None
    assert create_record is not None

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=resource.model_out,
        summary=f"Create a {resource.noun}",
    )
    def create(
        body: model_in,  # type: ignore[valid-type]
        response: Response,
        who: Actor = Depends(actor),
        svc: Services = Depends(services),
    ) -> Any:
        record = create_record(svc, who, body)
        created(response, resource.path, resource.id_of(record), resource.version_of(record))
        return resource.to_out(record)


def _add_list(router: APIRouter, resource: Resource) -> None:
    item_model = resource.summary_out or resource.model_out
    to_item = resource.list_to_out or resource.to_out
    written = resource.written

    def page(svc: Services, who: Actor, where: dict[str, object], cursor: str | None, limit: int) -> Any:
        listed = resource.list(svc, who, where, cursor, limit)
        if written is not None:  # straight to JSON bytes, as pydantic would write them
            return page_response([written(item) for item in listed.items], listed.next_cursor)
        return page_body(listed, to_item)

    filters = resource.filters
    if not inspect.iscoroutinefunction(filters):
        filters = _as_async(filters)

    @router.get("", response_model=PageOut[item_model], summary=f"List {resource.noun}s")  # type: ignore[valid-type]
    async def list_(
        limit: Limit = 50,
        cursor: Cursor = None,
        where: dict[str, object] = Depends(filters),
        who: Actor = Depends(actor),
        svc: Services = Depends(services),
    ) -> Any:
        # One hand-off to the threadpool for the query and the writing of the page.
        return await run_in_threadpool(page, svc, who, where, cursor, limit)


def _as_async(filters: Callable[..., dict[str, object]]) -> Callable[..., Any]:
    """A sync filter dependency as an async one (no threadpool hop for parsing query parameters)."""

    async def parsed(**values: Any) -> dict[str, object]:
        return filters(**values)

    parsed.__signature__ = inspect.signature(filters)  # type: ignore[attr-defined]
    return parsed


def id_named(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A route function whose path id is called ``name`` (``plan_id``) instead of ``record_id``."""

    def rename(route: Callable[..., Any]) -> Callable[..., Any]:
        if name == "record_id":
            return route
        signature = inspect.signature(route)
        parameters = [
            parameter.replace(name=name) if parameter.name == "record_id" else parameter
            for parameter in signature.parameters.values()
        ]

        @functools.wraps(route)
        def renamed(**values: Any) -> Any:
            values["record_id"] = values.pop(name)
            return route(**values)

        renamed.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return renamed

    return rename


def _add_read(router: APIRouter, resource: Resource) -> None:
    @router.get(
        f"/{{{resource.id_name}}}", response_model=resource.model_out, summary=f"Read a {resource.noun}"
    )
    @id_named(resource.id_name)
    def read(
        record_id: str, response: Response, who: Actor = Depends(actor), svc: Services = Depends(services)
    ) -> Any:
        record = resource.get(svc, who, record_id)
        with_etag(response, resource.version_of(record))
        return resource.to_out(record)


def _add_change(router: APIRouter, resource: Resource) -> None:
    model_patch, update = resource.model_patch, resource.update
    assert model_patch is not None
    assert update is not None

    @router.patch(
        f"/{{{resource.id_name}}}",
        response_model=resource.model_out,
        summary=f"Change a {resource.noun} (send If-Match)",
    )
    @id_named(resource.id_name)
    def change(
        record_id: str,
        body: model_patch,  # type: ignore[valid-type]
        response: Response,
        if_match: IfMatch = None,
        who: Actor = Depends(actor),
        svc: Services = Depends(services),
    ) -> Any:
        version = expected_version(if_match)
        refuse_nulls(body, resource.nullable)
        record = update(svc, who, record_id, body, version)
        with_etag(response, resource.version_of(record))
        return resource.to_out(record)


def _add_delete(router: APIRouter, resource: Resource) -> None:
    delete = resource.delete
    assert delete is not None

    @router.delete(
        f"/{{{resource.id_name}}}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary=f"Delete a {resource.noun} (send If-Match)",
    )
    @id_named(resource.id_name)
    def remove(
        record_id: str,
        if_match: IfMatch = None,
        who: Actor = Depends(actor),
        svc: Services = Depends(services),
    ) -> Response:
        delete(svc, who, record_id, expected_version(if_match))
        return Response(status_code=status.HTTP_204_NO_CONTENT)
