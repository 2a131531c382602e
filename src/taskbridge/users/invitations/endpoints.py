"""``/api/users/invitations*`` (a tenant's pending invitations) and ``/api/auth/invitations*``
(the signed-in person's own: list, accept).

Included before ``/api/users/{user_id}``, which would otherwise take ``invitations`` for an id.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response

from taskbridge.auth.dependencies import Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.kit.body import JsonBody
from taskbridge.kit.openapi import SAMPLE_ID, refused
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.users import service as users
from taskbridge.users.dependencies import SignedIn, client_address, secret_of
from taskbridge.users.invitations import service
from taskbridge.users.invitations.presenters import present_invitation, present_offer
from taskbridge.users.invitations.schemas import (
    InvitationAccept,
    InvitationPage,
    InvitationRead,
    OfferList,
)
from taskbridge.users.presenters import present_me
from taskbridge.users.schemas import MeRead

tenant_router = APIRouter(
    prefix="/api/users/invitations", tags=["users"], route_class=UnitOfWorkRoute
)
invitee_router = APIRouter(
    prefix="/api/auth/invitations", tags=["auth"], route_class=UnitOfWorkRoute
)

Viewer = Annotated[Principal, Authorized(Permission.VIEW_USERS)]
Creator = Annotated[Principal, Authorized(Permission.CREATE_USER)]


@tenant_router.get("", operation_id="listInvitations", response_model=InvitationPage)
async def list_invitations(session: SessionDep, caller: Viewer, paging: PageQuery) -> Response:
    """The tenant's pending invitations, by email (their tokens are never shown again)."""
    pending = await service.list_pending(session, caller.tenant_id)
    return model_response(
        InvitationPage(
            data=[present_invitation(i) for i in paging.window(pending)],
            meta=paging.meta(len(pending)),
        )
    )


@tenant_router.post(
    "/{invitation_id}/revoke",
    operation_id="revokeInvitation",
    response_model=InvitationRead,
    responses={
        404: refused("No such invitation in this tenant", f"Invitation '{SAMPLE_ID}' not found"),
        409: refused("Already accepted", f"Invitation '{SAMPLE_ID}' was already accepted"),
    },
)
async def revoke_invitation(
    invitation_id: uuid.UUID, session: SessionDep, caller: Creator
) -> Response:
    """End a pending invitation: its link stops working at once."""
    invitation = await service.revoke(session, caller.tenant_id, invitation_id)
    return model_response(present_invitation(invitation))


@invitee_router.get("", operation_id="listMyInvitations", response_model=OfferList)
async def my_invitations(session: SessionDep, user: SignedIn) -> Response:
    """The signed-in person's pending invitations (bearer token; no tenant needed)."""
    offers = await service.pending_for(session, user)
    return model_response(OfferList(data=[present_offer(o) for o in offers]))


@invitee_router.post(
    "/accept",
    operation_id="acceptInvitation",
    response_model=MeRead,
    responses={
        400: refused(
            "`token` is invalid, expired or already used",
            f"token: {service.INVALID_TOKEN}",
            details=[{"field": "token", "message": f"token: {service.INVALID_TOKEN}"}],
        ),
        403: refused("The invitation is for another account", service.FOR_ANOTHER_ACCOUNT),
        409: refused(
            "The person already belongs to the tenant", "You already belong to this tenant"
        ),
    },
)
async def accept_invitation(
    request: Request,
    session: SessionDep,
    user: SignedIn,
    body: Annotated[InvitationAccept, JsonBody(InvitationAccept)],
) -> Response:
    """Join the invitation's tenant with its role, signed in as the invited account (bearer
    token; no tenant needed). Answers as `/api/auth/me`, the new tenant included."""
    address = client_address(request)
    await service.accept(session, secret_of(request), body.token, user, address=address)
    return model_response(present_me(user, await users.tenants_of(session, user)))
