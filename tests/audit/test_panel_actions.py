"""The panel's forms leave the same audit entries as the API: one per change, named by the
signed-in person, none for a refused form."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.models import ApiKey, ResultType
from tests.audit.support import no_entry, one_entry
from tests.factories import build_world
from tests.users.support import PASSWORD, add_person
from tests.web.support import csrf_of, post_form, sign_in


async def _id_of(factory: async_sessionmaker[AsyncSession], model: type, **where: str) -> uuid.UUID:
    async with session_scope(factory) as session:
        stmt = select(model.id).filter_by(**where)  # type: ignore[attr-defined]
        found: uuid.UUID = (await session.scalars(stmt)).one()
    return found


async def test_every_panel_form_leaves_one_entry_named_by_the_person(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    boss = await add_person(session_factory, world.tenant.id, "ADMIN")
    signed = await one_entry(
        session_factory, "auth.signed_in", lambda: sign_in(client, boss.email, PASSWORD)
    )
    assert signed.actor_label == boss.email

    async def form(page: str, action: str, data: dict[str, str], status: int = 303) -> None:
        response = await post_form(client, page, action, data)
        assert response.status_code == status, response.text[:500]

    key_form = {"name": "Panel key", "permissions": "VIEW_ACTIVITIES"}
    created = await one_entry(
        session_factory,
        "api_key.created",
        lambda: form("/admin/api-keys", "/admin/api-keys", key_form, 200),
    )
    assert (created.actor_type, created.actor_id) == ("user", str(boss.id))
    assert created.address == "127.0.0.1"
    key_id = await _id_of(session_factory, ApiKey, name="Panel key")
    revoke = f"/admin/api-keys/{key_id}/revoke"
    await one_entry(session_factory, "api_key.revoked", lambda: form(revoke, revoke, {}))

    types = "/admin/result-types"
    await one_entry(
        session_factory,
        "result_type.created",
        lambda: form(types, types, {"code": "PANEL", "label": "Desde el panel"}),
    )
    type_id = await _id_of(session_factory, ResultType, code="PANEL")
    item = f"{types}/{type_id}"
    await one_entry(
        session_factory, "result_type.updated", lambda: form(item, item, {"label": "Renombrado"})
    )
    await one_entry(
        session_factory,
        "result_type.reordered",
        lambda: form(types, f"{item}/move", {"direction": "up"}),
    )
    await one_entry(
        session_factory, "result_type.archived", lambda: form(types, f"{item}/archive", {})
    )
    await one_entry(
        session_factory, "result_type.restored", lambda: form(types, f"{item}/restore", {})
    )
    await one_entry(
        session_factory, "result_type.deleted", lambda: form(types, f"{item}/delete", {})
    )

    people = "/admin/users"
    newcomer = {"email": "panel.person@acme.test", "password": PASSWORD, "role": "VIEWER"}
    added = await one_entry(
        session_factory, "user.created", lambda: form(people, people, newcomer), secrets=(PASSWORD,)
    )
    person = f"{people}/{added.target_id}"
    await one_entry(
        session_factory,
        "user.role_changed",
        lambda: form(people, f"{person}/role", {"role": "FDE"}),
    )
    await one_entry(
        session_factory,
        "user.password_reset",
        lambda: form(people, f"{person}/password", {"password": "panel new password"}),
        secrets=("panel new password",),
    )
    elsewhere = await build_world(session_factory, slug="elsewhere")
    outsider = await add_person(session_factory, elsewhere.tenant.id, "VIEWER")
    invite = {"email": outsider.email, "password": "", "role": "VIEWER"}
    invited = await one_entry(
        session_factory, "user.invited", lambda: form(people, people, invite, 200)
    )
    invitation = invited.changes["after"]["invitation_id"]
    await one_entry(
        session_factory,
        "invitation.revoked",
        lambda: form(people, f"{people}/invitations/{invitation}/revoke", {}),
    )

    async def upload() -> None:
        page = await client.get("/admin/commerces")
        response = await client.post(
            "/admin/commerces/import",
            data={"csrf_token": csrf_of(page)},
            files={"file": ("c.csv", b"external_id,name,tax_id\nCOM-P,Panel,\n", "text/csv")},
        )
        assert response.status_code == 200, response.text[:500]

    imported = await one_entry(session_factory, "import.run", upload)
    assert imported.changes["after"]["kind"] == "commerces"

    async def refused() -> None:
        await form("/admin/api-keys", "/admin/api-keys", {"name": " "}, 400)
        await form(types, types, {"code": "PANEL2", "label": " "}, 400)
        await form(people, f"{person}/password", {"password": "short"}, 400)
        await form(people, people, {**newcomer, "password": "short"}, 409)

    await no_entry(session_factory, refused)
