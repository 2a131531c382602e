"""``/api/integration``: result-type configs, tasks, result submission, key introspection."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from taskbridge.activities import service as activities
from taskbridge.activities.presenters import task_document, task_page_document
from taskbridge.activities.schemas import TaskPage, TaskRead
from taskbridge.auth.dependencies import AnyApiKey, RequirePermission
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.db import session_scope
from taskbridge.idempotency import service as idempotency
from taskbridge.integration.configs import configs_answer
from taskbridge.integration.schemas import KeyIntrospection, TaskQuery
from taskbridge.kit.body import JsonBody
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.openapi import SAMPLE_ID, header, merged, refused, response_headers
from taskbridge.kit.query import QueryModel, documented_query
from taskbridge.kit.responses import JSON, document_response, model_response
from taskbridge.kit.uow import (
    SessionDep,
    UnitOfWorkRoute,
    on_rollback,
    read_session_factory_of,
    reads_only,
    received_at,
    session_factory_of,
)
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeConfig
from taskbridge.result_types.service import Catalogue
from taskbridge.results import service as results
from taskbridge.results.presenters import result_json
from taskbridge.results.schemas import ResultRead, ResultSubmission

router = APIRouter(prefix="/api/integration", tags=["integration"], route_class=UnitOfWorkRoute)

Viewer = Annotated[ApiKeyPrincipal, RequirePermission(Permission.VIEW_ACTIVITIES)]
Submitter = Annotated[ApiKeyPrincipal, RequirePermission(Permission.SUBMIT_ACTIVITY_RESULT)]

ETAG = {
    "description": "The catalogue's version in this language: send it back in `If-None-Match`",
    "required": True,
    "schema": {"type": "string"},
}
CONFIGS_DOCUMENT = merged(
    {
        "parameters": [
            header(
                "Accept-Language",
                "Preferred languages (`en`, `en-US,en;q=0.9,es;q=0.5`): `label` is the first "
                "one's translation, else the default label",
            ),
            header(
                "If-None-Match",
                "An `ETag` from an earlier answer (or a list of them, or `*`): a 304 while it "
                "is current",
            ),
        ]
    },
    response_headers(200, {"ETag": ETAG}),
    response_headers(304, {"ETag": ETAG}),
)
PRINTABLE = "^[^\\u0000-\\u001f\\u007f-\\u00a0\\u00ad]+$"
"""What ``str.isprintable`` accepts of the Latin-1 a header value is read as."""
SUBMISSION_DOCUMENT = merged(
    {
        "parameters": [
            header(
                "Idempotency-Key",
                "Repeat it on every retry of one submission: the first 201 is replayed, kept "
                "24 hours per API key",
                minLength=1,
                maxLength=255,
                pattern=PRINTABLE,
            )
        ]
    },
    response_headers(
        201,
        {
            "Idempotent-Replayed": {
                "description": "`true` on the replay of an earlier answer (same "
                "`Idempotency-Key`, same body); absent otherwise",
                "required": False,
                "schema": {"type": "string", "enum": ["true"]},
            }
        },
    ),
)
UNKNOWN_CODE = (
    "task_result.result: unknown result code 'Venta completada'; send the code "
    '"SALE_COMPLETED", not the label "Venta completada"; valid codes: SALE_COMPLETED, '
    "NOT_INTERESTED, RESCHEDULE, NO_CONTACT"
)
SUBMISSION_ERRORS: dict[int | str, dict[str, Any]] = {
    400: refused(
        "The body breaks a rule of the contract: an unknown or archived result code (the "
        "message names the code of a label sent instead), a missing or past "
        "`future_scheduled_at`, no id of the activity, a commerce that is not the task's; or "
        "the `Idempotency-Key` is not 1 to 255 printable characters",
        UNKNOWN_CODE,
        details=[{"field": "task_result.result", "message": UNKNOWN_CODE}],
    ),
    404: refused(
        "The activity (by `activity_id` or `provider_activity_id`) or the commerce is not in "
        "this tenant",
        f"Activity '{SAMPLE_ID}' not found",
    ),
    409: refused(
        "The activity already has a final result or is CANCELED (send `hard_override: true`), "
        "or a request with this `Idempotency-Key` is still being processed",
        f"Activity '{SAMPLE_ID}' already has a final result (EFFECTIVE); send "
        "hard_override: true to replace it",
    ),
    422: refused(
        "The `Idempotency-Key` was already used with a different body",
        "Idempotency-Key was already used with a different request body",
    ),
}


@router.get(
    "/task-result-type-configs",
    operation_id="listTaskResultTypeConfigs",
    response_model=list[ResultTypeConfig],
    responses={304: {"description": "Not modified: `If-None-Match` holds the current `ETag`"}},
    openapi_extra=CONFIGS_DOCUMENT,
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

    It loads in a session of its own (a refresh may outlive the request that started it),
    without a transaction: on SQLite the read then never queues for the write lock.
    """
    cache: TtlCache[uuid.UUID, Catalogue] = request.app.state.catalogue_cache

    async def load() -> Catalogue:
        async with session_scope(read_session_factory_of(request)) as own:
            return await result_types.load_catalogue(own, key.tenant_id)

    return await cache.get(key.tenant_id, load)


@router.get(
    "/activities/tasks",
    operation_id="listTasks",
    response_model=TaskPage,
    openapi_extra=documented_query(TaskQuery),
)
@reads_only
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
    document = task_page_document(
        found.rows,
        page=None if cursor else page,
        per_page=per_page,
        total=found.total,
        next_cursor=found.next_cursor,
        locale=key.tenant.locale,
    )
    return document_response(document)


@router.get(
    "/activities/tasks/{activity_id}",
    operation_id="getTask",
    response_model=TaskRead,
    responses={404: refused("Not a task of this key's tenant", f"Task '{SAMPLE_ID}' not found")},
)
@reads_only
async def get_task(activity_id: uuid.UUID, session: SessionDep, key: Viewer) -> Response:
    """One task, in the list-item shape."""
    row = await activities.get_task(session, key.tenant_id, activity_id)
    return document_response(task_document(row, key.tenant.locale))


@router.post(
    "/activity-results/tasks",
    operation_id="submitTaskResult",
    status_code=201,
    response_model=ResultRead,
    responses=SUBMISSION_ERRORS,
    openapi_extra=SUBMISSION_DOCUMENT,
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
    submitter = results.Submitter(
        tenant_id=key.tenant_id,
        actor=key.actor,
        api_key_id=key.key_id,
        locale=key.tenant.locale,
    )
    result = await results.submit_result(
        session,
        submitter,
        body,
        received_at=received_at(request),
        catalogue=await tenant_catalogue(request, key),
    )
    rendered = result_json(result)
    if reservation is not None:
        await idempotency.complete(session, reservation, 201, rendered.decode())
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


@router.get("/me", operation_id="getCurrentApiKey", response_model=KeyIntrospection)
async def who_am_i(key: AnyApiKey) -> Response:
    """What this key is and what it may do."""
    return model_response(KeyIntrospection.of(key))
