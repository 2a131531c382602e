"""``GET /api/integration/events``: the tenant's event feed, oldest first, with long polling."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request, Response

from taskbridge.auth.dependencies import RequirePermission
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.events import service
from taskbridge.events.schemas import TYPES_RULE, EventPage, EventQuery
from taskbridge.kit.openapi import refused
from taskbridge.kit.query import QueryModel, documented_query
from taskbridge.kit.responses import document_response
from taskbridge.kit.uow import UnitOfWorkRoute, session_factory_of

router = APIRouter(prefix="/api/integration", tags=["integration"], route_class=UnitOfWorkRoute)

Viewer = Annotated[ApiKeyPrincipal, RequirePermission(Permission.VIEW_ACTIVITIES)]


@router.get(
    "/events",
    operation_id="listEvents",
    response_model=EventPage,
    responses={
        400: refused(
            "A query parameter is unknown or out of bounds (`limit` or `per_page` 1..100, "
            "`wait` 0..30), `types` names an unknown type, or `after` is not a cursor this "
            "server issued",
            f"types: {TYPES_RULE}",
        ),
        410: refused(
            "`after` is older than the events kept (`TASKBRIDGE_EVENT_RETENTION_DAYS`): "
            "resynchronise from the task list, then read the feed again without `after`",
            service.RESYNC.format(days=30),
        ),
    },
    openapi_extra=documented_query(EventQuery),
)
async def list_events(
    request: Request,
    key: Viewer,
    query: Annotated[EventQuery, QueryModel(EventQuery)],
) -> Response:
    """The tenant's events after `after`, oldest first; send `meta.nextCursor` back as `after`.

    Every event is delivered once, in the same order to every reader. With `wait`, an empty
    answer is held until an event arrives or `wait` seconds pass.
    """
    settings = request.app.state.settings
    page = await service.follow(
        session_factory_of(request),
        request.app.state.event_signal,
        key.tenant_id,
        query,
        retention=timedelta(days=settings.event_retention_days),
        max_wait=settings.event_max_wait_seconds,
    )
    meta = {"limit": query.per_page, "nextCursor": page.next_cursor}
    return document_response({"data": page.events, "meta": meta})
