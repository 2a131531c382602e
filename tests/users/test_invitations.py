"""Invitations of existing accounts, end to end: REST, the panel over HTTP, and the CLI."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

from taskbridge.cli import app as cli_app
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.kit.time import utcnow
from taskbridge.models import Invitation
from taskbridge.users import service as users
from taskbridge.users.invitations.tokens import issue_invitation_token
from tests.cli.conftest import Cli
from tests.factories import build_world
from tests.users.support import PASSWORD, Person, add_person, bearer, log_in
from tests.web.support import csrf_of, post_form, sign_in

INVALID = "token: is invalid, expired or already used"
WEEK = timedelta(days=7)


async def _people(factory: async_sessionmaker[AsyncSession]) -> tuple[Person, Person, Person]:
    """Guest (FDE of alpha), host (ADMIN of beta), stranger (VIEWER of beta)."""
    alpha = await build_world(factory, slug="alpha")
    beta = await build_world(factory, slug="beta")
    guest = await add_person(factory, alpha.tenant.id, "FDE", email="guest@alpha.test")
    host = await add_person(factory, beta.tenant.id, "ADMIN", email="host@beta.test")
    stranger = await add_person(factory, beta.tenant.id, "VIEWER", email="stranger@beta.test")
    return guest, host, stranger


async def _invite(
    client: httpx.AsyncClient, host: Person, email: str, role: str = "FDE"
) -> dict[str, Any]:
    response = await client.post(
        "/api/users", headers=await bearer(client, host), json={"email": email, "role": role}
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def _accept(client: httpx.AsyncClient, person: Person | str, token: str) -> httpx.Response:
    """``POST /api/auth/invitations/accept`` signed in as ``person`` (or an email's account)."""
    access = await log_in(client, person if isinstance(person, str) else person.email)
    return await client.post(
        "/api/auth/invitations/accept",
        headers={"authorization": f"Bearer {access}"},
        json={"token": token},
    )


async def _roles_in(factory: async_sessionmaker[AsyncSession], tenant: Person) -> dict[str, str]:
    async with session_scope(factory) as session:
        members = await users.list_members(session, tenant.tenant_id)
    return {m.user.email: str(m.role) for m in members}


async def test_the_invited_account_accepts_once_and_joins_with_the_role(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    guest, host, _ = await _people(session_factory)
    invited = await _invite(client, host, guest.email)
    token = invited["token"]
    assert invited["acceptUrl"] == f"http://testserver/admin/invitations/{token}"
    assert guest.email not in await _roles_in(session_factory, host)

    access = await log_in(client, guest.email)
    signed_in = {"authorization": f"Bearer {access}"}
    mine = await client.get("/api/auth/invitations", headers=signed_in)
    assert mine.status_code == 200
    [offer] = mine.json()["data"]
    assert (offer["tenantName"], offer["tenantSlug"], offer["role"]) == ("Beta", "beta", "FDE")
    assert offer["expiresAt"] == invited["expiresAt"]
    assert token not in mine.text

    accepted = await _accept(client, guest, token)
    assert accepted.status_code == 200, accepted.text
    assert {(t["slug"], t["role"]) for t in accepted.json()["tenants"]} == {
        ("alpha", "FDE"),
        ("beta", "FDE"),
    }
    assert (await _roles_in(session_factory, host))[guest.email] == "FDE"
    assert (await client.get("/api/auth/invitations", headers=signed_in)).json()["data"] == []

    reused = await _accept(client, guest, token)
    assert (reused.status_code, reused.json()["message"]) == (400, INVALID)
    again = await client.post(
        "/api/users", headers=await bearer(client, host), json={"email": guest.email, "role": "FDE"}
    )
    assert again.status_code == 409


async def test_only_the_hash_is_stored_and_the_invitation_expires_in_seven_days(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    guest, host, _ = await _people(session_factory)
    before = utcnow()
    invited = await _invite(client, host, guest.email, "VIEWER")
    async with session_scope(session_factory) as session:
        row = await session.scalar(select(Invitation))
    assert row is not None
    assert row.token_hash == hashlib.sha256(invited["token"].encode()).hexdigest()
    assert invited["token"] not in str([getattr(row, c.key) for c in Invitation.__table__.c])
    assert (row.tenant_id, row.user_id, row.role) == (host.tenant_id, guest.id, "VIEWER")
    assert row.invited_by == f"user:{host.id}"
    assert WEEK <= row.expires_at - before < WEEK + timedelta(minutes=1)


async def test_tokens_that_are_expired_revoked_replaced_or_tampered_with_are_refused(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    guest, host, stranger = await _people(session_factory)
    headers = await bearer(client, host)

    first = await _invite(client, host, guest.email)
    second = await _invite(client, host, guest.email, "VIEWER")
    replaced = await _accept(client, guest, first["token"])
    assert (replaced.status_code, replaced.json()["message"]) == (400, INVALID)
    listed = await client.get("/api/users/invitations", headers=headers)
    assert [(i["id"], i["role"]) for i in listed.json()["data"]] == [(second["id"], "VIEWER")]

    payload, signature = second["token"].split(".")
    flipped = "A" if signature[0] != "A" else "B"
    for forged in [
        f"{payload}.{flipped}{signature[1:]}",
        f"{payload[:-2]}xx.{signature}",
        "tb_inv_not-a-token",
        "",
        # Genuinely signed, but for no invitation there is.
        issue_invitation_token(settings.resolved_secret_key(), uuid.uuid4(), utcnow() + WEEK),
    ]:
        refused = await _accept(client, guest, forged)
        assert (refused.status_code, refused.json()["message"]) == (400, INVALID), forged

    wrong = await _accept(client, stranger, second["token"])
    assert (wrong.status_code, wrong.json()["message"]) == (
        403,
        "This invitation is for another account",
    )

    async with session_scope(session_factory) as session:
        await session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = await _accept(client, guest, second["token"])
    assert (expired.status_code, expired.json()["message"]) == (400, INVALID)

    third = await _invite(client, host, guest.email)
    revoked = await client.post(f"/api/users/invitations/{third['id']}/revoke", headers=headers)
    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    after_revoke = await _accept(client, guest, third["token"])
    assert (after_revoke.status_code, after_revoke.json()["message"]) == (400, INVALID)
    assert guest.email not in await _roles_in(session_factory, host)


async def test_another_tenant_cannot_see_or_revoke_an_invitation(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    guest, host, stranger = await _people(session_factory)
    invited = await _invite(client, host, guest.email)
    outsider = await add_person(session_factory, guest.tenant_id, "ADMIN")
    headers = await bearer(client, outsider)

    listed = await client.get("/api/users/invitations", headers=headers)
    assert (listed.status_code, listed.json()["data"]) == (200, [])
    revoked = await client.post(f"/api/users/invitations/{invited['id']}/revoke", headers=headers)
    assert revoked.status_code == 404
    viewer = await bearer(client, stranger)
    assert (await client.get("/api/users/invitations", headers=viewer)).status_code == 403
    by_viewer = await client.post(f"/api/users/invitations/{invited['id']}/revoke", headers=viewer)
    assert by_viewer.status_code == 403
    assert (await _accept(client, guest, invited["token"])).status_code == 200


async def test_inviting_follows_the_rules_of_creating(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    guest, host, stranger = await _people(session_factory)
    headers = await bearer(client, host)
    too_high = await client.post(
        "/api/users", headers=headers, json={"email": guest.email, "role": "SUPER_ADMIN"}
    )
    assert too_high.status_code == 403
    member = await client.post(
        "/api/users", headers=headers, json={"email": stranger.email, "role": "FDE"}
    )
    assert member.status_code == 409
    new = await client.post(
        "/api/users", headers=headers, json={"email": "n@beta.test", "role": "FDE"}
    )
    assert (new.status_code, new.json()["message"]) == (
        400,
        "password: must be at least 8 characters",
    )
    no_bearer = await client.post("/api/auth/invitations/accept", json={"token": "x"})
    assert no_bearer.status_code == 401
    assert (await client.get("/api/auth/invitations")).status_code == 401
    async with session_scope(session_factory) as session:
        assert await session.scalar(select(Invitation)) is None


async def _open_link_signed_out(client: httpx.AsyncClient, link: str, person: Person) -> None:
    """Open the link, get sent to sign in, sign in, and land back on the link."""
    path = link.removeprefix("http://testserver")
    redirected = await client.get(path)
    assert redirected.status_code == 303
    login = redirected.headers["location"]
    assert login.startswith("/admin/login?next=")
    page = await client.get(login)
    signed_in = await client.post(
        "/admin/login",
        data={
            "email": person.email,
            "password": PASSWORD,
            "next": path,
            "csrf_token": csrf_of(page),
        },
    )
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, path)


async def test_the_panel_invites_and_the_invitee_accepts(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    guest, host, _ = await _people(session_factory)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    admin_browser = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    guest_browser = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    try:
        await sign_in(admin_browser, host.email, PASSWORD)
        shown = await post_form(
            admin_browser,
            "/admin/users",
            "/admin/users",
            {"email": guest.email, "role": "VIEWER", "password": "", "first_name": "Mallory"},
        )
        assert shown.status_code == 200, shown.text
        assert "ya tiene una cuenta: envíale este enlace" in shown.text
        link = _link_path_in(shown.text)
        listed = await admin_browser.get("/admin/users")
        assert "Invitaciones pendientes" in listed.text
        assert "invitado" in listed.text
        assert link not in listed.text

        await _open_link_signed_out(guest_browser, link, guest)
        offer = await guest_browser.get(link)
        assert offer.status_code == 200
        assert "Beta te invita a unirte como VIEWER" in offer.text
        accepted = await post_form(guest_browser, link, f"{link}/accept")
        assert (accepted.status_code, accepted.headers["location"]) == (303, "/admin/")
        dashboard = await guest_browser.get("/admin/")
        assert f'<option value="{host.tenant_id}" selected>Beta</option>' in dashboard.text
        assert (await _roles_in(session_factory, host))[guest.email] == "VIEWER"
        async with session_scope(session_factory) as session:
            account = await users.find_account(session, guest.email)
        assert account is not None
        assert account.first_name == ""

        used = await guest_browser.get(link)
        assert used.status_code == 400
        assert "Este enlace de invitación no es válido, venció o ya se usó" in used.text
    finally:
        await admin_browser.aclose()
        await guest_browser.aclose()


async def test_the_panel_refuses_the_wrong_account_and_declines_and_revokes(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    guest, host, stranger = await _people(session_factory)
    first = await _invite(client, host, guest.email)
    path = f"/admin/invitations/{first['token']}"

    await sign_in(client, stranger.email, PASSWORD)
    wrong = await client.get(path)
    assert wrong.status_code == 403
    assert "Esta invitación es para otra cuenta" in wrong.text
    assert 'action="/admin/logout"' in wrong.text
    forced = await post_form(client, "/admin/", f"{path}/accept")
    assert forced.status_code == 403
    await post_form(client, "/admin/", "/admin/logout")

    await sign_in(client, guest.email, PASSWORD)
    assert (await client.get("/admin/invitations/tb_inv_forged.x")).status_code == 400
    declined = await post_form(client, path, f"{path}/decline")
    assert declined.status_code == 200
    assert "Rechazaste la invitación de Beta." in declined.text
    assert (await client.get(path)).status_code == 400
    assert guest.email not in await _roles_in(session_factory, host)
    await post_form(client, "/admin/", "/admin/logout")

    second = await _invite(client, host, guest.email)
    await sign_in(client, host.email, PASSWORD)
    page = await client.get("/admin/users")
    revoke = f"/admin/users/invitations/{second['id']}/revoke"
    assert revoke in page.text
    revoked = await post_form(client, "/admin/users", revoke)
    assert (revoked.status_code, revoked.headers["location"]) == (
        303,
        "/admin/users?notice=revoked",
    )
    after = await client.get(revoked.headers["location"])
    assert "Invitación revocada." in after.text
    assert revoke not in after.text
    assert (await _accept(client, guest, second["token"])).status_code == 400

    third = await _invite(client, host, guest.email)
    outsider = await add_person(session_factory, guest.tenant_id, "ADMIN")
    await post_form(client, "/admin/", "/admin/logout")
    await sign_in(client, outsider.email, PASSWORD)
    elsewhere = await post_form(
        client, "/admin/users", f"/admin/users/invitations/{third['id']}/revoke"
    )
    assert elsewhere.status_code == 404


def _link_path_in(page: str) -> str:
    """The path of the invitation link a page shows to copy."""
    start = page.index('value="http://testserver/admin/invitations/') + len('value="')
    return page[start : page.index('"', start)].removeprefix("http://testserver")


async def _run(cli: Cli, *args: str, stdin: str = "") -> Result:
    runner = CliRunner(env=cli.env)
    return await asyncio.to_thread(lambda: runner.invoke(cli_app, list(args), input=stdin))


async def test_the_cli_invites_an_existing_account_and_lists_invitations(
    cli: Cli, settings: Settings, client: httpx.AsyncClient, acme: str
) -> None:
    # The server's secret key, which signs the links the server checks.
    signing = Cli(env={**cli.env, "TASKBRIDGE_SECRET_KEY": settings.resolved_secret_key()})
    await signing.ok("tenant", "create", "--name", "Globex", "--slug", "globex")
    new = ["--email", "ana@globex.test", "--role", "ADMIN", "--first-name", "Ana"]
    created = await _run(
        signing,
        "user",
        "create",
        "--tenant",
        "globex",
        *new,
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    assert created.exit_code == 0, created.stderr

    invited = await signing.json(
        "user", "create", "--tenant", acme, *new, "--base-url", "https://tb.example/"
    )
    assert set(invited) == {
        "id",
        "email",
        "role",
        "status",
        "createdAt",
        "expiresAt",
        "acceptUrl",
        "token",
    }
    assert (invited["email"], invited["role"], invited["status"]) == (
        "ana@globex.test",
        "ADMIN",
        "invited",
    )
    assert invited["acceptUrl"] == f"https://tb.example/admin/invitations/{invited['token']}"

    text = await signing.ok(
        "user", "invite", "--tenant", acme, "--email", "ana@globex.test", "--role", "FDE"
    )
    lines = text.stdout.splitlines()
    assert lines[0] == "ana@globex.test already has an account: invited to 'acme' as FDE."
    assert lines[-1].startswith("http://127.0.0.1:8000/admin/invitations/tb_inv_")
    listed = await signing.json("user", "invitations", "--tenant", acme)
    assert [(i["email"], i["role"], i["status"]) for i in listed["data"]] == [
        ("ana@globex.test", "FDE", "invited")
    ]
    assert "token" not in listed["data"][0]

    replaced = await _accept(client, "ana@globex.test", invited["token"])
    assert replaced.status_code == 400
    accepted = await _accept(client, "ana@globex.test", lines[-1].rsplit("/", 1)[1])
    assert accepted.status_code == 200, accepted.text
    assert {(t["slug"], t["role"]) for t in accepted.json()["tenants"]} == {
        ("acme", "FDE"),
        ("globex", "ADMIN"),
    }
    assert accepted.json()["firstName"] == "Ana"

    nobody = await signing.refused(
        "user", "invite", "--tenant", acme, "--email", "nobody@acme.test", "--role", "FDE"
    )
    assert nobody.stderr == "No account has the email 'nobody@acme.test'; create the user instead\n"
    # The platform operator still resets anyone's password, shared accounts included.
    reset = await _run(
        signing,
        "user",
        "reset-password",
        "--tenant",
        acme,
        "--email",
        "ana@globex.test",
        "--password-stdin",
        stdin="operator-set-pw\n",
    )
    assert reset.exit_code == 0, reset.stderr
    await log_in(client, "ana@globex.test", "operator-set-pw")


async def test_the_link_uses_the_public_url_not_the_host_a_client_sent(
    app: FastAPI, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """A forged ``Host`` must not turn the link an admin forwards into one to another site."""
    _guest, host, _stranger = await _people(session_factory)
    headers = {**await bearer(client, host), "host": "evil.example"}
    forged = await client.post(
        "/api/users", headers=headers, json={"email": "guest@alpha.test", "role": "FDE"}
    )
    assert forged.json()["acceptUrl"].startswith("http://evil.example/admin/invitations/")

    app.state.settings = app.state.settings.model_copy(
        update={"public_url": "https://tasks.example.com"}
    )
    again = await client.post(
        "/api/users", headers=headers, json={"email": "guest@alpha.test", "role": "FDE"}
    )
    assert again.status_code == 202
    assert again.json()["acceptUrl"].startswith("https://tasks.example.com/admin/invitations/")
