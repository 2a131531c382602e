"""Event endpoints: list (a disabled one says why), create and rotate (the signing secret shown
once), edit, enable and disable, delete after a confirmation, redeliver everything since a time;
each endpoint's deliveries with their attempts, one redelivered. All through
``event_endpoints.service`` as ``/api/event-endpoints`` does (same rules, refusals, audit)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from taskbridge.auth.permissions import Permission
from taskbridge.dispatch.dependencies import SettingsDep
from taskbridge.dispatch.schemas import DEFAULT_OVERLAP_SECONDS, SecretRotation
from taskbridge.errors import BadRequest, Conflict
from taskbridge.event_endpoints import service
from taskbridge.event_endpoints.presenters import present_delivery, present_endpoint
from taskbridge.event_endpoints.schemas import (
    MAX_ENDPOINTS_PER_TENANT,
    DeliveryStatus,
    EventEndpointCreate,
    EventEndpointUpdate,
)
from taskbridge.events.schemas import EventType
from taskbridge.kit.pagination import page_meta
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.models import EventEndpoint
from taskbridge.web.context import Can, PanelUser, Viewer
from taskbridge.web.forms import FORM, checked, discard, field_errors, page_number, parse_local
from taskbridge.web.rendering import redirect, render

router = APIRouter(prefix="/event-endpoints", route_class=UnitOfWorkRoute)
ConfigManager = Annotated[PanelUser, Can(Permission.MANAGE_ACTIVITY_CONFIG)]
PER_PAGE = MAX_ENDPOINTS_PER_TENANT  # every endpoint of a tenant fits on one page
DELIVERIES_PER_PAGE = 25
OVERLAPS = (0, 3600, DEFAULT_OVERLAP_SECONDS, 7 * DEFAULT_OVERLAP_SECONDS)
EVENT_TYPES = [str(t) for t in EventType]
Types = Annotated[list[str] | None, Form()]


def _errors_of(exc: BadRequest) -> dict[str, str]:
    """Field errors by form field: an item's (``event_types.0``) shown by its checkbox group."""
    errors: dict[str, str] = {}
    for field, message in field_errors(exc).items():
        errors.setdefault(field.split(".")[0], message)
    return errors


def _form_of(url: str, event_types: list[str] | None, description: str) -> dict[str, object]:
    return {"url": url, "event_types": event_types or [], "description": description}


async def _list_page(
    request: Request, session: SessionDep, me: PanelUser, status_code: int = 200, **values: object
) -> Response:
    endpoints, _ = await service.list_endpoints(session, me.tenant_id, offset=0, limit=PER_PAGE)
    defaults: dict[str, object] = {"errors": {}, "form": {}, "notice": None}
    return render(
        request,
        "event_endpoints.html",
        status_code,
        endpoints=[present_endpoint(e) for e in endpoints],
        event_types=EVENT_TYPES,
        **{**defaults, **values},
    )


async def _edit_page(
    request: Request,
    session: AsyncSession,
    me: PanelUser,
    endpoint_id: uuid.UUID,
    status_code: int = 200,
    **values: object,
) -> Response:
    endpoint = present_endpoint(await service.get_endpoint(session, me.tenant_id, endpoint_id))
    form = _form_of(endpoint.url, endpoint.event_types, endpoint.description or "")
    defaults: dict[str, object] = {"errors": {}, "form": form, "notice": None, "queued": None}
    return render(
        request,
        "event_endpoint_edit.html",
        status_code,
        endpoint=endpoint,
        event_types=EVENT_TYPES,
        overlaps=OVERLAPS,
        **{**defaults, **values},
    )


def _secret_page(request: Request, endpoint: EventEndpoint, secret: str, rotated: bool) -> Response:
    """The one response that shows the signing secret; reloading does not show it again."""
    return render(
        request,
        "event_endpoint_secret.html",
        endpoint=present_endpoint(endpoint),
        secret=secret,
        rotated=rotated,
    )


