"""Every signed-in page, under one router whose dependencies no page can leave out."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from taskbridge.kit.uow import UnitOfWorkRoute
from taskbridge.web.context import signed_in
from taskbridge.web.pages import (
    account,
    api_keys,
    audit,
    dashboard,
    deliveries,
    directory,
    dispatch_configs,
    event_endpoints,
    operate,
    preferences,
    result_types,
    results,
    tasks,
    users,
)
from taskbridge.web.security import check_csrf

signed_in_router = APIRouter(
    route_class=UnitOfWorkRoute, dependencies=[Depends(check_csrf), Depends(signed_in)]
)
for module in (
    dashboard,
    preferences,
    result_types,
    api_keys,
    dispatch_configs,
    deliveries,
    event_endpoints,
    directory,
    tasks,
    results,
    users,
    operate,
    account,
    audit,
):
    signed_in_router.include_router(module.router)
