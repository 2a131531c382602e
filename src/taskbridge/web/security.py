"""Panel safety: security headers, the CSRF cookie and token, and the session cookie."""

from __future__ import annotations

import secrets

from fastapi import Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from taskbridge.errors import Forbidden
from taskbridge.kit.crypto import same_secret
from taskbridge.users.dependencies import cookies_are_secure, secret_of
from taskbridge.users.tokens import csrf_token_for

SESSION_COOKIE = "tb_session"
CSRF_COOKIE = "tb_csrf"
CSRF_FIELD = "csrf_token"
PANEL_PATH = "/admin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def csrf_seed(request: Request) -> str:
    """This browser's CSRF seed: its cookie, or the one the middleware is about to set."""
    seed: str = getattr(request.state, "csrf_seed", "") or request.cookies.get(CSRF_COOKIE, "")
    return seed


def csrf_token(request: Request) -> str:
    return csrf_token_for(secret_of(request), csrf_seed(request))


async def check_csrf(request: Request) -> None:
    """Every unsafe request carries the form's token, bound to the browser's CSRF cookie."""
    if request.method in SAFE_METHODS:
        return
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    seed = request.cookies.get(CSRF_COOKIE)
    if (
        not seed
        or not isinstance(sent, str)
        or not same_secret(sent, csrf_token_for(secret_of(request), seed))
    ):
        raise Forbidden("The form has expired or did not come from this site; please try again")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PANEL_PATH,
        httponly=True,
        samesite="lax" if name == SESSION_COOKIE else "strict",
        secure=cookies_are_secure(request),
    )


class PanelSafety(BaseHTTPMiddleware):
    """Security headers on every panel response, and a CSRF cookie for every browser."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        fresh = None
        if not request.cookies.get(CSRF_COOKIE):
            fresh = request.state.csrf_seed = secrets.token_urlsafe(24)
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if fresh is not None:
            set_cookie(request, response, CSRF_COOKIE, fresh, max_age=60 * 60 * 24 * 30)
        return response
