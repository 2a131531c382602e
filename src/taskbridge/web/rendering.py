"""Jinja2 pages: the environment, filters in the tenant's time zone, and the shared context."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse

from taskbridge.auth.permissions import Role
from taskbridge.web.context import PanelUser
from taskbridge.web.i18n import pick_language, translator
from taskbridge.web.security import CSRF_FIELD, PANEL_PATH, csrf_token

environment = Environment(
    loader=PackageLoader("taskbridge.web", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _local(moment: datetime | None, time_zone: str) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """A page with the person, the tenant, the language, the CSRF token and helpers."""
    panel_user: PanelUser | None = getattr(request.state, "panel_user", None)
    language = (
        panel_user.language
        if panel_user is not None
        else pick_language(request.headers.get("accept-language"))
    )
    time_zone = panel_user.time_zone if panel_user is not None else "UTC"
    page = environment.get_template(template).render(
        request=request,
        me=panel_user,
        lang=language,
        t=translator(language),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        panel=PANEL_PATH,
        roles=[str(r) for r in Role],
        local=lambda moment: _local(moment, time_zone),
        path=request.url.path,
        status_code=status_code,
        query=lambda params, **changes: urlencode({**params, **changes}),
        **values,
    )
    return HTMLResponse(page, status_code=status_code)


def redirect(path: str) -> RedirectResponse:
    """See the result of a form on its page (POST, then redirect, then GET)."""
    return RedirectResponse(f"{PANEL_PATH}{path}", status_code=303)


def within_panel(value: str | None) -> str:
    """A panel path (without the ``/admin`` prefix) from a form field; never another site."""
    if value and value.startswith(f"{PANEL_PATH}/") and not value.startswith(f"{PANEL_PATH}//"):
        return value[len(PANEL_PATH) :]
    return "/"
