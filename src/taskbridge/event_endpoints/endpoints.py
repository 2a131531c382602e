"""``/api/event-endpoints``: a tenant's event webhooks, their delivery log, redelivery."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Response

from taskbridge.dispatch.dependencies import ConfigManager, RotationBody, SettingsDep, Viewer
from taskbridge.dispatch.schemas import DeliveryStatus, SecretRotation
from taskbridge.event_endpoints import service
from taskbridge.event_endpoints.presenters import (
    present_delivery,
    present_endpoint,
    present_endpoint_with_secret,
)
from taskbridge.event_endpoints.schemas import (
    MAX_ENDPOINTS_PER_TENANT,
    EventDeliveryPage,
    EventDeliveryRead,
    EventEndpointCreate,
    EventEndpointPage,
    EventEndpointRead,
    EventEndpointUpdate,
    EventEndpointWithSecret,
    RedeliverSince,
    RedeliveryCount,
)
from taskbridge.kit.body import JsonBody, documented_body
from taskbridge.kit.openapi import SAMPLE_ID, refused
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api", tags=["event webhooks"], route_class=UnitOfWorkRoute)

ENDPOINT_404: dict[int | str, dict[str, Any]] = {
    404: refused("No such event endpoint in this tenant", f"Event endpoint '{SAMPLE_ID}' not found")
}
DELIVERY_404: dict[int | str, dict[str, Any]] = {
    404: refused(
        "No such event endpoint, or no such delivery of it, in this tenant",
        f"Event delivery '{SAMPLE_ID}' not found",
    )
}
DISABLED = refused(
    "The endpoint is disabled: enable it first",
    f"Event endpoint '{SAMPLE_ID}' is disabled (disabled by an administrator); enable it first",
)


@router.post(
    "/event-endpoints",
    operation_id="createEventEndpoint",
    status_code=201,
    response_model=EventEndpointWithSecret,
    responses={
        409: refused(
            f"The tenant already has {MAX_ENDPOINTS_PER_TENANT} event endpoints",
            f"A tenant has at most {MAX_ENDPOINTS_PER_TENANT} event endpoints; delete one first",
        )
    },
)
async def create_event_endpoint(
    session: SessionDep,
    caller: ConfigManager,
    settings: SettingsDep,
    body: Annotated[EventEndpointCreate, JsonBody(EventEndpointCreate)],
) -> Response:
    """Receive the tenant's events (those committed from now on) at `url`, signed with
    Standard Webhooks. `signingSecret` is shown here only: keep it."""
    shown = await service.create_endpoint(session, caller.tenant_id, body, settings)
    return model_response(present_endpoint_with_secret(shown), status_code=201)


@router.get("/event-endpoints", operation_id="listEventEndpoints", response_model=EventEndpointPage)
async def list_event_endpoints(session: SessionDep, caller: Viewer, paging: PageQuery) -> Response:
    """The tenant's event endpoints, oldest first (secrets never shown)."""
    endpoints, total = await service.list_endpoints(
        session, caller.tenant_id, offset=paging.offset, limit=paging.per_page
    )
    page = EventEndpointPage(data=[present_endpoint(e) for e in endpoints], meta=paging.meta(total))
    return model_response(page)


@router.get(
    "/event-endpoints/{endpoint_id}",
    operation_id="getEventEndpoint",
    response_model=EventEndpointRead,
    responses=ENDPOINT_404,
)
async def get_event_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, caller: Viewer
) -> Response:
    """One event endpoint; a disabled one says why (`disabledReason`)."""
    endpoint = await service.get_endpoint(session, caller.tenant_id, endpoint_id)
    return model_response(present_endpoint(endpoint))


@router.patch(
    "/event-endpoints/{endpoint_id}",
    operation_id="updateEventEndpoint",
    response_model=EventEndpointRead,
    responses=ENDPOINT_404,
)
async def update_event_endpoint(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    caller: ConfigManager,
    settings: SettingsDep,
    body: Annotated[EventEndpointUpdate, JsonBody(EventEndpointUpdate)],
) -> Response:
    """Change `url`, `event_types`, `description` or `enabled`. Disabling cancels the pending
    deliveries; enabling starts at the feed's head (recover the gap with `redeliver` `since`)."""
    endpoint = await service.update_endpoint(session, caller.tenant_id, endpoint_id, body, settings)
    return model_response(present_endpoint(endpoint))


