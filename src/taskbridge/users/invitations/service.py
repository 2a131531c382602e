"""Adding a person to a tenant: a new account joins at once; an existing account is invited and
joins only when it accepts, signed in as itself.

The token is single use, expires after :data:`INVITATION_TTL`, and is useless to anyone but the
invited account, so showing it to the person who invited is safe.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.audit.actors import USER, Actor
from taskbridge.auth.permissions import Role
from taskbridge.errors import BadRequest, Conflict, Forbidden, NotFound
from taskbridge.kit.time import as_utc, utcnow
from taskbridge.models import Invitation, Membership, Tenant, User
from taskbridge.users import service as users
from taskbridge.users.invitations import repository
from taskbridge.users.invitations.repository import InvitationRepository
from taskbridge.users.invitations.tokens import (
    hash_invitation_token,
    issue_invitation_token,
    read_invitation_token,
)
from taskbridge.users.repository import MemberRepository, get_tenant_unscoped

INVITATION_TTL = timedelta(days=7)
INVALID_TOKEN = "is invalid, expired or already used"
FOR_ANOTHER_ACCOUNT = "This invitation is for another account"

INVITED = "invited"
ACCEPTED = "accepted"
REVOKED = "revoked"
EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """An invitation and its token (returned once: only the token's hash is stored)."""

    invitation: Invitation
    token: str


@dataclass(frozen=True, slots=True)
class Offer:
    """An invitation as its invitee sees it: which tenant, which role, until when."""

    invitation: Invitation
    tenant: Tenant

    @property
    def role(self) -> Role:
        return Role(self.invitation.role)


def status_of(invitation: Invitation, now: datetime | None = None) -> str:
    if invitation.accepted_at is not None:
        return ACCEPTED
    if invitation.revoked_at is not None:
        return REVOKED
    if as_utc(invitation.expires_at) <= (now or utcnow()):
        return EXPIRED
    return INVITED


async def add_member(
    session: AsyncSession,
    secret: str,
    tenant_id: uuid.UUID,
    *,
    email: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    rank: int | None,
    invited_by: str,
) -> users.Member | IssuedInvitation:
    """A new account, member at once; for an email that already has an account, an invitation
    (``password`` and the names are then ignored: the account is its owner's, not this tenant's).

    ``rank`` is the caller's (None: the command line); the role is checked against it first.
    """
    address = users.check_email(email)
    wanted = users.grantable(role, rank)
    account = await users.find_account(session, address)
    if account is None:
        return await users.create_member(
            session,
            tenant_id,
            email=address,
            password=password,
            role=role,
            first_name=first_name,
            last_name=last_name,
            rank=rank,
        )
    return await _invite_account(session, secret, tenant_id, account, wanted, invited_by)


async def invite(
    session: AsyncSession,
    secret: str,
    tenant_id: uuid.UUID,
    *,
    email: str,
    role: str,
    rank: int | None,
    invited_by: str,
) -> IssuedInvitation:
    """An invitation for an existing account (404 when the email has none)."""
    address = users.check_email(email)
    wanted = users.grantable(role, rank)
    account = await users.find_account(session, address)
    if account is None:
        raise NotFound(f"No account has the email '{address}'; create the user instead")
    return await _invite_account(session, secret, tenant_id, account, wanted, invited_by)


async def _invite_account(
    session: AsyncSession,
    secret: str,
    tenant_id: uuid.UUID,
    account: User,
    role: Role,
    invited_by: str,
) -> IssuedInvitation:
    """A pending invitation of this account to this tenant; an earlier pending one is revoked."""
    if await MemberRepository(session, tenant_id).get(account.id) is not None:
        raise Conflict(f"'{account.email}' is already a user of this tenant")
    now = utcnow()
    invitations = InvitationRepository(session, tenant_id)
    await invitations.revoke_pending_of(account.id, now)
    invitation_id = uuid.uuid4()
    expires_at = now + INVITATION_TTL
    token = issue_invitation_token(secret, invitation_id, expires_at)
    invitation = Invitation(
        id=invitation_id,
        user_id=account.id,
        email=account.email,
        role=str(role),
        token_hash=hash_invitation_token(token),
        invited_by=invited_by[:64],
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )
    invitations.add(invitation)
    await session.flush()
    after = {"email": account.email, "role": str(role), "invitation_id": invitation.id}
    audit.record(session, tenant_id, "user.invited", "user", account.id, after=after)
    return IssuedInvitation(invitation, token)


async def list_pending(session: AsyncSession, tenant_id: uuid.UUID) -> list[Invitation]:
    """The tenant's invitations not yet accepted, revoked or expired."""
    return list(await InvitationRepository(session, tenant_id).pending(utcnow()))


async def revoke(
    session: AsyncSession, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation:
    """End a pending invitation of this tenant (its link stops working); 409 once accepted."""
    invitation = await InvitationRepository(session, tenant_id).get(invitation_id)
    if invitation is None:
        raise NotFound(f"Invitation '{invitation_id}' not found")
    if invitation.accepted_at is not None:
        raise Conflict(f"Invitation '{invitation_id}' was already accepted")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        await session.flush()
        before = {"email": invitation.email, "role": invitation.role}
        target = ("invitation", invitation.id)
        audit.record(session, tenant_id, "invitation.revoked", *target, before=before)
    return invitation


async def _pending_by_token(session: AsyncSession, secret: str, token: str) -> Invitation:
    """The pending invitation of a genuine token; 400 naming ``token`` for anything else."""
    invitation_id = read_invitation_token(secret, token)
    if invitation_id is None:
        raise BadRequest(INVALID_TOKEN, field="token")
    invitation = await repository.find_by_token_hash(session, hash_invitation_token(token))
    if invitation is None or invitation.id != invitation_id or status_of(invitation) != INVITED:
        raise BadRequest(INVALID_TOKEN, field="token")
    return invitation


async def open_offer(session: AsyncSession, secret: str, token: str, user: User) -> Offer:
    """The invitation of ``token``, for the signed-in ``user`` only (403 for any other account)."""
    invitation = await _pending_by_token(session, secret, token)
    if invitation.user_id != user.id:
        raise Forbidden(FOR_ANOTHER_ACCOUNT)
    tenant = await get_tenant_unscoped(session, invitation.tenant_id)
    if tenant is None:  # the foreign key rules it out; answered as any unusable token
        raise BadRequest(INVALID_TOKEN, field="token")
    return Offer(invitation, tenant)


async def accept(
    session: AsyncSession, secret: str, token: str, user: User, *, address: str | None = None
) -> Offer:
    """The signed-in invitee joins the tenant with the invited role; the token is used up.

    ``address``: the invitee's, for the audit entry of the tenant they join."""
    offer = await open_offer(session, secret, token, user)
    members = MemberRepository(session, offer.tenant.id)
    if await members.get(user.id) is not None:
        raise Conflict("You already belong to this tenant")
    if not await repository.close_pending_unscoped(
        session, offer.invitation.id, utcnow(), accepted=True
    ):
        raise BadRequest(INVALID_TOKEN, field="token")
    members.add(Membership(id=uuid.uuid4(), user_id=user.id, role=offer.invitation.role))
    joined = {"email": user.email, "role": offer.invitation.role}
    audit.record(
        session,
        offer.tenant.id,
        "invitation.accepted",
        "user",
        user.id,
        after={**joined, "invitation_id": offer.invitation.id},
        actor=Actor(USER, str(user.id), user.email, address),
    )
    await session.flush()
    return offer


async def decline(session: AsyncSession, secret: str, token: str, user: User) -> Offer:
    """The signed-in invitee says no: the invitation ends, nothing else changes."""
    offer = await open_offer(session, secret, token, user)
    if not await repository.close_pending_unscoped(
        session, offer.invitation.id, utcnow(), accepted=False
    ):
        raise BadRequest(INVALID_TOKEN, field="token")
    return offer


async def pending_for(session: AsyncSession, user: User) -> list[Offer]:
    """The signed-in person's own pending invitations, from every tenant."""
    rows = await repository.pending_for_user_unscoped(session, user.id, utcnow())
    return [Offer(invitation, tenant) for invitation, tenant in rows]
