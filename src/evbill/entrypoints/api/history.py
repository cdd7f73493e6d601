"""Records with a history: a plan and its versions, a contract and its terms.

Reads show the record with its whole history (ordered by ``number``), lists show summaries, and a
change adds to the history through a route of its own (``add_history_route``, If-Match), never PATCH:
nothing is overwritten. Built on ``resources.Resource``, so the API's conventions hold here too.
"""

# No `from __future__ import annotations` here: FastAPI reads the route signatures at runtime.

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel

from evbill.application import records
from evbill.application.records import Page, RecordKind, Services
from evbill.domain.access.operators import Actor
from evbill.entrypoints.api.common import IfMatch, expected_version
from evbill.entrypoints.api.resources import Resource, id_named, model_fields, with_etag
from evbill.entrypoints.api.security import actor, services


@dataclass(frozen=True)
class WithHistory:
    """A record read together with its history (``history`` in any order; shown by ``number``)."""

    record: Any
    history: tuple[Any, ...]


def history_resource(
    kind: RecordKind,
    *,
    path: str,
    tag: str,
    model_in: type[BaseModel],
    model_out: type[BaseModel],
    summary_out: type[BaseModel],
    history_field: str,
    history_out: type[BaseModel],
    filters: Callable[..., Any],
    create: Callable[[Services, Actor, Any], tuple[Any, Any]],
    read: Callable[[Services, Actor, str], tuple[Any, Any]],
    id_name: str = "record_id",
) -> Resource:
    """A resource whose reads show the record with its whole history, and whose lists show summaries.

    ``create`` makes the record and its first history entry; ``read`` returns both. New history
    entries come through a route of their own (``add_history_route``), never PATCH: nothing is
    overwritten.
    """

    def to_out(pair: WithHistory) -> BaseModel:
        ordered = sorted(pair.history, key=lambda entry: entry.number)
        return model_out(
            **summary_out.model_validate(pair.record, from_attributes=True).model_dump(),
            **{history_field: [history_out.model_validate(entry, from_attributes=True) for entry in ordered]},
        )

    def create_(svc: Services, who: Actor, body: BaseModel) -> WithHistory:
        record, first = create(svc, who, body)
        return WithHistory(record, (first,))

    def get_(svc: Services, who: Actor, record_id: str) -> WithHistory:
        record, history = read(svc, who, record_id)
        return WithHistory(record, tuple(history))

    def list_(
        svc: Services, who: Actor, where: dict[str, object], cursor: str | None, limit: int
    ) -> Page[Any]:
        return records.list_records(svc, who, kind, filters=where, cursor=cursor, limit=limit)

    return Resource(
        path=path,
        noun=kind.name,
        tag=tag,
        model_out=model_out,
        filters=filters,
        get=get_,
        list=list_,
        to_out=to_out,
        model_in=model_in,
        create=create_,
        version_of=lambda pair: pair.record.version,
        id_of=lambda pair: pair.record.id,
        summary_out=summary_out,
        written=model_fields(summary_out),
        id_name=id_name,
    )


def add_history_route(
    router: APIRouter,
    resource: Resource,
    *,
    path: str,
    model_in: type[BaseModel],
    summary: str,
    add: Callable[[Services, Actor, str, Any, int], None],
    status_code: int = status.HTTP_201_CREATED,
) -> None:
    """``POST {resource.path}/{id}{path}``: a change that adds to the history (send If-Match); answers
    the record with its whole history and its new ETag."""

    @router.post(
        f"/{{{resource.id_name}}}{path}",
        status_code=status_code,
        response_model=resource.model_out,
        summary=summary,
    )
    @id_named(resource.id_name)
    def add_to_history(
        record_id: str,
        body: model_in,  # type: ignore[valid-type]
        response: Response,
        if_match: IfMatch = None,
        who: Actor = Depends(actor),
        svc: Services = Depends(services),
    ) -> Any:
        add(svc, who, record_id, body, expected_version(if_match))
        record = resource.get(svc, who, record_id)
        with_etag(response, resource.version_of(record))
        return resource.to_out(record)