@router.get("")
async def list_endpoints(request: Request, session: SessionDep, me: Viewer) -> Response:
    return await _list_page(request, session, me, notice=request.query_params.get("notice"))


@router.post("")
async def create_endpoint(
    request: Request,
    session: SessionDep,
    me: ConfigManager,
    settings: SettingsDep,
    url: Annotated[str, Form()] = "",
    event_types: Types = None,
    description: Annotated[str, Form()] = "",
) -> Response:
    """The endpoint, then the page that shows its signing secret this once."""
    form = _form_of(url, event_types, description)
    try:
        data = checked(
            EventEndpointCreate,
            url=url.strip(),
            event_types=event_types or [],
            description=description.strip() or None,
        )
        shown = await service.create_endpoint(session, me.tenant_id, data, settings)
    except BadRequest as exc:
        await discard(session)
        return await _list_page(request, session, me, 400, errors=_errors_of(exc), form=form)
    except Conflict as exc:
        await discard(session)
        errors = {FORM: exc.message}
        return await _list_page(request, session, me, 409, errors=errors, form=form)
    return _secret_page(request, shown.endpoint, shown.signing_secret, rotated=False)


@router.get("/{endpoint_id}")
async def edit_page(
    request: Request, endpoint_id: uuid.UUID, session: SessionDep, me: ConfigManager
) -> Response:
    queued = request.query_params.get("queued")
    return await _edit_page(
        request,
        session,
        me,
        endpoint_id,
        notice=request.query_params.get("notice"),
        queued=int(queued) if queued and queued.isdigit() else None,
    )


@router.post("/{endpoint_id}")
async def update_endpoint(
    request: Request,
    endpoint_id: uuid.UUID,
    session: SessionDep,
    me: ConfigManager,
    settings: SettingsDep,
    url: Annotated[str, Form()] = "",
    event_types: Types = None,
    description: Annotated[str, Form()] = "",
) -> Response:
    """The PATCH the form means: URL, types (none checked: every type) and description."""
    await service.get_endpoint(session, me.tenant_id, endpoint_id)  # 404 before any 400
    try:
        data = checked(
            EventEndpointUpdate,
            url=url.strip(),
            event_types=event_types or [],
            description=description.strip() or None,
        )
        await service.update_endpoint(session, me.tenant_id, endpoint_id, data, settings)
    except BadRequest as exc:
        await discard(session)
        form = _form_of(url, event_types, description)
        errors = _errors_of(exc)
        return await _edit_page(request, session, me, endpoint_id, 400, errors=errors, form=form)
    return redirect(f"/event-endpoints/{endpoint_id}?notice=saved")


@router.post("/{endpoint_id}/rotate")
async def rotate_secret(
    request: Request,
    endpoint_id: uuid.UUID,
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
        endpoint_id,
        overlap_seconds=rotation.overlap_seconds,
        settings=settings,
    )
    return _secret_page(request, shown.endpoint, shown.signing_secret, rotated=True)


async def _set_enabled(
    session: AsyncSession, me: PanelUser, endpoint_id: uuid.UUID, settings: SettingsDep, on: bool
) -> None:
    data = EventEndpointUpdate(enabled=on)
    await service.update_endpoint(session, me.tenant_id, endpoint_id, data, settings)


@router.post("/{endpoint_id}/disable")
async def disable(
    endpoint_id: uuid.UUID, session: SessionDep, me: ConfigManager, settings: SettingsDep
) -> Response:
    """Stop sending: the pending deliveries are canceled."""
    await _set_enabled(session, me, endpoint_id, settings, on=False)
    return redirect("/event-endpoints?notice=disabled")


@router.post("/{endpoint_id}/enable")
async def enable(
    endpoint_id: uuid.UUID, session: SessionDep, me: ConfigManager, settings: SettingsDep
) -> Response:
    """Send again, from the events committed from now on (the gap: redeliver since)."""
    await _set_enabled(session, me, endpoint_id, settings, on=True)
    return redirect("/event-endpoints?notice=enabled")


