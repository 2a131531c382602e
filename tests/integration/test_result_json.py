"""A submission's 201 is rendered from the result's document (``result_json``), not through the
``ResultRead`` model: the bytes must be the ones the model, which the document describes, dumps."""

from __future__ import annotations

from typing import Any

import httpx

from taskbridge.results.schemas import ResultRead
from tests.factories import World
from tests.integration.support import SUBMIT, in_days, submission_for

BODIES: list[dict[str, Any]] = [
    {},
    {
        "status": "PENDING",
        "external_status": "en camino",
        "raw_payload": {"ñandú": [1, 2.5, None, True], "nested": {"é": "ü"}},
        "task_result": {
            "comment": "Cliente pidió volver — «mañana»",
            "contact_type": "OUTBOUND",
            "operator_external_id": "OP-17",
            "payload": {"amount": 1234.5678, "big": 10**15, "emoji": "🚚"},
        },
    },
]


async def test_the_201_is_the_bytes_of_the_documented_model(
    client: httpx.AsyncClient, world: World
) -> None:
    for fields in BODIES:
        body = submission_for(world, "NO_CONTACT", **fields)
        body["hard_override"] = True
        posted = await client.post(SUBMIT, headers=world.headers, json=body)
        assert posted.status_code == 201, posted.text
        model = ResultRead.model_validate(posted.json())
        assert posted.content == model.model_dump_json(by_alias=True).encode()
    rescheduled = submission_for(
        world, "RESCHEDULE", task_result={"future_scheduled_at": in_days(2)}, hard_override=True
    )
    posted = await client.post(SUBMIT, headers=world.headers, json=rescheduled)
    assert posted.status_code == 201, posted.text
    assert posted.json()["followUpActivityId"] is not None
    model = ResultRead.model_validate(posted.json())
    assert posted.content == model.model_dump_json(by_alias=True).encode()
