"""``/api/dispatch-configs``, ``/api/deliveries`` and force dispatch of a task."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from taskbridge.dispatch import deliveries, service
from taskbridge.dispatch.dependencies import (
    ConfigManager,
    Dispatcher,
    RotationBody,
    SettingsDep,
    Viewer,
)
from taskbridge.dispatch.ping import ping
from taskbridge.dispatch.presenters import (
    present_config,
    present_config_with_secret,
    present_delivery,
    present_test_attempt,
)
from taskbridge.dispatch.schemas import (
    DeliveryPage,
    DeliveryRead,
    DeliveryStatus,
    DispatchConfigCreate,
    DispatchConfigPage,
    DispatchConfigRead,
    DispatchConfigUpdate,
    DispatchConfigWithSecret,
    SecretRotation,
    TestAttemptRead,
)
from taskbridge.kit.body import JsonBody, documented_body
from taskbridge.kit.openapi import SAMPLE_ID, refused
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute, session_factory_of

router = APIRouter(prefix="/api", tags=["dispatch"], route_class=UnitOfWorkRoute)

CONFIG_404: dict[int | str, dict[str, Any]] = {
    404: refused(
        "No such dispatch config in this tenant", f"Dispatch config '{SAMPLE_ID}' not found"
    )
}
DELIVERY_404: dict[int | str, dict[str, Any]] = {
    404: refused("No such delivery in this tenant", f"Delivery '{SAMPLE_ID}' not found")
}
CHANNEL_TAKEN = refused(
    "The channel already has an active dispatch config: `existingConfigId` names it",
    f"Channel SALESMAN already has an active dispatch config ({SAMPLE_ID}); deactivate it first",
    existingConfigId=SAMPLE_ID,
)


@router.post(
    "/dispatch-configs",
    operation_id="createDispatchConfig",
    status_code=201,
    response_model=DispatchConfigWithSecret,
    responses={409: CHANNEL_TAKEN},
)
async def create_dispatch_config(
    session: SessionDep,
    caller: ConfigManager,
    settings: SettingsDep,
    body: Annotated[DispatchConfigCreate, JsonBody(DispatchConfigCreate)],
) -> Response:
    """Push a channel's tasks to an endpoint. `signingSecret` is shown here only: keep it."""
    shown = await service.create_config(session, caller.tenant_id, body, settings)
    return model_response(present_config_with_secret(shown), status_code=201)


@router.get(
    "/dispatch-configs", operation_id="listDispatchConfigs", response_model=DispatchConfigPage
)
async def list_dispatch_configs(session: SessionDep, caller: Viewer, paging: PageQuery) -> Response:
    """The tenant's dispatch configs, oldest first (secrets and auth values never shown)."""
    configs, total = await service.list_configs(
        session, caller.tenant_id, offset=paging.offset, limit=paging.per_page
    )
    page = DispatchConfigPage(data=[present_config(c) for c in configs], meta=paging.meta(total))
    return model_response(page)


@router.get(
    "/dispatch-configs/{config_id}",
    operation_id="getDispatchConfig",
    response_model=DispatchConfigRead,
    responses=CONFIG_404,
)
async def get_dispatch_config(
    config_id: uuid.UUID, session: SessionDep, caller: Viewer
) -> Response:
    """One dispatch config."""
    return model_response(
        present_config(await service.get_config(session, caller.tenant_id, config_id))
    )


@router.patch(
    "/dispatch-configs/{config_id}",
    operation_id="updateDispatchConfig",
    response_model=DispatchConfigRead,
    responses={**CONFIG_404, 409: CHANNEL_TAKEN},
)
async def update_dispatch_config(
    config_id: uuid.UUID,
    session: SessionDep,
    caller: ConfigManager,
    settings: SettingsDep,
    body: Annotated[DispatchConfigUpdate, JsonBody(DispatchConfigUpdate)],
) -> Response:
    """Change `is_active`, `endpoint_url` or the auth header; deactivating cancels pending sends."""
    config = await service.update_config(session, caller.tenant_id, config_id, body, settings)
    return model_response(present_config(config))


