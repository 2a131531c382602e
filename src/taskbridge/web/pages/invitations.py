"""The invitee's page: ``/admin/invitations/<token>``, to accept or decline joining a tenant.

Signed in as the invited account only (another account sees a 403 page; anyone signed out goes
through sign-in, which brings them back here). The person need not belong to any tenant yet,
so this router checks the session itself instead of requiring a tenant like the other pages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from taskbridge.errors import BadRequest, Conflict, Forbidden
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.models import User
from taskbridge.users import service as users
from taskbridge.users.dependencies import client_address, secret_of
from taskbridge.users.invitations import service as invitations
from taskbridge.web.context import TENANT_COOKIE, acting_in, live_panel_session
from taskbridge.web.forms import discard
from taskbridge.web.rendering import redirect, render
from taskbridge.web.security import check_csrf, set_cookie

router = APIRouter(
    prefix="/invitations", route_class=UnitOfWorkRoute, dependencies=[Depends(check_csrf)]
)

INVALID_LINK = "This invitation link is invalid, expired or already used"


async def signed_in_account(request: Request, session: SessionDep) -> User:
    """The account of the panel session, with or without a tenant (401 → the sign-in page)."""
    live = await live_panel_session(request, session)
    tenants = await users.tenants_of(session, live.user)
    if tenants:
        acting_in(request, live, tenants)  # the usual header, tenant switcher included
    return live.user


Invitee = Annotated[User, Depends(signed_in_account)]


def _refusal(request: Request, exc: BadRequest | Forbidden | Conflict) -> Response:
    problem = INVALID_LINK if isinstance(exc, BadRequest) else exc.message
    return render(request, "invitation.html", exc.status_code, offer=None, problem=problem)


@router.get("/{token}")
async def show(request: Request, token: str, session: SessionDep, user: Invitee) -> Response:
    try:
        offer = await invitations.open_offer(session, secret_of(request), token, user)
    except (BadRequest, Forbidden) as exc:
        return _refusal(request, exc)
    return render(request, "invitation.html", offer=offer, token=token, problem=None)


@router.post("/{token}/accept")
async def accept(request: Request, token: str, session: SessionDep, user: Invitee) -> Response:
    """Join, then land on the dashboard acting in the new tenant."""
    try:
        address = client_address(request)
        offer = await invitations.accept(session, secret_of(request), token, user, address=address)
    except (BadRequest, Forbidden, Conflict) as exc:
        await discard(session)
        return _refusal(request, exc)
    response = redirect("/")
    set_cookie(request, response, TENANT_COOKIE, str(offer.tenant.id), max_age=60 * 60 * 24 * 365)
    return response


@router.post("/{token}/decline")
async def decline(request: Request, token: str, session: SessionDep, user: Invitee) -> Response:
    try:
        offer = await invitations.decline(session, secret_of(request), token, user)
    except (BadRequest, Forbidden) as exc:
        await discard(session)
        return _refusal(request, exc)
    return render(request, "invitation.html", offer=None, declined=offer, problem=None)
