"""Annotated dependencies of the dispatch routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import ValidationError

from taskbridge.auth.dependencies import Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.config import Settings
from taskbridge.dispatch.schemas import SecretRotation
from taskbridge.errors import validation_failure


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
Viewer = Annotated[Principal, Authorized(Permission.VIEW_ACTIVITIES)]
ConfigManager = Annotated[Principal, Authorized(Permission.MANAGE_ACTIVITY_CONFIG)]
Dispatcher = Annotated[Principal, Authorized(Permission.DISPATCH_ACTIVITY)]


async def rotation_body(request: Request) -> SecretRotation:
    """The optional rotation body: empty means the default overlap."""
    raw = await request.body()
    try:
        return SecretRotation.model_validate_json(raw) if raw.strip() else SecretRotation()
    except ValidationError as exc:
        raise validation_failure([dict(e) for e in exc.errors(include_url=False)]) from None


RotationBody = Annotated[SecretRotation, Depends(rotation_body)]
