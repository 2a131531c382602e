"""POST /api/integration/activity-results/tasks: rules 2..6, one by one and in their order."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.kit.time import utcnow
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeCreate
from tests.factories import World, create_commerce, create_tenant
from tests.integration.support import (
    SUBMIT,
    add_tasks,
    count_results,
    error,
    in_days,
    reschedule,
    set_status,
    stamp,
    submission,
)

VALID_CODES = "SALE_COMPLETED, NOT_INTERESTED, RESCHEDULE, NO_CONTACT"
RESULT_FIELD = "task_result.result"
FUTURE_FIELD = "task_result.future_scheduled_at"


def bad_request(field: str, rule: str) -> dict[str, object]:
    message = f"{field}: {rule}"
    return error(400, message, details=[{"field": field, "message": message}])


def unknown_code(value: str, hint: str = "") -> dict[str, object]:
    return bad_request(
        RESULT_FIELD, f"unknown result code '{value}'{hint}; valid codes: {VALID_CODES}"
    )


async def post(client: httpx.AsyncClient, world: World, body: dict[str, object]) -> httpx.Response:
    return await client.post(SUBMIT, headers=world.headers, json=body)


# Rule 2 ----------------------------------------------------------------------------------------


async def test_neither_id_is_400(client: httpx.AsyncClient, world: World) -> None:
    response = await post(client, world, submission(None))
    assert response.status_code == 400
    assert response.json() == bad_request(
        "activity_id", "one of activity_id or provider_activity_id is required"
    )


async def test_neither_id_comes_before_an_unknown_code(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await post(client, world, submission(None, "Venta completada"))
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "activity_id"


async def test_missing_required_fields_are_named(client: httpx.AsyncClient, world: World) -> None:
    response = await post(client, world, {"activity_id": str(world.task.id)})
    assert response.status_code == 400
    body = response.json()
    fields = [d["field"] for d in body["details"]]
    assert fields == ["commerce_external_id", "occurred_at", "status", "task_result"]
    assert body["message"] == "commerce_external_id: is required (and 3 more)"
    assert all(d["message"] == f"{d['field']}: is required" for d in body["details"])


# Rule 3 ----------------------------------------------------------------------------------------


async def test_unknown_code_lists_the_valid_ones(client: httpx.AsyncClient, world: World) -> None:
    response = await post(client, world, submission(world.task.id, "SOLD"))
    assert response.status_code == 400
    assert response.json() == unknown_code("SOLD")


async def test_label_instead_of_code_names_the_code(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await post(client, world, submission(world.task.id, "Venta completada"))
    assert response.status_code == 400
    hint = '; send the code "SALE_COMPLETED", not the label "Venta completada"'
    assert response.json() == unknown_code("Venta completada", hint)
    assert (
        'send the code "SALE_COMPLETED", not the label "Venta completada"'
        in (response.json()["message"])
    )


async def test_codes_are_case_sensitive(client: httpx.AsyncClient, world: World) -> None:
    response = await post(client, world, submission(world.task.id, "sale_completed"))
    assert response.status_code == 400
    assert response.json() == unknown_code("sale_completed")


async def test_archived_code_is_refused(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        by_code = {rt.code: rt for rt in await result_types.list_all(session, world.tenant.id)}
        await result_types.set_active(
            session, world.tenant.id, by_code["NOT_INTERESTED"].id, is_active=False
        )
    response = await post(client, world, submission(world.task.id, "NOT_INTERESTED"))
    assert response.status_code == 400
    assert response.json() == bad_request(
        RESULT_FIELD,
        "unknown result code 'NOT_INTERESTED'; valid codes: SALE_COMPLETED, RESCHEDULE, NO_CONTACT",
    )
    assert await count_results(session_factory) == 0


async def test_another_tenants_code_is_unknown(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        other = await create_tenant(session, "other")
        await result_types.create(
            session,
            other.id,
            ResultTypeCreate(code="OTHER_ONLY", label="Solo otro"),
        )
    response = await post(client, world, submission(world.task.id, "OTHER_ONLY"))
    assert response.json() == unknown_code("OTHER_ONLY")


async def test_label_as_code_and_missing_activity_is_the_400_of_rule_3(
    client: httpx.AsyncClient, world: World
) -> None:
    body = submission(uuid.uuid4(), "Venta completada", commerce="COM-404")
    response = await post(client, world, body)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == RESULT_FIELD


# Rule 4 ----------------------------------------------------------------------------------------


async def test_future_date_missing(client: httpx.AsyncClient, world: World) -> None:
    response = await post(client, world, submission(world.task.id, "RESCHEDULE"))
    assert response.status_code == 400
    assert response.json() == bad_request(FUTURE_FIELD, "is required for result 'RESCHEDULE'")


async def test_future_date_in_the_past_or_now(client: httpx.AsyncClient, world: World) -> None:
    for moment in (
        stamp(utcnow() - timedelta(seconds=1)),
        stamp(utcnow() - timedelta(milliseconds=5)),
        "2020-01-01T00:00:00Z",
    ):
        body = submission(world.task.id, "RESCHEDULE", task_result={"future_scheduled_at": moment})
        response = await post(client, world, body)
        assert response.status_code == 400, moment
        assert response.json() == bad_request(
            FUTURE_FIELD, "must be in the future for result 'RESCHEDULE'"
        )


async def test_future_date_in_the_future_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await post(client, world, reschedule(world.task.id, days=1))
    assert response.status_code == 201


async def test_future_date_is_optional_for_other_codes(
    client: httpx.AsyncClient, world: World
) -> None:
    past = submission(
        world.task.id,
        "NO_CONTACT",
        status="PENDING",
        task_result={"future_scheduled_at": "2020-01-01T00:00:00Z"},
    )
    response = await post(client, world, past)
    assert response.status_code == 201
    assert response.json()["taskResult"]["futureScheduledAt"] == "2020-01-01T00:00:00.000Z"
    assert response.json()["followUpActivityId"] is None


async def test_missing_future_date_comes_before_a_missing_activity(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await post(client, world, submission(uuid.uuid4(), "RESCHEDULE"))
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == FUTURE_FIELD


# Rule 5 ----------------------------------------------------------------------------------------


async def test_missing_activity_is_404(client: httpx.AsyncClient, world: World) -> None:
    missing = uuid.uuid4()
    response = await post(client, world, submission(missing))
    assert response.status_code == 404
    assert response.json() == error(404, f"Activity '{missing}' not found")


async def test_another_tenants_activity_is_404(
    client: httpx.AsyncClient, world: World, other_world: World
) -> None:
    response = await post(client, world, submission(other_world.task.id))
    assert response.status_code == 404
    assert response.json() == error(404, f"Activity '{other_world.task.id}' not found")


async def test_lookup_by_provider_activity_id(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    [task] = await add_tasks(
        session_factory, world.tenant.id, [utcnow()], provider_activity_id="PRV-1"
    )
    response = await post(client, world, submission(None, provider_activity_id="PRV-1"))
    assert response.status_code == 201
    assert response.json()["activityId"] == str(task.id)
    assert response.json()["providerActivityId"] == "PRV-1"
    missing = await post(client, world, submission(None, provider_activity_id="PRV-404"))
    assert missing.status_code == 404
    assert missing.json() == error(404, "Activity with provider_activity_id 'PRV-404' not found")


async def test_activity_id_wins_over_provider_activity_id(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    [by_provider] = await add_tasks(
        session_factory, world.tenant.id, [utcnow()], provider_activity_id="PRV-1"
    )
    both = submission(world.task.id, provider_activity_id="PRV-1")
    response = await post(client, world, both)
    assert response.status_code == 201
    assert response.json()["activityId"] == str(world.task.id)
    assert response.json()["providerActivityId"] is None
    missing = uuid.uuid4()
    wrong_id = await post(client, world, submission(missing, provider_activity_id="PRV-1"))
    assert wrong_id.status_code == 404
    assert wrong_id.json() == error(404, f"Activity '{missing}' not found")
    untouched = await post(client, world, submission(None, provider_activity_id="PRV-1"))
    assert untouched.json()["activityId"] == str(by_provider.id)


async def test_another_tenants_provider_id_is_404(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    other_world: World,
) -> None:
    await add_tasks(session_factory, other_world.tenant.id, [utcnow()], provider_activity_id="P-7")
    response = await post(client, world, submission(None, provider_activity_id="P-7"))
    assert response.status_code == 404


async def test_unknown_commerce_is_404(client: httpx.AsyncClient, world: World) -> None:
    response = await post(client, world, submission(world.task.id, commerce="COM-404"))
    assert response.status_code == 404
    assert response.json() == error(404, "Commerce 'COM-404' not found")


async def test_another_tenants_commerce_is_404(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        other = await create_tenant(session, "other")
        await create_commerce(session, other.id, "COM-OTHER", "Otro")
    response = await post(client, world, submission(world.task.id, commerce="COM-OTHER"))
    assert response.status_code == 404
    assert response.json() == error(404, "Commerce 'COM-OTHER' not found")


async def test_commerce_of_another_activity_is_400(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        await create_commerce(session, world.tenant.id, "COM-002", "Otro comercio")
    response = await post(client, world, submission(world.task.id, commerce="COM-002"))
    assert response.status_code == 400
    assert response.json() == bad_request(
        "commerce_external_id",
        f"commerce 'COM-002' is not the commerce of activity '{world.task.id}'",
    )


async def test_missing_activity_comes_before_an_unknown_commerce(
    client: httpx.AsyncClient, world: World
) -> None:
    missing = uuid.uuid4()
    response = await post(client, world, submission(missing, commerce="COM-404"))
    assert response.json() == error(404, f"Activity '{missing}' not found")


# Rule 6 ----------------------------------------------------------------------------------------


async def test_final_result_is_409_without_override(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    assert (await post(client, world, submission(world.task.id))).status_code == 201
    for status in ("EFFECTIVE", "NOT_EFFECTIVE", "PENDING"):
        again = await post(client, world, submission(world.task.id, "NO_CONTACT", status=status))
        assert again.status_code == 409
        assert again.json() == error(
            409,
            f"Activity '{world.task.id}' already has a final result (EFFECTIVE); "
            "send hard_override: true to replace it",
        )
    assert await count_results(session_factory) == 1


async def test_not_effective_is_final_too(client: httpx.AsyncClient, world: World) -> None:
    first = submission(world.task.id, "NOT_INTERESTED", status="NOT_EFFECTIVE")
    assert (await post(client, world, first)).status_code == 201
    again = await post(client, world, submission(world.task.id))
    assert again.status_code == 409
    assert "(NOT_EFFECTIVE)" in again.json()["message"]


async def test_canceled_activity_is_409_without_override(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await set_status(session_factory, world.task.id, "CANCELED")
    for status in ("EFFECTIVE", "PENDING"):
        response = await post(client, world, submission(world.task.id, status=status))
        assert response.status_code == 409
        assert response.json() == error(
            409,
            f"Activity '{world.task.id}' is CANCELED; send hard_override: true to record a result",
        )
    assert await count_results(session_factory) == 0


async def test_conflict_comes_after_the_commerce_check(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await set_status(session_factory, world.task.id, "CANCELED")
    response = await post(client, world, submission(world.task.id, commerce="COM-404"))
    assert response.status_code == 404


async def test_invalid_code_on_a_completed_activity_is_400_not_409(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await post(client, world, submission(world.task.id))).status_code == 201
    response = await post(client, world, submission(world.task.id, "Venta completada"))
    assert response.status_code == 400
    past = submission(world.task.id, "RESCHEDULE", task_result={"future_scheduled_at": in_days(-1)})
    assert (await post(client, world, past)).status_code == 400


async def test_a_final_result_replaces_a_pending_one_on_a_completed_activity(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    """Rule 6 asks for an override only over a final result: once a PENDING result replaced the
    final one (with an override), the next final result needs none, though the activity is
    already COMPLETED. It stays COMPLETED; nothing moves twice."""
    assert (await post(client, world, submission(world.task.id))).status_code == 201
    pending = submission(world.task.id, "NO_CONTACT", status="PENDING", hard_override=True)
    assert (await post(client, world, pending)).status_code == 201
    final = submission(world.task.id, "NOT_INTERESTED", status="NOT_EFFECTIVE")
    response = await post(client, world, final)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "NOT_EFFECTIVE"
    url = f"/api/integration/activities/tasks/{world.task.id}"
    task = await client.get(url, headers=world.headers)
    assert task.json()["status"] == "COMPLETED"
    assert task.json()["result"]["taskResult"]["result"] == "NOT_INTERESTED"
    assert await count_results(session_factory) == 3
