"""``/api/auth/*`` (sign in, refresh, me, sign out, change password) and ``/api/users*`` (people
of a tenant)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from taskbridge.auth.dependencies import Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal, UserPrincipal
from taskbridge.errors import error_response
from taskbridge.kit.body import JsonBody
from taskbridge.kit.openapi import SAMPLE_ID, merged, refused, response_headers
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.users import service, sessions
from taskbridge.users.dependencies import (
    SignedIn,
    SignedInSession,
    client_address,
    cookies_are_secure,
    secret_of,
    site_url,
)
from taskbridge.users.invitations import service as invitations
from taskbridge.users.invitations.presenters import present_issued
from taskbridge.users.invitations.schemas import InvitationIssued
from taskbridge.users.presenters import present_me, present_member
from taskbridge.users.schemas import (
    LoginRequest,
    LoginResponse,
    MemberCreate,
    MemberPage,
    MemberRead,
    MeRead,
    PasswordChange,
    PasswordReset,
    RoleChange,
)
from taskbridge.users.sessions import SessionGrant
from taskbridge.users.throttle import TOO_MANY_FAILURES
from taskbridge.users.tokens import ACCESS_TOKEN_TTL, issue_access_token, password_stamp

REFRESH_COOKIE = "tb_refresh"
REFRESH_PATH = "/api/auth"

auth_router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=UnitOfWorkRoute)
users_router = APIRouter(prefix="/api/users", tags=["users"], route_class=UnitOfWorkRoute)

Viewer = Annotated[Principal, Authorized(Permission.VIEW_USERS)]
Creator = Annotated[Principal, Authorized(Permission.CREATE_USER)]
Updater = Annotated[Principal, Authorized(Permission.UPDATE_USER)]
Resetter = Annotated[Principal, Authorized(Permission.RESET_USER_PASSWORD)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: refused("No such user in this tenant", f"User '{SAMPLE_ID}' not found")
}
BELOW_OWN_ROLE = refused(
    "The user's role is not below the caller's, or the role asked for is above the caller's",
    "You can only manage users whose role is below your own",
)
WRONG_PASSWORD = "current_password: is not your current password"
THROTTLED = refused(
    "Too many failed sign-ins for this account from this address: wait `Retry-After` seconds",
    TOO_MANY_FAILURES,
)
REFRESH_COOKIE_PARAMETER = {
    "parameters": [
        {
            "name": REFRESH_COOKIE,
            "in": "cookie",
            "required": False,
            "description": "The refresh token set by sign-in (HttpOnly, path `/api/auth`)",
            "schema": {"type": "string"},
        }
    ]
}
SETS_REFRESH_COOKIE = response_headers(
    200,
    {
        "Set-Cookie": {
            "description": f"`{REFRESH_COOKIE}`: the refresh token (HttpOnly, SameSite=Strict, "
            "path `/api/auth`)",
            "required": True,
            "schema": {"type": "string"},
        }
    },
)


async def _signed_in(request: Request, session: SessionDep, grant: SessionGrant) -> Response:
    """The access token of the grant's family, and its refresh token in the cookie."""
    user = grant.user
    body = LoginResponse(
        access_token=issue_access_token(
            secret_of(request), user.id, password_stamp(user.password_hash), grant.family_id
        ),
        expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
        user=present_me(user, await service.tenants_of(session, user)),
    )
    response = model_response(body)
    response.set_cookie(
        REFRESH_COOKIE,
        grant.token,
        max_age=int(sessions.SESSION_TTL[sessions.REFRESH].total_seconds()),
        path=REFRESH_PATH,
        httponly=True,
        samesite="strict",
        secure=cookies_are_secure(request),
    )
    return response


