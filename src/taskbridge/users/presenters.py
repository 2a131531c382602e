"""Users to their wire shapes."""

from __future__ import annotations

from taskbridge.models import User
from taskbridge.users.schemas import MemberRead, MeRead, TenantMembershipRead
from taskbridge.users.service import Member, TenantRole


def present_member(member: Member) -> MemberRead:
    return MemberRead.model_validate({**_user_fields(member.user), "role": str(member.role)})


def present_me(user: User, tenants: list[TenantRole]) -> MeRead:
    return MeRead.model_validate(
        {
            **_user_fields(user),
            "locale": user.locale,
            "tenants": [
                TenantMembershipRead(
                    tenant_id=t.tenant.id, slug=t.tenant.slug, name=t.tenant.name, role=t.role
                )
                for t in tenants
            ],
        }
    )


def _user_fields(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "created_at": user.created_at,
    }
