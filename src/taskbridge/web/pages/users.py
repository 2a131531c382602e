"""Users and roles: list, add, change role, reset password (only of those below you)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from taskbridge.auth.permissions import Permission
from taskbridge.errors import BadRequest, Conflict, Forbidden
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.users import service as users
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
    defaults: dict[str, object] = {
        "errors": {},
        "row_errors": {},
        "form": {},
        "notice": request.query_params.get("notice"),
    }
    return render(
        request,
        "users.html",
        status_code,
        members=members,
        manageable={m.user.id for m in members if ROLE_RANK[m.role] < rank},
        grantable=[str(role) for role, r in ROLE_RANK.items() if r <= rank],
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
    try:
        await users.create_member(
            session,
            me.tenant_id,
            email=email,
            password=password,
            role=role,
            first_name=first_name,
            last_name=last_name,
            rank=users.caller_rank(me.principal),
        )
    except (BadRequest, Conflict, Forbidden) as exc:
        await discard(session)
        errors = field_errors(exc) if isinstance(exc, BadRequest) else {"email": exc.message}
        if isinstance(exc, Forbidden):
            errors = {"role": exc.message}
        form = {"email": email, "role": role, "first_name": first_name, "last_name": last_name}
        return await _page(request, session, me, exc.status_code, errors=errors, form=form)
    return redirect("/users?notice=saved")


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
