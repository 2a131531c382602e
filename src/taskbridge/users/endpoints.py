"""``/api/auth/*`` (sign in, refresh, me, sign out) and ``/api/users*`` (people of a tenant)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from taskbridge.auth.dependencies import AUTH_RESPONSES, Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.errors import error_response
from taskbridge.kit.body import JsonBody, documented_body
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.models import User
from taskbridge.users import service
from taskbridge.users.dependencies import SignedIn, client_address, secret_of
from taskbridge.users.presenters import present_me, present_member
from taskbridge.users.schemas import (
    LoginRequest,
    LoginResponse,
    MemberCreate,
    MemberPage,
    MemberRead,
    MeRead,
    PasswordReset,
    RoleChange,
)
from taskbridge.users.tokens import ACCESS_TOKEN_TTL, issue_access_token, password_stamp

REFRESH_COOKIE = "tb_refresh"
REFRESH_PATH = "/api/auth"

auth_router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=UnitOfWorkRoute)
users_router = APIRouter(prefix="/api/users", tags=["users"], route_class=UnitOfWorkRoute)

Viewer = Annotated[Principal, Authorized(Permission.VIEW_USERS)]
Creator = Annotated[Principal, Authorized(Permission.CREATE_USER)]
Updater = Annotated[Principal, Authorized(Permission.UPDATE_USER)]
Resetter = Annotated[Principal, Authorized(Permission.RESET_USER_PASSWORD)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such user in this tenant"}}


async def _signed_in(
    request: Request, session: SessionDep, user: User, refresh_token: str
) -> Response:
    body = LoginResponse(
        access_token=issue_access_token(
            secret_of(request), user.id, password_stamp(user.password_hash)
        ),
        expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
        user=present_me(user, await service.tenants_of(session, user)),
    )
    response = model_response(body)
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=int(service.SESSION_TTL[service.REFRESH].total_seconds()),
        path=REFRESH_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@auth_router.post(
    "/login",
    response_model=LoginResponse,
    responses={401: {"description": "Invalid email or password"}, 429: {"description": "Wait"}},
    openapi_extra=documented_body(LoginRequest),
)
async def login(
    request: Request, session: SessionDep, body: Annotated[LoginRequest, JsonBody(LoginRequest)]
) -> Response:
    """An access token, and a refresh token in an HttpOnly cookie."""
    user = await service.attempt_log_in(session, body.email, body.password, client_address(request))
    if user is None:  # answered, not raised: the failure just counted must be committed
        return error_response(401, service.INVALID_LOGIN)
    return await _signed_in(
        request, session, user, await service.start_session(session, user, service.REFRESH)
    )


@auth_router.post(
    "/refresh", response_model=LoginResponse, responses={401: {"description": "No live session"}}
)
async def refresh(request: Request, session: SessionDep) -> Response:
    """A new access token for the refresh cookie, which is replaced by a new one."""
    user, token = await service.refresh(session, request.cookies.get(REFRESH_COOKIE))
    return await _signed_in(request, session, user, token)


@auth_router.post("/logout", status_code=204)
async def logout(request: Request, session: SessionDep) -> Response:
    """End the refresh cookie's session."""
    await service.end_session(session, request.cookies.get(REFRESH_COOKIE), service.REFRESH)
    response = Response(status_code=204)
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH)
    return response


@auth_router.get("/me", response_model=MeRead, responses={401: {"description": "Not signed in"}})
async def me(session: SessionDep, user: SignedIn) -> Response:
    """The signed-in person and the tenants they may act in (bearer token; no tenant needed)."""
    return model_response(present_me(user, await service.tenants_of(session, user)))


@users_router.get("", response_model=MemberPage, responses=AUTH_RESPONSES)
async def list_users(session: SessionDep, caller: Viewer, paging: PageQuery) -> Response:
    """The tenant's people, by email."""
    members = await service.list_members(session, caller.tenant_id)
    return model_response(
        MemberPage(
            data=[present_member(m) for m in paging.window(members)],
            meta=paging.meta(len(members)),
        )
    )


@users_router.get(
    "/{user_id}", response_model=MemberRead, responses={**AUTH_RESPONSES, **NOT_FOUND}
)
async def get_user(user_id: uuid.UUID, session: SessionDep, caller: Viewer) -> Response:
    return model_response(
        present_member(await service.get_member(session, caller.tenant_id, user_id))
    )


@users_router.post(
    "",
    status_code=201,
    response_model=MemberRead,
    responses={**AUTH_RESPONSES, 409: {"description": "Already a user of this tenant"}},
    openapi_extra=documented_body(MemberCreate),
)
async def create_user(
    session: SessionDep, caller: Creator, body: Annotated[MemberCreate, JsonBody(MemberCreate)]
) -> Response:
    """A person with a role no higher than the caller's (an existing account joins the tenant)."""
    member = await service.create_member(
        session,
        caller.tenant_id,
        email=body.email,
        password=body.password,
        role=body.role,
        first_name=body.first_name,
        last_name=body.last_name,
        rank=service.caller_rank(caller),
    )
    return model_response(present_member(member), status_code=201)


@users_router.put(
    "/{user_id}/role",
    response_model=MemberRead,
    responses={**AUTH_RESPONSES, **NOT_FOUND},
    openapi_extra=documented_body(RoleChange),
)
async def change_role(
    user_id: uuid.UUID,
    session: SessionDep,
    caller: Updater,
    body: Annotated[RoleChange, JsonBody(RoleChange)],
) -> Response:
    """Only of a user whose role is below the caller's, to a role no higher than the caller's."""
    member = await service.set_role(
        session, caller.tenant_id, user_id, body.role, rank=service.caller_rank(caller)
    )
    return model_response(present_member(member))


@users_router.post(
    "/{user_id}/reset-password",
    response_model=MemberRead,
    responses={**AUTH_RESPONSES, **NOT_FOUND},
    openapi_extra=documented_body(PasswordReset),
)
async def reset_password(
    user_id: uuid.UUID,
    session: SessionDep,
    caller: Resetter,
    body: Annotated[PasswordReset, JsonBody(PasswordReset)],
) -> Response:
    """Only of a user whose role is below the caller's; their sessions end."""
    member = await service.reset_password(
        session, caller.tenant_id, user_id, body.password, rank=service.caller_rank(caller)
    )
    return model_response(present_member(member))