@router.delete(
    "/event-endpoints/{endpoint_id}",
    operation_id="deleteEventEndpoint",
    status_code=204,
    responses=ENDPOINT_404,
)
async def delete_event_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, caller: ConfigManager
) -> Response:
    """Delete an event endpoint and its delivery log."""
    await service.delete_endpoint(session, caller.tenant_id, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/event-endpoints/{endpoint_id}/rotate-secret",
    operation_id="rotateEventEndpointSecret",
    response_model=EventEndpointWithSecret,
    responses=ENDPOINT_404,
    openapi_extra={
        "requestBody": {**documented_body(SecretRotation)["requestBody"], "required": False}
    },
)
async def rotate_event_endpoint_secret(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    caller: ConfigManager,
    settings: SettingsDep,
    body: RotationBody,
) -> Response:
    """A new `signingSecret`; the old one also signs for `overlap_seconds` (default 1 day)."""
    shown = await service.rotate_secret(
        session,
        caller.tenant_id,
        endpoint_id,
        overlap_seconds=body.overlap_seconds,
        settings=settings,
    )
    return model_response(present_endpoint_with_secret(shown))


@router.get(
    "/event-endpoints/{endpoint_id}/deliveries",
    operation_id="listEventDeliveries",
    response_model=EventDeliveryPage,
    responses=ENDPOINT_404,
)
async def list_event_deliveries(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    caller: Viewer,
    paging: PageQuery,
    status: DeliveryStatus | None = None,
) -> Response:
    """The endpoint's deliveries, newest first, each with every attempt."""
    log = await service.list_deliveries(
        session,
        caller.tenant_id,
        endpoint_id,
        status=status,
        offset=paging.offset,
        limit=paging.per_page,
    )
    data = [present_delivery(r, log.attempts[r.delivery.id]) for r in log.rows]
    return model_response(EventDeliveryPage(data=data, meta=paging.meta(log.total)))


@router.get(
    "/event-endpoints/{endpoint_id}/deliveries/{delivery_id}",
    operation_id="getEventDelivery",
    response_model=EventDeliveryRead,
    responses=DELIVERY_404,
)
async def get_event_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, caller: Viewer
) -> Response:
    """One delivery with every attempt (time, status, response, error)."""
    row, attempts = await service.get_delivery(session, caller.tenant_id, endpoint_id, delivery_id)
    return model_response(present_delivery(row, attempts))


@router.post(
    "/event-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    operation_id="redeliverEventDelivery",
    status_code=202,
    response_model=EventDeliveryRead,
    responses={
        **DELIVERY_404,
        409: refused(
            "The endpoint is disabled, the delivery is being sent right now, or its event is "
            "past retention",
            f"Event delivery '{SAMPLE_ID}' is being sent right now",
        ),
    },
)
async def redeliver_event_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, caller: ConfigManager
) -> Response:
    """Send a delivery again now, with the same `webhook-id`."""
    row, attempts = await service.redeliver(session, caller.tenant_id, endpoint_id, delivery_id)
    return model_response(present_delivery(row, attempts), status_code=202)


@router.post(
    "/event-endpoints/{endpoint_id}/redeliver",
    operation_id="redeliverEventsSince",
    status_code=202,
    response_model=RedeliveryCount,
    responses={**ENDPOINT_404, 409: DISABLED},
)
async def redeliver_since(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    caller: ConfigManager,
    body: Annotated[RedeliverSince, JsonBody(RedeliverSince)],
) -> Response:
    """Send again every kept event created since `since` that matches the endpoint's types
    (delivered ones with their old `webhook-id`): how a gap is recovered after an outage or a
    re-enable."""
    queued = await service.redeliver_since(session, caller.tenant_id, endpoint_id, body.since)
    return model_response(RedeliveryCount(queued=queued), status_code=202)
