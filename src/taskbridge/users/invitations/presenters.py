"""Invitations to their wire shapes."""

from __future__ import annotations

from taskbridge.models import Invitation
from taskbridge.users.invitations.schemas import InvitationIssued, InvitationRead, OfferRead
from taskbridge.users.invitations.service import IssuedInvitation, Offer, status_of

PANEL_ACCEPT_PATH = "/admin/invitations/"


def accept_url(base_url: str, token: str) -> str:
    """The panel page where the invitee accepts, absolute from the server's base URL."""
    return f"{base_url.rstrip('/')}{PANEL_ACCEPT_PATH}{token}"


def present_invitation(invitation: Invitation) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        status=status_of(invitation),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


def present_issued(issued: IssuedInvitation, base_url: str) -> InvitationIssued:
    return InvitationIssued(
        **present_invitation(issued.invitation).model_dump(),
        accept_url=accept_url(base_url, issued.token),
        token=issued.token,
    )


def present_offer(offer: Offer) -> OfferRead:
    return OfferRead(
        id=offer.invitation.id,
        tenant_id=offer.tenant.id,
        tenant_name=offer.tenant.name,
        tenant_slug=offer.tenant.slug,
        role=offer.invitation.role,
        created_at=offer.invitation.created_at,
        expires_at=offer.invitation.expires_at,
    )
