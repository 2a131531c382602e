"""``create_panel``: the panel as its own ASGI app, mounted at ``/admin``, with HTML errors."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from taskbridge.config import Settings
from taskbridge.dispatch.sender import Network
from taskbridge.errors import AppError, note_database_trouble, retry_after, validation_failure
from taskbridge.kit.outage import DRIVER_ERRORS, Trouble
from taskbridge.kit.request_id import current_request_id
from taskbridge.web.context import SignInRequired
from taskbridge.web.pages.invitations import router as invitations_router
from taskbridge.web.pages.sign_in import router as sign_in_router
from taskbridge.web.rendering import render
from taskbridge.web.routes import signed_in_router
from taskbridge.web.security import PANEL_PATH, PanelSafety

log = structlog.get_logger(__name__)


def create_panel(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    dispatch_network: Network | None = None,
) -> FastAPI:
    panel = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    panel.state.settings = settings
    panel.state.session_factory = session_factory
    panel.state.dispatch_network = dispatch_network or Network()  # the app's, for test sends
    panel.mount("/static", StaticFiles(packages=[("taskbridge.web", "static")]), name="static")
    panel.include_router(sign_in_router)
    panel.include_router(invitations_router)  # signed in, but perhaps in no tenant yet
    panel.include_router(signed_in_router)
    panel.add_middleware(PanelSafety)
    _install_error_pages(panel)
    return panel


async def _sign_in_first(request: Request, _exc: Exception) -> Response:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PANEL_PATH}/login?next={quote(wanted)}", status_code=303)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return render(request, "error.html", exc.status_code, message=exc.message)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return render(request, "error.html", 400, message=validation_failure(exc.errors()).message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
    return render(request, "error.html", exc.status_code, message=message)


def _unavailable_page(request: Request, trouble: Trouble) -> Response:
    response = render(request, "unavailable.html", 503)
    response.headers.update(retry_after(trouble))
    return response


async def _database_error(request: Request, exc: Exception) -> Response:
    """The database cannot answer now: a page saying to try again (logged once per outage);
    any other driver error goes on to the catch-all, as before."""
    trouble = note_database_trouble(request, exc)
    if trouble is None:
        raise exc
    return _unavailable_page(request, trouble)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    trouble = note_database_trouble(request, exc)  # one wrapped in an error of another type
    if trouble is not None:
        return _unavailable_page(request, trouble)
    request_id = current_request_id() or uuid.uuid4().hex
    log.error("unexpected_panel_error", request_id=request_id, path=request.url.path, exc_info=exc)
    return render(request, "error.html", 500, message=f"Internal error (request id {request_id})")


def _install_error_pages(panel: FastAPI) -> None:
    panel.add_exception_handler(SignInRequired, _sign_in_first)
    panel.add_exception_handler(AppError, _app_error)
    panel.add_exception_handler(RequestValidationError, _validation_error)
    panel.add_exception_handler(StarletteHTTPException, _http_error)
    for driver_error in DRIVER_ERRORS:
        panel.add_exception_handler(driver_error, _database_error)
    panel.add_exception_handler(Exception, _unexpected_error)