@auth_router.post(
    "/login",
    operation_id="login",
    response_model=LoginResponse,
    responses={
        401: refused("The email and password match no active account", service.INVALID_LOGIN),
        429: THROTTLED,
    },
    openapi_extra=SETS_REFRESH_COOKIE,
)
async def login(
    request: Request, session: SessionDep, body: Annotated[LoginRequest, JsonBody(LoginRequest)]
) -> Response:
    """An access token, and a refresh token in an HttpOnly cookie."""
    user = await service.attempt_log_in(session, body.email, body.password, client_address(request))
    if user is None:  # answered, not raised: the failure just counted must be committed
        return error_response(401, service.INVALID_LOGIN)
    return await _signed_in(
        request, session, await sessions.start_session(session, user, sessions.REFRESH)
    )


@auth_router.post(
    "/refresh",
    operation_id="refreshSession",
    response_model=LoginResponse,
    responses={
        401: refused(
            "No refresh cookie, or its session ended (a reused token ends its whole family)",
            sessions.INVALID_REFRESH,
        )
    },
    openapi_extra=merged(REFRESH_COOKIE_PARAMETER, SETS_REFRESH_COOKIE),
)
async def refresh(request: Request, session: SessionDep) -> Response:
    """A new access token for the refresh cookie, which is replaced by a new one.

    A refresh token is good once: presenting one that was already replaced ends every session of
    its family (whoever holds the newer one must sign in again).
    """
    grant = await sessions.rotate_refresh(session, request.cookies.get(REFRESH_COOKIE))
    if grant is None:  # answered, not raised: a family ended on reuse must stay ended
        return error_response(401, sessions.INVALID_REFRESH)
    return await _signed_in(request, session, grant)


@auth_router.post(
    "/logout", operation_id="logout", status_code=204, openapi_extra=REFRESH_COOKIE_PARAMETER
)
async def logout(request: Request, session: SessionDep) -> Response:
    """End the refresh cookie's session family: its access tokens stop working at once."""
    await sessions.end_session(session, request.cookies.get(REFRESH_COOKIE), sessions.REFRESH)
    response = Response(status_code=204)
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH)
    return response


@auth_router.get("/me", operation_id="getCurrentUser", response_model=MeRead)
async def me(session: SessionDep, user: SignedIn) -> Response:
    """The signed-in person and the tenants they may act in (bearer token; no tenant needed)."""
    return model_response(present_me(user, await service.tenants_of(session, user)))


@auth_router.post(
    "/change-password",
    operation_id="changePassword",
    response_model=LoginResponse,
    responses={
        400: refused(
            "`current_password` is wrong, or `new_password` breaks the password rule",
            WRONG_PASSWORD,
            details=[{"field": "current_password", "message": WRONG_PASSWORD}],
        ),
        429: THROTTLED,
    },
    openapi_extra=SETS_REFRESH_COOKIE,
)
async def change_password(
    request: Request,
    session: SessionDep,
    caller: SignedInSession,
    body: Annotated[PasswordChange, JsonBody(PasswordChange)],
) -> Response:
    """A new password for the signed-in person (bearer token; no tenant needed).

    The current password is required, and a wrong one counts as a failed sign-in. Every other
    session of the person ends (other refresh tokens, panel sessions, their access tokens); this
    one continues with the new access token and refresh cookie of the answer.
    """
    grant = await sessions.change_password(
        session,
        caller.user.id,
        caller.family_id,
        sessions.REFRESH,
        current_password=body.current_password,
        new_password=body.new_password,
        address=client_address(request),
    )
    if grant is None:  # answered, not raised: the failure just counted must be committed
        refusal = sessions.wrong_current_password()
        return error_response(400, refusal.message, **refusal.extra)
    return await _signed_in(request, session, grant)


@users_router.get("", operation_id="listUsers", response_model=MemberPage)
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
    "/{user_id}", operation_id="getUser", response_model=MemberRead, responses=NOT_FOUND
)
async def get_user(user_id: uuid.UUID, session: SessionDep, caller: Viewer) -> Response:
    return model_response(
        present_member(await service.get_member(session, caller.tenant_id, user_id))
    )


