"""Dispatch configs: list, create and rotate (the signing secret shown once), edit, send a test,
deactivate and reactivate, all through ``dispatch.service`` as the REST API does."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from taskbridge.activities.status import Channel
from taskbridge.auth.permissions import Permission
from taskbridge.dispatch import service
from taskbridge.dispatch.dependencies import SettingsDep
from taskbridge.dispatch.ping import ping
from taskbridge.dispatch.presenters import present_config, present_test_attempt
from taskbridge.dispatch.schemas import (
    DEFAULT_OVERLAP_SECONDS,
    DispatchConfigCreate,
    DispatchConfigUpdate,
    Provider,
    SecretRotation,
)
from taskbridge.errors import BadRequest, Conflict
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute, session_factory_of
from taskbridge.models import DispatchConfig
from taskbridge.web.context import Can, PanelUser, Viewer
from taskbridge.web.forms import checked, discard, field_errors
from taskbridge.web.rendering import redirect, render

router = APIRouter(prefix="/dispatch-configs", route_class=UnitOfWorkRoute)
ConfigManager = Annotated[PanelUser, Can(Permission.MANAGE_ACTIVITY_CONFIG)]
PER_PAGE = 100  # a tenant has at most one active config per channel: one page is plenty
OVERLAPS = (0, 3600, DEFAULT_OVERLAP_SECONDS, 7 * DEFAULT_OVERLAP_SECONDS)


def _blank_is_none(value: str) -> str | None:
    return value.strip() or None


async def _list_page(
    request: Request, session: SessionDep, me: PanelUser, status_code: int = 200, **values: object
) -> Response:
    configs, _ = await service.list_configs(session, me.tenant_id, offset=0, limit=PER_PAGE)
    defaults: dict[str, object] = {"errors": {}, "form": {}, "notice": None}
    return render(
        request,
        "dispatch_configs.html",
        status_code,
        configs=[present_config(c) for c in configs],
        channels=list(Channel),
        providers=list(Provider),
        **{**defaults, **values},
    )


def _secret_page(request: Request, config: DispatchConfig, secret: str, rotated: bool) -> Response:
    """The one response that shows the signing secret; reloading does not show it again."""
    return render(
        request,
        "dispatch_config_secret.html",
        config=present_config(config),
        secret=secret,
        rotated=rotated,
    )


@router.get("")
async def list_configs(request: Request, session: SessionDep, me: Viewer) -> Response:
    return await _list_page(request, session, me, notice=request.query_params.get("notice"))


@router.post("")
async def create_config(
    request: Request,
    session: SessionDep,
    me: ConfigManager,
    settings: SettingsDep,
    channel: Annotated[str, Form()] = "",
    provider: Annotated[str, Form()] = "",
    endpoint_url: Annotated[str, Form()] = "",
    auth_header_name: Annotated[str, Form()] = "",
    auth_header_value: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "channel": channel,
        "provider": provider,
        "endpoint_url": endpoint_url,
        "auth_header_name": auth_header_name,
    }
    try:
        data = checked(
            DispatchConfigCreate,
            channel=channel,
            provider=provider,
            endpoint_url=_blank_is_none(endpoint_url),
            auth_header_name=_blank_is_none(auth_header_name),
            auth_header_value=auth_header_value or None,
        )
        shown = await service.create_config(session, me.tenant_id, data, settings)
    except (BadRequest, Conflict) as exc:
        await discard(session)
        errors = field_errors(exc) if isinstance(exc, BadRequest) else {"channel": exc.message}
        return await _list_page(request, session, me, 400, errors=errors, form=form)
    return _secret_page(request, shown.config, shown.signing_secret, rotated=False)


@router.get("/{config_id}")
async def edit_page(
    request: Request, config_id: uuid.UUID, session: SessionDep, me: ConfigManager
) -> Response:
    config = present_config(await service.get_config(session, me.tenant_id, config_id))
    form = {"endpoint_url": config.endpoint_url or "", "auth_header_name": config.auth_header_name}
    return render(
        request,
        "dispatch_config_edit.html",
        config=config,
        form=form,
        errors={},
        overlaps=OVERLAPS,
        notice=request.query_params.get("notice"),
    )


def _update_of(
    config: DispatchConfig, endpoint_url: str, auth_header_name: str, auth_header_value: str
) -> DispatchConfigUpdate:
    """The PATCH body the form means: an empty header name removes the header, an empty value
    keeps the stored one (which is never shown back)."""
    values: dict[str, object] = {"endpoint_url": _blank_is_none(endpoint_url)}
    name = _blank_is_none(auth_header_name)
    if name is not None or config.auth_header_name is not None:
        values["auth_header_name"] = name
    if auth_header_value:
        values["auth_header_value"] = auth_header_value
    return checked(DispatchConfigUpdate, **values)


@router.post("/{config_id}")
async def update_config(
    request: Request,
    config_id: uuid.UUID,
    session: SessionDep,
    me: ConfigManager,
    settings: SettingsDep,
    endpoint_url: Annotated[str, Form()] = "",
    auth_header_name: Annotated[str, Form()] = "",
    auth_header_value: Annotated[str, Form()] = "",
) -> Response:
    config = await service.get_config(session, me.tenant_id, config_id)
    shown = present_config(config)
    try:
        data = _update_of(config, endpoint_url, auth_header_name, auth_header_value)
        await service.update_config(session, me.tenant_id, config_id, data, settings)
    except BadRequest as exc:
        await discard(session)
        form = {"endpoint_url": endpoint_url, "auth_header_name": auth_header_name}
        return render(
            request,
            "dispatch_config_edit.html",
            400,
            config=shown,
            form=form,
            errors=field_errors(exc),
            overlaps=OVERLAPS,
            notice=None,
        )
    return redirect(f"/dispatch-configs/{config_id}?notice=saved")


@router.post("/{config_id}/rotate")
async def rotate_secret(
    request: Request,
    config_id: uuid.UUID,
    session: SessionDep,
    me: ConfigManager,
    settings: SettingsDep,
    overlap_seconds: Annotated[str, Form()] = str(DEFAULT_OVERLAP_SECONDS),
) -> Response:
    """A new secret, shown this once; the old one keeps signing beside it for the overlap."""
    try:
        overlap = int(overlap_seconds)
    except ValueError:
        raise BadRequest("must be a whole number of seconds", field="overlap_seconds") from None
    rotation = checked(SecretRotation, overlap_seconds=overlap)
    shown = await service.rotate_secret(
        session,
        me.tenant_id,
        config_id,
        overlap_seconds=rotation.overlap_seconds,
        settings=settings,
    )
    return _secret_page(request, shown.config, shown.signing_secret, rotated=True)


@router.post("/{config_id}/test")
async def send_test(
    request: Request,
    config_id: uuid.UUID,
    session: SessionDep,
    me: ConfigManager,
    settings: SettingsDep,
) -> Response:
    """A signed ``ping`` sent now (no transaction open while it waits); the answer shown."""
    config = present_config(await service.get_config(session, me.tenant_id, config_id))
    # This request only read: its transaction (on SQLite, the write lock every transaction
    # takes) ends here, before the ping reads in its own and waits on the network.
    await session.rollback()
    network = request.app.state.dispatch_network
    result = await ping(session_factory_of(request), me.tenant_id, config_id, settings, network)
    attempt = present_test_attempt(result.webhook_id, result.attempt)
    return render(request, "dispatch_config_test.html", config=config, attempt=attempt)


@router.post("/{config_id}/deactivate")
async def deactivate(
    config_id: uuid.UUID, session: SessionDep, me: ConfigManager, settings: SettingsDep
) -> Response:
    """Stop pushing the channel: its pending deliveries are canceled, its tasks stay READY."""
    data = DispatchConfigUpdate(is_active=False)
    await service.update_config(session, me.tenant_id, config_id, data, settings)
    return redirect("/dispatch-configs?notice=deactivated")


@router.post("/{config_id}/activate")
async def activate(
    request: Request,
    config_id: uuid.UUID,
    session: SessionDep,
    me: ConfigManager,
    settings: SettingsDep,
) -> Response:
    data = DispatchConfigUpdate(is_active=True)
    try:
        await service.update_config(session, me.tenant_id, config_id, data, settings)
    except Conflict as exc:
        await discard(session)
        row_errors = {str(config_id): exc.message}
        return await _list_page(request, session, me, 409, row_errors=row_errors)
    return redirect("/dispatch-configs?notice=activated")
