"""Panel actions over HTTP: the services' rules shown next to fields, roles, tenants, language."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.kit.time import utcnow
from taskbridge.results import service as results
from taskbridge.results.schemas import ResultStatus, ResultSubmission, TaskResultIn
from taskbridge.users import service as users
from tests.factories import build_world
from tests.users.support import PASSWORD, add_person, join_tenant
from tests.web.support import post_form, sign_in


def _id_of(page: httpx.Response, label: str) -> str:
    found = re.search(
        rf'value="([0-9a-f-]{{36}})"[^>]*>\s*<span>{re.escape(label)}</span>', page.text
    )
    assert found, page.text
    return found.group(1)


async def test_operator_screen_shows_rule_violations_in_labels_next_to_the_field(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    fde = await add_person(session_factory, world.tenant.id, "FDE")
    await sign_in(client, fde.email, PASSWORD)
    screen = f"/admin/operate/{world.task.id}"
    page = await client.get(screen)
    assert page.status_code == 200
    assert "RESCHEDULE" not in page.text
    reschedule = _id_of(page, "Reprogramar visita")

    missing_date = await post_form(client, screen, screen, {"result_type": reschedule})
    assert missing_date.status_code == 400
    assert (
        '<p class="field-error" id="future_at-error" role="alert">'
        "es obligatorio para el resultado &#39;Reprogramar visita&#39;</p>"
    ) in missing_date.text
    assert "RESCHEDULE" not in missing_date.text

    past = await post_form(
        client, screen, screen, {"result_type": reschedule, "future_at": "2020-01-01T10:00"}
    )
    assert "debe estar en el futuro para el resultado &#39;Reprogramar visita&#39;" in past.text

    done = await post_form(
        client,
        screen,
        screen,
        {"result_type": _id_of(page, "Venta completada"), "status": "EFFECTIVE"},
    )
    assert done.status_code == 200
    assert "Resultado registrado" in done.text
    assert "tarea de seguimiento" not in done.text
    detail = await client.get(f"/admin/tasks/{world.task.id}")
    assert "Venta completada" in detail.text
    assert "PANEL" in detail.text
    assert f"user:{fde.id}" in detail.text

    again = await post_form(client, screen, screen, {"result_type": _id_of(page, "Sin contacto")})
    assert again.status_code == 409
    assert "ya tiene un resultado final" in again.text


async def test_a_used_result_type_cannot_be_deleted_and_says_why(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    async with session_scope(session_factory) as session:
        await results.submit_result(
            session,
            results.Submitter(tenant_id=world.tenant.id, actor="test"),
            ResultSubmission(
                activity_id=world.task.id,
                commerce_external_id="COM-001",
                occurred_at=utcnow(),
                status=ResultStatus.PENDING,
                task_result=TaskResultIn(result="NO_CONTACT"),
            ),
        )
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    await sign_in(client, admin.email, PASSWORD)
    page = await client.get("/admin/result-types")
    used = re.search(
        r"/admin/result-types/([0-9a-f-]{36})/delete",
        page.text.split('data-code="NO_CONTACT"', 1)[1],
    )
    assert used
    refused = await post_form(
        client, "/admin/result-types", f"/admin/result-types/{used.group(1)}/delete"
    )
    assert refused.status_code == 409
    assert "lo usan resultados y no se puede eliminar; archívalo en su lugar" in refused.text
    assert "NO_CONTACT" in (await client.get("/admin/result-types")).text


async def test_tasks_are_created_and_canceled_from_forms(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    await sign_in(client, admin.email, PASSWORD)
    form = {
        "commerce_external_id": "COM-404",
        "channel": "SALESMAN",
        "scheduled_at": "2030-05-04T09:00",
        "reason": "Visita",
        "idempotency_key": "k-1",
    }
    unknown = await post_form(client, "/admin/tasks/new", "/admin/tasks/new", form)
    assert unknown.status_code == 404
    assert 'id="commerce_external_id-error"' in unknown.text

    created = await post_form(
        client, "/admin/tasks/new", "/admin/tasks/new", {**form, "commerce_external_id": "COM-001"}
    )
    assert created.status_code == 303
    task_path = created.headers["location"]
    repeated = await post_form(
        client, "/admin/tasks/new", "/admin/tasks/new", {**form, "commerce_external_id": "COM-001"}
    )
    assert repeated.status_code == 409
    assert 'id="idempotency_key-error"' in repeated.text

    canceled = await post_form(client, task_path, f"{task_path}/cancel", {"reason": "Cerrado"})
    assert canceled.status_code == 303
    detail = await client.get(canceled.headers["location"])
    assert "Tarea cancelada." in detail.text
    assert "CANCELED" in detail.text
    assert "Cerrado" in detail.text


async def test_users_are_managed_only_below_ones_own_role(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    peer = await add_person(session_factory, world.tenant.id, "ADMIN")
    fde = await add_person(session_factory, world.tenant.id, "FDE")
    await sign_in(client, admin.email, PASSWORD)
    page = await client.get("/admin/users")
    assert f"/admin/users/{fde.id}/role" in page.text
    assert f"/admin/users/{peer.id}/role" not in page.text
    assert "<option>SUPER_ADMIN</option>" not in page.text

    lowered = await post_form(
        client, "/admin/users", f"/admin/users/{fde.id}/role", {"role": "VIEWER"}
    )
    assert lowered.status_code == 303
    refused = await post_form(
        client, "/admin/users", f"/admin/users/{peer.id}/role", {"role": "FDE"}
    )
    assert refused.status_code == 403
    assert "Solo puedes gestionar usuarios cuyo rol esté por debajo del tuyo" in refused.text

    added = await post_form(
        client,
        "/admin/users",
        "/admin/users",
        {"email": "nuevo@acme.test", "password": "short", "role": "FDE"},
    )
    assert added.status_code == 400
    assert 'id="password-error"' in added.text
    async with session_scope(session_factory) as session:
        members = {m.user.email: m.role for m in await users.list_members(session, world.tenant.id)}
    assert members[fde.email] == "VIEWER"
    assert members[peer.email] == "ADMIN"
    assert "nuevo@acme.test" not in members


async def test_the_tenant_switcher_and_the_language(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    acme = await build_world(session_factory, slug="acme")
    other = await build_world(session_factory, slug="globex", locale="en")
    person = await add_person(session_factory, acme.tenant.id, "ADMIN")
    await join_tenant(session_factory, person.email, other.tenant.id, "VIEWER")
    stranger = await build_world(session_factory, slug="initech")
    await sign_in(client, person.email, PASSWORD)

    home = await client.get("/admin/")
    assert "Resumen" in home.text
    assert '<option value="' + str(other.tenant.id) in home.text
    switched = await post_form(
        client, "/admin/", "/admin/tenant", {"tenant_id": str(other.tenant.id)}
    )
    assert switched.status_code == 303
    english = await client.get("/admin/")
    assert "Dashboard" in english.text
    assert 'href="/admin/api-keys"' not in english.text  # a VIEWER in globex

    forged = await post_form(
        client, "/admin/", "/admin/tenant", {"tenant_id": str(stranger.tenant.id)}
    )
    assert forged.status_code == 303
    fallback = await client.get("/admin/users")
    assert fallback.status_code == 200
    assert "Initech" not in fallback.text

    chosen = await post_form(
        client, "/admin/", "/admin/language", {"language": "es", "back": "/admin/tasks"}
    )
    assert chosen.headers["location"] == "/admin/tasks"
    assert "Tareas" in (await client.get("/admin/tasks")).text