@router.get("/{endpoint_id}/delete")
async def confirm_delete(
    request: Request, endpoint_id: uuid.UUID, session: SessionDep, me: ConfigManager
) -> Response:
    endpoint = present_endpoint(await service.get_endpoint(session, me.tenant_id, endpoint_id))
    return render(request, "event_endpoint_delete.html", endpoint=endpoint)


@router.post("/{endpoint_id}/delete")
async def delete(endpoint_id: uuid.UUID, session: SessionDep, me: ConfigManager) -> Response:
    """The endpoint and its delivery log."""
    await service.delete_endpoint(session, me.tenant_id, endpoint_id)
    return redirect("/event-endpoints?notice=deleted")


@router.post("/{endpoint_id}/redeliver")
async def redeliver_since(
    request: Request,
    endpoint_id: uuid.UUID,
    session: SessionDep,
    me: ConfigManager,
    since: Annotated[str, Form()] = "",
) -> Response:
    """Every kept event since a time (the tenant's local time) of the endpoint's types, queued."""
    await service.get_endpoint(session, me.tenant_id, endpoint_id)  # 404 before any 400
    try:
        moment = parse_local(since, me.time_zone, "since")
        if moment is None:
            raise BadRequest("is required", field="since")
        queued = await service.redeliver_since(session, me.tenant_id, endpoint_id, moment)
    except (BadRequest, Conflict) as exc:
        await discard(session)
        status_code = 400 if isinstance(exc, BadRequest) else 409
        errors = _errors_of(exc) if isinstance(exc, BadRequest) else {"since": exc.message}
        return await _edit_page(
            request, session, me, endpoint_id, status_code, errors=errors, since=since
        )
    return redirect(f"/event-endpoints/{endpoint_id}?notice=requeued&queued={queued}")


async def _deliveries_page(
    request: Request,
    session: AsyncSession,
    me: PanelUser,
    endpoint_id: uuid.UUID,
    status_code: int = 200,
    **values: object,
) -> Response:
    endpoint = present_endpoint(await service.get_endpoint(session, me.tenant_id, endpoint_id))
    status = request.query_params.get("status", "").strip()
    number = page_number(request.query_params.get("page"))
    log = await service.list_deliveries(
        session,
        me.tenant_id,
        endpoint_id,
        status=DeliveryStatus(status) if status in DeliveryStatus.__members__ else None,
        offset=(number - 1) * DELIVERIES_PER_PAGE,
        limit=DELIVERIES_PER_PAGE,
    )
    params = {"status": status} if status in DeliveryStatus.__members__ else {}
    defaults: dict[str, object] = {"notice": None, "error": None}
    return render(
        request,
        "event_deliveries.html",
        status_code,
        endpoint=endpoint,
        rows=[present_delivery(r, log.attempts[r.delivery.id]) for r in log.rows],
        params=params,
        statuses=list(DeliveryStatus),
        meta=page_meta(number, DELIVERIES_PER_PAGE, log.total, None),
        **{**defaults, **values},
    )


@router.get("/{endpoint_id}/deliveries")
async def list_deliveries(
    request: Request, endpoint_id: uuid.UUID, session: SessionDep, me: Viewer
) -> Response:
    """Newest first, filtered by status; every attempt under its delivery."""
    notice = request.query_params.get("notice")
    return await _deliveries_page(request, session, me, endpoint_id, notice=notice)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    session: SessionDep,
    me: ConfigManager,
) -> Response:
    """Send one delivery again now, with the same ``webhook-id``."""
    try:
        await service.redeliver(session, me.tenant_id, endpoint_id, delivery_id)
    except Conflict as exc:
        await discard(session)
        return await _deliveries_page(request, session, me, endpoint_id, 409, error=exc.message)
    return redirect(f"/event-endpoints/{endpoint_id}/deliveries?notice=redelivered")