@users_router.post(
    "",
    operation_id="createUser",
    status_code=201,
    response_model=MemberRead,
    responses={
        202: {"model": InvitationIssued, "description": "The email has an account: invited"},
        403: refused(
            "The role asked for is above the caller's",
            "You cannot grant the role ADMIN: it is above your own",
        ),
        409: refused(
            "Already a user of this tenant",
            "'ana@example.com' is already a user of this tenant",
        ),
    },
)
async def create_user(
    request: Request,
    session: SessionDep,
    caller: Creator,
    body: Annotated[MemberCreate, JsonBody(MemberCreate)],
) -> Response:
    """A person with a role no higher than the caller's.

    A new email: **201**, an account with this password, member of this tenant only. An email
    that already has an account: **202**, an invitation (`acceptUrl`, `token`) that the person
    accepts signed in as themself, and nothing of their account in the answer; `password`,
    `first_name` and `last_name` are then ignored (the account is its owner's). Inviting again
    replaces a pending invitation.
    """
    added = await invitations.add_member(
        session,
        secret_of(request),
        caller.tenant_id,
        email=body.email,
        password=body.password,
        role=body.role,
        first_name=body.first_name,
        last_name=body.last_name,
        rank=service.caller_rank(caller),
        invited_by=caller.actor,
    )
    if isinstance(added, invitations.IssuedInvitation):
        return model_response(present_issued(added, site_url(request)), status_code=202)
    return model_response(present_member(added), status_code=201)


@users_router.put(
    "/{user_id}/role",
    operation_id="changeUserRole",
    response_model=MemberRead,
    responses={**NOT_FOUND, 403: BELOW_OWN_ROLE},
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
    operation_id="resetUserPassword",
    response_model=MemberRead,
    responses={
        **NOT_FOUND,
        403: refused(
            "The user's role is not below the caller's, or the account also belongs to "
            "another tenant (only its owner can change it)",
            "You can only manage users whose role is below your own",
        ),
    },
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


ACTIVE_REFUSALS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: refused(
        "The user's role is not below the caller's, or the account also belongs to "
        "another tenant (only its owner can change it)",
        "You can only manage users whose role is below your own",
    ),
}


def _caller_id(caller: Principal) -> uuid.UUID | None:
    return caller.user_id if isinstance(caller, UserPrincipal) else None


@users_router.post(
    "/{user_id}/deactivate",
    operation_id="deactivateUser",
    response_model=MemberRead,
    responses={
        **ACTIVE_REFUSALS,
        409: refused(
            "The user is the caller, or the last active ADMIN of a tenant",
            service.CANNOT_DEACTIVATE_YOURSELF,
        ),
    },
)
async def deactivate_user(user_id: uuid.UUID, session: SessionDep, caller: Updater) -> Response:
    """Only of a user whose role is below the caller's and who belongs to no other tenant.

    The person can no longer sign in, and every session of theirs ends at once (refresh tokens,
    panel sessions, and so their access tokens). Never the caller, nor the last active ADMIN of
    a tenant (409). Deactivating an inactive user changes nothing.
    """
    member = await service.set_active(
        session,
        caller.tenant_id,
        user_id,
        False,
        rank=service.caller_rank(caller),
        caller_id=_caller_id(caller),
    )
    return model_response(present_member(member))


@users_router.post(
    "/{user_id}/reactivate",
    operation_id="reactivateUser",
    response_model=MemberRead,
    responses=ACTIVE_REFUSALS,
)
async def reactivate_user(user_id: uuid.UUID, session: SessionDep, caller: Updater) -> Response:
    """The person may sign in again (with their password as it was; no session comes back).
    Reactivating an active user changes nothing."""
    member = await service.set_active(
        session, caller.tenant_id, user_id, True, rank=service.caller_rank(caller)
    )
    return model_response(present_member(member))
