"""``taskbridge user``: people of a tenant and their roles (passwords are read from stdin), and
invitations of existing accounts."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.cli.runtime import (
    CLI_ACTOR,
    JsonOption,
    TenantOption,
    dump,
    fail,
    load_settings,
    print_json,
    run,
    say,
)
from taskbridge.errors import BadRequest
from taskbridge.tenants import service as tenants
from taskbridge.users import service as users
from taskbridge.users.invitations import service as invitations
from taskbridge.users.invitations.presenters import present_invitation, present_issued
from taskbridge.users.invitations.schemas import InvitationIssued, InvitationRead
from taskbridge.users.presenters import present_member
from taskbridge.users.schemas import MemberRead

app = typer.Typer(help="Users of a tenant and their roles.", no_args_is_help=True)

EmailOption = Annotated[str, typer.Option(help="The person's email.", show_default=False)]
RoleOption = Annotated[
    str, typer.Option(help="SUPER_ADMIN, ADMIN, FDE or VIEWER.", show_default=False)
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="Where people reach the server; the invitation link starts with it "
        "[default: TASKBRIDGE_PUBLIC_URL, else http://127.0.0.1:8000].",
        show_default=False,
    ),
]
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
"""``taskbridge serve``'s own address."""
NEEDS_PASSWORD = "give the password on standard input with --password-stdin"


def _read_password(from_stdin: bool) -> str:
    if not from_stdin:
        fail(NEEDS_PASSWORD)
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("password: nothing was read from standard input")
    return password


def _show(member: MemberRead, as_json: bool, verb: str, tenant: str) -> None:
    if as_json:
        print_json(dump(member))
    else:
        say(f"{verb} user {member.email} (id {member.id}) in '{tenant}' as {member.role}")


def _show_invitation(invited: InvitationIssued, as_json: bool, tenant: str) -> None:
    if as_json:
        print_json(dump(invited))
        return
    say(f"{invited.email} already has an account: invited to '{tenant}' as {invited.role}.")
    say("Send them this link; they accept it signed in as themselves (valid for 7 days):")
    say(invited.accept_url)


@app.command("create")
def create(
    tenant: TenantOption,
    email: EmailOption,
    role: RoleOption,
    password_stdin: PasswordStdin = False,
    first_name: Annotated[str, typer.Option(help="First name.")] = "",
    last_name: Annotated[str, typer.Option(help="Last name.")] = "",
    base_url: BaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user with a role in the tenant. An email that already has an account is invited
    instead (its password and names are left alone): the command prints the link to send."""
    password = _read_password(password_stdin) if password_stdin else None
    settings = load_settings()

    async def work(session: AsyncSession) -> MemberRead | InvitationIssued:
        found = await tenants.get_by_slug(session, tenant)
        if password is None and await users.find_account(session, email) is None:
            raise BadRequest(NEEDS_PASSWORD)
        added = await invitations.add_member(
            session,
            settings.resolved_secret_key(),
            found.id,
            email=email,
            password=password or "",
            role=role,
            first_name=first_name,
            last_name=last_name,
            rank=None,
            invited_by=CLI_ACTOR,
        )
        if isinstance(added, invitations.IssuedInvitation):
            return present_issued(added, base_url or settings.public_url or DEFAULT_BASE_URL)
        return present_member(added)

    shown = run(work, settings)
    if isinstance(shown, InvitationIssued):
        _show_invitation(shown, as_json, tenant)
    else:
        _show(shown, as_json, "Created", tenant)


@app.command("invite")
def invite(
    tenant: TenantOption,
    email: EmailOption,
    role: RoleOption,
    base_url: BaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Invite an existing account to the tenant with a role; prints the link to send them."""
    settings = load_settings()

    async def work(session: AsyncSession) -> InvitationIssued:
        found = await tenants.get_by_slug(session, tenant)
        issued = await invitations.invite(
            session,
            settings.resolved_secret_key(),
            found.id,
            email=email,
            role=role,
            rank=None,
            invited_by=CLI_ACTOR,
        )
        return present_issued(issued, base_url or settings.public_url or DEFAULT_BASE_URL)

    _show_invitation(run(work, settings), as_json, tenant)


@app.command("invitations")
def list_invitations(tenant: TenantOption, as_json: JsonOption = False) -> None:
    """The tenant's pending invitations (their links are not shown again)."""

    async def work(session: AsyncSession) -> list[InvitationRead]:
        found = await tenants.get_by_slug(session, tenant)
        return [present_invitation(i) for i in await invitations.list_pending(session, found.id)]

    pending = run(work)
    if as_json:
        print_json({"data": [dump(i) for i in pending]})
        return
    for invitation in pending:
        expires = invitation.expires_at.isoformat(timespec="minutes")
        say(f"{invitation.id}\t{invitation.email}\t{invitation.role}\texpires {expires}")


@app.command("set-role")
def set_role(
    tenant: TenantOption, email: EmailOption, role: RoleOption, as_json: JsonOption = False
) -> None:
    """Change a user's role in the tenant."""

    async def work(session: AsyncSession) -> MemberRead:
        found = await tenants.get_by_slug(session, tenant)
        member = await users.get_member_by_email(session, found.id, email)
        return present_member(await users.set_role(session, found.id, member.user.id, role))

    _show(run(work), as_json, "Updated", tenant)


@app.command("reset-password")
def reset_password(
    tenant: TenantOption,
    email: EmailOption,
    password_stdin: PasswordStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Set a new password (read from stdin); the user's sessions end."""
    password = _read_password(password_stdin)

    async def work(session: AsyncSession) -> MemberRead:
        found = await tenants.get_by_slug(session, tenant)
        member = await users.get_member_by_email(session, found.id, email)
        reset = await users.reset_password(session, found.id, member.user.id, password)
        return present_member(reset)

    _show(run(work), as_json, "Reset the password of", tenant)


def _set_active(tenant: str, email: str, active: bool) -> MemberRead:
    async def work(session: AsyncSession) -> MemberRead:
        found = await tenants.get_by_slug(session, tenant)
        member = await users.get_member_by_email(session, found.id, email)
        return present_member(await users.set_active(session, found.id, member.user.id, active))

    return run(work)


@app.command("deactivate")
def deactivate(tenant: TenantOption, email: EmailOption, as_json: JsonOption = False) -> None:
    """Deactivate a user: they cannot sign in, and every session of theirs ends at once (never
    the last active ADMIN of a tenant)."""
    _show(_set_active(tenant, email, False), as_json, "Deactivated", tenant)


@app.command("reactivate")
def reactivate(tenant: TenantOption, email: EmailOption, as_json: JsonOption = False) -> None:
    """Let a deactivated user sign in again."""
    _show(_set_active(tenant, email, True), as_json, "Reactivated", tenant)


@app.command("list")
def list_(tenant: TenantOption, as_json: JsonOption = False) -> None:
    """The tenant's users and their roles."""

    async def work(session: AsyncSession) -> list[MemberRead]:
        found = await tenants.get_by_slug(session, tenant)
        return [present_member(m) for m in await users.list_members(session, found.id)]

    members = run(work)
    if as_json:
        print_json({"data": [dump(m) for m in members]})
        return
    for member in members:
        say(f"{member.id}\t{member.email}\t{member.role}")
