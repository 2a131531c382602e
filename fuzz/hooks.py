"""schemathesis hooks of ``make fuzz`` (named in the configuration that fuzz.config writes).

Three things a schema-only fuzzer cannot know, each configured here with its reason:

- Which ids are the caller's own. It reuses ids it saw in responses and the seeded ones, so it
  could revoke its own key or change its own account's role, and the rest of the run would be 401s
  and 403s reaching nothing. Those ids are not under test here (revocation and roles have their
  own tests): cases that would act on them are not generated.
- Which refusals no schema can foresee. ``positive_data_acceptance`` sends data that matches the
  schema and expects it accepted; a body that names a code the tenant does not have, or a date
  that is already past, matches any schema that could be written and is still refused (rules on
  stored data and the clock, and a few across two fields that OpenAPI cannot relate).
  :data:`UNDECLARABLE` lists each such refusal by operation and the server's message, so only
  that refusal is accepted, never the check as a whole. A refusal the schema could declare (a
  length, an enum, a required field) is not listed: it stays a failure until the schema says it.
- Which URLs belong to another operation. ``unsupported_method`` sends ``GET`` to
  ``/api/commerces/sync`` and expects 405, but that URL is ``GET /api/commerces/{commerce_id}``
  with the id ``sync``, answered (correctly) with a 400 about the id; likewise
  ``allow_header_conformance`` finds ``GET`` in that URL's ``Allow``. Such a method is judged by
  the operation that owns the URL, not by the 405 rules.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

import schemathesis
from schemathesis import Case, HookContext, Response
from schemathesis.core.failures import Failure

PROTECTED_IDS_VARIABLE = "TASKBRIDGE_FUZZ_PROTECTED_IDS"
PROTECTED = frozenset(filter(None, os.environ.get(PROTECTED_IDS_VARIABLE, "").split(",")))
POSITIVE_DATA_REJECTED = "ST202"
"""schemathesis's code for ``positive_data_acceptance``'s failure."""
UNSUPPORTED_METHOD = "ST204"
"""schemathesis's code for ``unsupported_method``'s failure."""
ALLOW_HEADER_MISMATCH = "ST205"
"""schemathesis's code for ``allow_header_conformance``'s failure."""
ANY_OPERATION = "*"
SUBMIT = "POST /api/integration/activity-results/tasks"


@dataclass(frozen=True)
class Refusal:
    """A refusal of schema-valid data that no schema could prevent, and why."""

    operation: str
    message: re.Pattern[str]
    why: str
    status: int = 400


UNDECLARABLE = [
    Refusal(
        SUBMIT,
        re.compile(r"^task_result\.result: unknown result code "),
        "the codes are the tenant's catalogue, which changes at run time: no enum can hold them",
    ),
    Refusal(
        SUBMIT,
        re.compile(r"^task_result\.future_scheduled_at: (is required|must be in the future) for "),
        "whether a code needs a future date is the tenant's setting, and 'future' is the clock",
    ),
    Refusal(
        SUBMIT,
        re.compile(r"^commerce_external_id: commerce '.*' is not the commerce of activity "),
        "which commerce a task belongs to is stored data",
    ),
    Refusal(
        SUBMIT,
        re.compile(r"^activity_id: one of activity_id or provider_activity_id is required"),
        "JSON Schema can say it (anyOf of two required), but openapi-python-client then makes the "
        "body a union of the two branches and drops every other field (tests/client)",
    ),
    Refusal(
        SUBMIT,
        re.compile(r"^Idempotency-Key was already used with a different request body"),
        "an Idempotency-Key names the first request sent with it; the examples reuse one key",
        status=422,
    ),
    Refusal(
        "POST /api/users",
        re.compile(r"^password: must be at least \d+ characters"),
        "a password is required only for an email without an account, which is stored data "
        "(the schema's minLength already refuses a short one)",
    ),
    Refusal(
        "POST /api/activities/tasks",
        re.compile(r"^operator_external_id: '.*' matches several operators \("),
        "which operators share an external id (one per type) is stored data",
    ),
    Refusal(
        "PATCH /api/dispatch-configs/{config_id}",
        re.compile(
            r"^(auth_header_name: is required with auth_header_value"
            r"|auth_header_value: is required with auth_header_name"
            r"|endpoint_url: is required for the WEBHOOK provider)"
        ),
        "a change is judged with the stored config: its provider, its header name and value",
    ),
    Refusal(
        "POST /api/api-keys",
        re.compile(r"^expires_at: must be in the future"),
        "'future' is the clock when the request arrives",
    ),
    Refusal(
        "POST /api/task-result-type-configs/reorder",
        re.compile(r"^codes: ('.*' is not an active code|must list every active code once)"),
        "a reorder lists exactly the tenant's active codes, which are stored data",
    ),
    Refusal(
        "GET /api/integration/activities/tasks",
        re.compile(r"^cursor: is not a cursor this server issued"),
        "a cursor is opaque and signed by the server: only one it issued is valid",
    ),
    Refusal(
        "GET /api/integration/events",
        re.compile(r"^after: is not a cursor this server issued"),
        "a cursor is opaque and signed by the server: only one it issued is valid",
    ),
    Refusal(
        "GET /api/audit-log",
        re.compile(r"^(cursor: is not a cursor this server issued|to: must be after `from`)"),
        "a cursor is opaque and signed by the server; no schema can order two parameters",
    ),
    Refusal(
        "POST /api/auth/change-password",
        re.compile(r"^current_password: is not your current password"),
        "the current password is a secret the fuzzer does not hold",
    ),
    Refusal(
        "POST /api/auth/invitations/accept",
        re.compile(r"^token: is invalid, expired or already used"),
        "an invitation token is a secret issued to the invited account",
    ),
    Refusal(
        "POST /api/commerces/sync",
        re.compile(r"^items\.\d+\.external_id: external id '.*' repeats item \d+"),
        "JSON Schema's uniqueItems compares whole items, not one member of them",
    ),
    Refusal(
        "POST /api/operators/sync",
        re.compile(r"^items\.\d+\.external_id: operator \w+ '.*' repeats item \d+"),
        "JSON Schema's uniqueItems compares whole items, not one member of them",
    ),
    Refusal(
        ANY_OPERATION,
        re.compile(r"^limit: is an alias of per_page: send one of them, or both with the same"),
        "OpenAPI parameters are described one by one: none can say it must equal another",
    ),
    Refusal(
        ANY_OPERATION,
        re.compile(r"^[\w.\[\]]+: input should be a valid integer$"),
        "JSON Schema counts 2.0 as an integer; the server takes integers written as integers "
        "(as every JSON encoder writes them), and no keyword can say so",
    ),
    Refusal(
        ANY_OPERATION,
        re.compile(r": must not contain the NUL character"),
        "PostgreSQL cannot store NUL in text: every string of every body and query refuses it "
        "(one rule, tested in tests/); a pattern on each of hundreds of strings would bury the "
        "document",
    ),
]


@schemathesis.hook
def filter_case(context: HookContext, case: Case[Any]) -> bool:
    """False for a case whose path names one of the caller's own ids."""
    return not any(str(value) in PROTECTED for value in (case.path_parameters or {}).values())


