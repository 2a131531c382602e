"""``taskbridge user``: people of a tenant and their roles (passwords are read from stdin)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.cli.runtime import JsonOption, TenantOption, dump, fail, print_json, run, say
from taskbridge.tenants import service as tenants
from taskbridge.users import service as users
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


def _read_password(from_stdin: bool) -> str:
    if not from_stdin:
        fail("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("password: nothing was read from standard input")
    return password


def _show(member: MemberRead, as_json: bool, verb: str, tenant: str) -> None:
    if as_json:
        print_json(dump(member))
    else:
        say(f"{verb} user {member.email} (id {member.id}) in '{tenant}' as {member.role}")


@app.command("create")
def create(
    tenant: TenantOption,
    email: EmailOption,
    role: RoleOption,
    password_stdin: PasswordStdin = False,
    first_name: Annotated[str, typer.Option(help="First name.")] = "",
    last_name: Annotated[str, typer.Option(help="Last name.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create a user with a role in the tenant (an existing account joins it)."""
    password = _read_password(password_stdin)

    async def work(session: AsyncSession) -> MemberRead:
        found = await tenants.get_by_slug(session, tenant)
        member = await users.create_member(
            session,
            found.id,
            email=email,
            password=password,
            role=role,
            first_name=first_name,
            last_name=last_name,
        )
        return present_member(member)

    _show(run(work), as_json, "Created", tenant)


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
