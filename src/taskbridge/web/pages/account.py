"""The person's own account: a new password, which ends every other session of theirs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from taskbridge.errors import BadRequest, TooManyRequests, Unauthorized
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.users import sessions
from taskbridge.users.dependencies import client_address
from taskbridge.web.context import PanelUser, SignInRequired, set_panel_session, signed_in
from taskbridge.web.forms import FORM, discard
from taskbridge.web.rendering import redirect, render

router = APIRouter(prefix="/account", route_class=UnitOfWorkRoute)
SignedIn = Annotated[PanelUser, Depends(signed_in)]
CURRENT, NEW = "current_password", "new_password"


def _page(
    request: Request, status_code: int = 200, errors: dict[str, str] | None = None
) -> Response:
    """Errors are English sentences, translated by the page."""
    notice = request.query_params.get("notice") == "password"
    return render(request, "account.html", status_code, errors=errors or {}, notice=notice)


@router.get("")
async def account(request: Request) -> Response:
    return _page(request)


@router.post("/password")
async def change_password(
    request: Request,
    session: SessionDep,
    me: SignedIn,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    """This browser stays signed in (with a new session cookie); every other session ends."""
    try:
        grant = await sessions.change_password(
            session,
            me.user_id,
            me.session_family,
            sessions.PANEL,
            current_password=current_password,
            new_password=new_password,
            address=client_address(request),
        )
    except Unauthorized:
        raise SignInRequired from None
    except TooManyRequests as exc:
        response = _page(request, exc.status_code, {FORM: exc.message})
        response.headers.update(exc.headers or {})
        return response
    except BadRequest as exc:
        await discard(session)
        return _page(request, exc.status_code, {NEW: exc.message.removeprefix(f"{NEW}: ")})
    if grant is None:  # rendered, not raised: the failure just counted must be committed
        refusal = sessions.wrong_current_password().message
        return _page(request, 400, {CURRENT: refusal.removeprefix(f"{CURRENT}: ")})
    response = redirect("/account?notice=password")
    set_panel_session(request, response, grant.token)
    return response
