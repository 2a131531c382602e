"""Users and roles: list, add (a new account) or invite (an existing one), change role, reset
password, deactivate and reactivate (only of those below you), pending invitations."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from taskbridge.auth.permissions import Permission
from taskbridge.errors import BadRequest, Conflict, Forbidden
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.users import service as users
from taskbridge.users.dependencies import secret_of, site_url
from taskbridge.users.invitations import service as invitations
from taskbridge.users.invitations.presenters import accept_url
from taskbridge.users.roles import ROLE_RANK
from taskbridge.web.context import Can, PanelUser
from taskbridge.web.forms import discard, field_errors
from taskbridge.web.rendering import redirect, render

router = APIRouter(prefix="/users", route_class=UnitOfWorkRoute)
Viewer = Annotated[PanelUser, Can(Permission.VIEW_USERS)]
Creator = Annotated[PanelUser, Can(Permission.CREATE_USER)]
Updater = Annotated[PanelUser, Can(Permission.UPDATE_USER)]
Resetter = Annotated[PanelUser, Can(Permission.RESET_USER_PASSWORD)]


async def _page(
    request: Request, session: SessionDep, me: PanelUser, status_code: int = 200, **values: object
) -> Response:
    members = await users.list_members(session, me.tenant_id)
    rank = users.caller_rank(me.principal)
    standing = await users.standings(session, me.tenant_id, [m.user.id for m in members])
    manageable = {uid for uid, st in standing.items() if users.may_manage(rank, st)}
    defaults: dict[str, object] = {
        "errors": {},
        "row_errors": {},
        "form": {},
        "notice": request.query_params.get("notice"),
        "invited": None,
    }
    return render(
        request,
        "users.html",
        status_code,
        members=members,
        manageable=manageable,
        resettable={u for u in manageable if users.may_change_account(rank, standing[u])},
        grantable=[str(role) for role, r in ROLE_RANK.items() if r <= rank],
        invitations=await invitations.list_pending(session, me.tenant_id),
        **{**defaults, **values},
    )


@router.get("")
async def list_users(request: Request, session: SessionDep, me: Viewer) -> Response:
    return await _page(request, session, me)


@router.post("")
async def add_user(
    request: Request,
    session: SessionDep,
    me: Creator,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    first_name: Annotated[str, Form()] = "",
    last_name: Annotated[str, Form()] = "",
) -> Response:
    """A new account joins at once; an existing one is invited, and its link shown here once."""
    try:
        added = await invitations.add_member(
            session,
            secret_of(request),
            me.tenant_id,
            email=email,
            password=password,
            role=role,
            first_name=first_name,
            last_name=last_name,
            rank=users.caller_rank(me.principal),
            invited_by=me.principal.actor,
        )
    except (BadRequest, Conflict, Forbidden) as exc:
        await discard(session)
        errors = field_errors(exc) if isinstance(exc, BadRequest) else {"email": exc.message}
        if isinstance(exc, Forbidden):
            errors = {"role": exc.message}
        form = {"email": email, "role": role, "first_name": first_name, "last_name": last_name}
        return await _page(request, session, me, exc.status_code, errors=errors, form=form)
    if isinstance(added, invitations.IssuedInvitation):
        link = accept_url(site_url(request), added.token)
        invited = {"email": added.invitation.email, "role": added.invitation.role, "url": link}
        return await _page(request, session, me, invited=invited)
    return redirect("/users?notice=saved")


@router.post("/invitations/{invitation_id}/revoke")
async def revoke_invitation(invitation_id: uuid.UUID, session: SessionDep, me: Creator) -> Response:
    await invitations.revoke(session, me.tenant_id, invitation_id)
    return redirect("/users?notice=revoked")


@router.post("/{user_id}/role")
async def change_role(
    request: Request,
    user_id: uuid.UUID,
    session: SessionDep,
    me: Updater,
    role: Annotated[str, Form()] = "",
) -> Response:
    try:
        await users.set_role(
            session, me.tenant_id, user_id, role, rank=users.caller_rank(me.principal)
        )
    except (BadRequest, Forbidden) as exc:
        await discard(session)
        row_errors = {str(user_id): exc.message}
        return await _page(request, session, me, exc.status_code, row_errors=row_errors)
    return redirect("/users?notice=saved")


@router.post("/{user_id}/password")
async def reset_password(
    request: Request,
    user_id: uuid.UUID,
    session: SessionDep,
    me: Resetter,
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        await users.reset_password(
            session, me.tenant_id, user_id, password, rank=users.caller_rank(me.principal)
        )
    except (BadRequest, Forbidden) as exc:
        await discard(session)
        row_errors = {str(user_id): exc.message}
        return await _page(request, session, me, exc.status_code, row_errors=row_errors)
    return redirect("/users?notice=saved")


@router.post("/{user_id}/{change}")
async def set_active(
    request: Request,
    user_id: uuid.UUID,
    change: Literal["deactivate", "reactivate"],
    session: SessionDep,
    me: Updater,
) -> Response:
    """As ``POST /api/users/{id}/deactivate|reactivate``: the person's sessions end at once."""
    try:
        await users.set_active(
            session,
            me.tenant_id,
            user_id,
            change == "reactivate",
            rank=users.caller_rank(me.principal),
            caller_id=me.user_id,
        )
    except (Conflict, Forbidden) as exc:
        await discard(session)
        row_errors = {str(user_id): exc.message}
        return await _page(request, session, me, exc.status_code, row_errors=row_errors)
    return redirect(f"/users?notice={change}d")
