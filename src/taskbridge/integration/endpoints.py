"""``/api/integration``: result-type configs, tasks, result submission, key introspection."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from taskbridge.activities import service as activities
from taskbridge.activities.presenters import task_document
from taskbridge.activities.schemas import TaskPage, TaskRead
from taskbridge.auth.dependencies import AnyApiKey, RequirePermission
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.db import session_scope
from taskbridge.idempotency import service as idempotency
from taskbridge.integration.configs import configs_answer
from taskbridge.integration.schemas import KeyIntrospection, TaskQuery
from taskbridge.kit.body import JsonBody, documented_body
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.pagination import page_meta
from taskbridge.kit.query import QueryModel, documented_query
from taskbridge.kit.responses import JSON, document_response, model_response
from taskbridge.kit.uow import (
    SessionDep,
    UnitOfWorkRoute,
    on_rollback,
    received_at,
    session_factory_of,
)
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeConfig
from taskbridge.result_types.service import Catalogue
from taskbridge.results import service as results
from taskbridge.results.presenters import present_result
from taskbridge.results.schemas import ResultRead, ResultSubmission

router = APIRouter(prefix="/api/integration", tags=["integration"], route_class=UnitOfWorkRoute)

Viewer = Annotated[ApiKeyPrincipal, RequirePermission(Permission.VIEW_ACTIVITIES)]
Submitter = Annotated[ApiKeyPrincipal, RequirePermission(Permission.SUBMIT_ACTIVITY_RESULT)]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "API key missing or invalid"},
    403: {"description": "Insufficient permissions"},
}


@router.get(
    "/task-result-type-configs",
    response_model=list[ResultTypeConfig],
    responses={**ERRORS, 304: {"description": "Not modified (matching If-None-Match)"}},
)
async def list_result_type_configs(request: Request, key: Viewer) -> Response:
    """The tenant's active result types in display order: send `code`, show `label`.

    Once the key and the catalogue are cached, ``ConfigsFastPath`` answers before this route.
    """
    answer = configs_answer(
        await tenant_catalogue(request, key),
        request.headers.get("accept-language"),
        request.headers.get("if-none-match"),
    )
    return Response(answer.body or None, status_code=answer.status_code, headers=answer.headers)


async def tenant_catalogue(request: Request, key: ApiKeyPrincipal) -> Catalogue:
    """The tenant's catalogue through the per-process cache (fresh within ``cache_ttl_seconds``).

    It loads in a session of its own: a refresh may outlive the request that started it.
    """
    cache: TtlCache[uuid.UUID, Catalogue] = request.app.state.catalogue_cache

    async def load() -> Catalogue:
        async with session_scope(session_factory_of(request)) as own:
            return await result_types.load_catalogue(own, key.tenant_id)

    return await cache.get(key.tenant_id, load)


@router.get(
    "/activities/tasks",
    response_model=TaskPage,
    responses={**ERRORS, 400: {"description": "A query parameter is invalid"}},
    openapi_extra=documented_query(TaskQuery),
)
async def list_tasks(
    request: Request,
    session: SessionDep,
    key: Viewer,
    query: Annotated[TaskQuery, QueryModel(TaskQuery)],
) -> Response:
    """The tenant's tasks, newest `scheduledAt` first; `cursor` for deep reads."""
    page, per_page, cursor = query.page, query.per_page, query.cursor
    found = await activities.list_tasks(
        session,
        key.tenant_id,
        query.filters(),
        page=page,
        per_page=per_page,
        cursor=cursor,
        counts=request.app.state.task_count_cache,
    )
    locale = key.tenant.locale
    meta = page_meta(None if cursor else page, per_page, found.total, found.next_cursor)
    return document_response(
        {
            "data": [task_document(row, locale) for row in found.rows],
            "meta": meta.model_dump(by_alias=True),
        }
    )


@router.get(
    "/activities/tasks/{activity_id}",
    response_model=TaskRead,
    responses={**ERRORS, 404: {"description": "Not a task of this key's tenant"}},
)
async def get_task(activity_id: uuid.UUID, session: SessionDep, key: Viewer) -> Response:
    """One task, in the list-item shape."""
    row = await activities.get_task(session, key.tenant_id, activity_id)
    return document_response(task_document(row, key.tenant.locale))


@router.post(
    "/activity-results/tasks",
    status_code=201,
    response_model=ResultRead,
    responses={
        **ERRORS,
        404: {"description": "Activity or commerce not found in this tenant"},
        409: {"description": "Final result exists (see hard_override), or idempotency conflict"},
        422: {"description": "Idempotency-Key reused with a different body"},
    },
    openapi_extra=documented_body(ResultSubmission),
)
async def submit_task_result(
    request: Request,
    session: SessionDep,
    key: Submitter,
    body: Annotated[ResultSubmission, JsonBody(ResultSubmission)],
) -> Response:
    """Record how a task went; send the result type's `code`, never its label."""
    idempotency_key = request.headers.get("idempotency-key")
    reservation = None
    if idempotency_key is not None:
        outcome = await _reserve(request, key, idempotency_key)
        if isinstance(outcome, idempotency.Replay):
            return Response(
                outcome.body,
                status_code=outcome.status_code,
                media_type=JSON,
                headers={"Idempotent-Replayed": "true"},
            )
        reservation = outcome
        on_rollback(session, partial(idempotency.release, session_factory_of(request), outcome))
    submitter = results.Submitter(tenant_id=key.tenant_id, actor=key.actor, api_key_id=key.key_id)
    result = await results.submit_result(
        session,
        submitter,
        body,
        received_at=received_at(request),
        catalogue=await tenant_catalogue(request, key),
    )
    rendered = present_result(result).model_dump_json(by_alias=True)
    if reservation is not None:
        await idempotency.complete(session, reservation, 201, rendered)
    return Response(rendered, status_code=201, media_type=JSON)


async def _reserve(
    request: Request, key: ApiKeyPrincipal, idempotency_key: str
) -> idempotency.Reservation | idempotency.Replay:
    """Claim the client's key (committed on its own) or the stored outcome of its first use."""
    return await idempotency.reserve(
        session_factory_of(request),
        tenant_id=key.tenant_id,
        api_key_id=key.key_id,
        key=idempotency.check_key(idempotency_key),
        fingerprint=idempotency.request_fingerprint(await request.body()),
    )


@router.get("/me", response_model=KeyIntrospection, responses={401: ERRORS[401]})
async def who_am_i(key: AnyApiKey) -> Response:
    """What this key is and what it may do."""
    return model_response(KeyIntrospection.of(key))
