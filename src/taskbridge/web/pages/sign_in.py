"""Sign in and sign out: the only pages reachable without a session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from taskbridge.errors import TooManyRequests
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.users import service as users
from taskbridge.users import sessions
from taskbridge.users.dependencies import client_address
from taskbridge.web.context import set_panel_session
from taskbridge.web.rendering import redirect, render, within_panel
from taskbridge.web.security import PANEL_PATH, SESSION_COOKIE, check_csrf

router = APIRouter(route_class=UnitOfWorkRoute, dependencies=[Depends(check_csrf)])


@router.get("/login")
async def login_page(request: Request, next: str = "") -> Response:
    return render(request, "login.html", next=next, error=None, email="")


@router.post("/login")
async def log_in(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    try:
        user = await users.attempt_log_in(session, email, password, client_address(request))
    except TooManyRequests as exc:
        return render(request, "login.html", 429, next=next, error=exc.message, email=email)
    if user is None:  # answered, not raised: the failure just counted must be committed
        return render(request, "login.html", 401, next=next, error=users.INVALID_LOGIN, email=email)
    grant = await sessions.start_session(session, user, sessions.PANEL)
    response = redirect(within_panel(next))
    set_panel_session(request, response, grant.token)
    return response


@router.post("/logout")
async def log_out(request: Request, session: SessionDep) -> Response:
    await sessions.end_session(session, request.cookies.get(SESSION_COOKIE), sessions.PANEL)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path=PANEL_PATH)
    return response