def _message(response: Response) -> str:
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def undeclarable_refusal(operation: str, status: int, message: str) -> Refusal | None:
    """The rule that explains this refusal, if it is one of :data:`UNDECLARABLE`."""
    for rule in UNDECLARABLE:
        if (
            rule.status == status
            and rule.operation in (operation, ANY_OPERATION)
            and rule.message.search(message)
        ):
            return rule
    return None


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


def routed_elsewhere(paths: dict[str, Any], method: str, url_path: str) -> bool:
    """Whether another documented operation takes ``method`` on ``url_path``."""
    return any(
        method.lower() in operations and _template(path).match(url_path)
        for path, operations in paths.items()
    )


@schemathesis.hook
def filter_failure(
    context: HookContext, failure: Failure, case: Case[Any], response: Response
) -> bool:
    """False (not a failure) for schema-valid data refused by one of :data:`UNDECLARABLE`, and
    for an "undeclared" method on a URL that another operation owns."""
    if failure.code == POSITIVE_DATA_REJECTED:
        operation = f"{case.method.upper()} {case.path}"
        return undeclarable_refusal(operation, response.status_code, _message(response)) is None
    paths = case.operation.schema.raw_schema.get("paths", {})
    url_path = (response.request.path_url or "").split("?")[0]
    if failure.code == UNSUPPORTED_METHOD and response.request.method:
        return not routed_elsewhere(paths, response.request.method, url_path)
    if failure.code == ALLOW_HEADER_MISMATCH and not getattr(failure, "missing_methods", None):
        advertised = getattr(failure, "undocumented_methods", [])
        return not all(routed_elsewhere(paths, method, url_path) for method in advertised)
    return True