@router.delete(
    "/dispatch-configs/{config_id}",
    operation_id="deleteDispatchConfig",
    status_code=204,
    responses=CONFIG_404,
)
async def delete_dispatch_config(
    config_id: uuid.UUID, session: SessionDep, caller: ConfigManager
) -> Response:
    """Delete a config; its delivery log stays, its pending deliveries are canceled."""
    await service.delete_config(session, caller.tenant_id, config_id)
    return Response(status_code=204)


@router.post(
    "/dispatch-configs/{config_id}/rotate-secret",
    operation_id="rotateDispatchSigningSecret",
    response_model=DispatchConfigWithSecret,
    responses=CONFIG_404,
    openapi_extra={
        "requestBody": {**documented_body(SecretRotation)["requestBody"], "required": False}
    },
)
async def rotate_signing_secret(
    config_id: uuid.UUID,
    session: SessionDep,
    caller: ConfigManager,
    settings: SettingsDep,
    body: RotationBody,
) -> Response:
    """A new `signingSecret`; the old one also signs for `overlap_seconds` (default 1 day)."""
    shown = await service.rotate_secret(
        session,
        caller.tenant_id,
        config_id,
        overlap_seconds=body.overlap_seconds,
        settings=settings,
    )
    return model_response(present_config_with_secret(shown))


@router.post(
    "/dispatch-configs/{config_id}/test",
    operation_id="testDispatchConfig",
    response_model=TestAttemptRead,
    responses=CONFIG_404,
)
async def test_dispatch_config(
    request: Request, config_id: uuid.UUID, caller: ConfigManager, settings: SettingsDep
) -> Response:
    """Send a signed `ping` event now and return what the endpoint answered."""
    network = request.app.state.dispatch_network
    result = await ping(session_factory_of(request), caller.tenant_id, config_id, settings, network)
    return model_response(present_test_attempt(result.webhook_id, result.attempt))


@router.get("/deliveries", operation_id="listDeliveries", response_model=DeliveryPage)
async def list_deliveries(
    session: SessionDep,
    caller: Viewer,
    paging: PageQuery,
    activity_id: uuid.UUID | None = None,
    status: DeliveryStatus | None = None,
) -> Response:
    """Deliveries newest first, each with every attempt (time, status, response, error)."""
    log = await deliveries.list_deliveries(
        session,
        caller.tenant_id,
        activity_id=activity_id,
        status=status,
        offset=paging.offset,
        limit=paging.per_page,
    )
    data = [present_delivery(d, log.attempts[d.id]) for d in log.deliveries]
    return model_response(DeliveryPage(data=data, meta=paging.meta(log.total)))


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    operation_id="redeliverDelivery",
    status_code=202,
    response_model=DeliveryRead,
    responses={
        **DELIVERY_404,
        409: refused(
            "Being sent right now, its task is completed or canceled, or its config is "
            "inactive or deleted",
            f"Delivery '{SAMPLE_ID}' is being sent right now",
        ),
    },
)
async def redeliver(delivery_id: uuid.UUID, session: SessionDep, caller: Dispatcher) -> Response:
    """Send a delivery again now, with the same `webhook-id` (a FAILED task becomes READY)."""
    delivery = await deliveries.redeliver(
        session, caller.tenant_id, delivery_id, actor=caller.actor
    )
    attempts = await deliveries.attempts_of(session, caller.tenant_id, delivery)
    return model_response(present_delivery(delivery, attempts), status_code=202)


@router.post(
    "/activities/tasks/{activity_id}/dispatch",
    operation_id="forceDispatchTask",
    status_code=202,
    response_model=DeliveryRead,
    responses={
        404: refused("No such activity in this tenant", f"Activity '{SAMPLE_ID}' not found"),
        409: refused(
            "Not READY or FAILED, or no active dispatch config for its channel",
            "No active dispatch config for channel SALESMAN",
        ),
    },
)
async def force_dispatch(
    activity_id: uuid.UUID, session: SessionDep, caller: Dispatcher
) -> Response:
    """Force (re)dispatch: a FAILED task becomes READY and is queued for push now."""
    delivery = await deliveries.force_dispatch(
        session, caller.tenant_id, activity_id, actor=caller.actor
    )
    attempts = await deliveries.attempts_of(session, caller.tenant_id, delivery)
    return model_response(present_delivery(delivery, attempts), status_code=202)
