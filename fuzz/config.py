"""The schemathesis configuration of one run: ``fuzz/schemathesis.toml`` (the checks and their
settings), the hooks (``fuzz/hooks.py``: the false positives configured away, each with its
reason), and this run's real values.

The values are schemathesis dictionaries bound to parameters: with the given probability a
generated ``activity_id`` (path, query or body) is one of the tenant's tasks, a
``commerce_external_id`` one of its commerces, a ``task_result.result`` one of its codes, and so
on. schemathesis keeps each draw in the mode it belongs to (a valid id stays out of a negative
case), and everything else stays random.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fuzz.world import Tenant

CREDENTIAL_VARIABLE = "TASKBRIDGE_FUZZ_CREDENTIAL"
"""Where schemathesis reads the caller's key or token (the written file names only the variable)."""
BASE = Path(__file__).with_name("schemathesis.toml")
HOOKS = "fuzz.hooks"
"""Imported by module name: fuzz.run puts the repository on schemathesis's ``PYTHONPATH``."""
LIKELY = 0.8
"""For what a submission needs to get past its rules (task, its commerce, an active code)."""
SOMETIMES = 0.5

BINDINGS: dict[str, list[tuple[str, float]]] = {
    "activity_ids": [
        ("path.activity_id", SOMETIMES),
        ("query.activity_id", SOMETIMES),
        ("body.activity_id", LIKELY),
    ],
    "result_type_ids": [("path.result_type_id", SOMETIMES)],
    "commerce_ids": [("path.commerce_id", SOMETIMES)],
    "operator_ids": [("path.operator_id", SOMETIMES)],
    "config_ids": [("path.config_id", SOMETIMES)],
    "delivery_ids": [("path.delivery_id", SOMETIMES)],
    "invitation_ids": [("path.invitation_id", SOMETIMES)],
    "user_ids": [("path.user_id", SOMETIMES)],
    "key_ids": [("path.key_id", SOMETIMES)],
    "result_codes": [
        ("body.task_result.result", LIKELY),
        ("query.code", SOMETIMES),
        ("body.code", SOMETIMES),
    ],
    "open_task_commerce": [("body.commerce_external_id", LIKELY)],
    "commerce_external_ids": [
        ("query.external_commerce_id", SOMETIMES),
        ("body.items[*].external_id", SOMETIMES),
    ],
    "operator_external_ids": [
        ("body.operator_external_id", SOMETIMES),
        ("body.task_result.operator_external_id", SOMETIMES),
        ("query.external_operator_id", SOMETIMES),
    ],
    "provider_activity_ids": [("body.provider_activity_id", SOMETIMES)],
}
"""Dictionary → the parameters it feeds (``location.name``; ``body.a.b``, ``[*]`` for items),
each with the probability that a generated value is replaced by one of the dictionary's."""


def _dictionaries(tenant: Tenant) -> str:
    used = {name: bindings for name, bindings in BINDINGS.items() if tenant.values.get(name)}
    lines: list[str] = []
    for name in used:
        lines += ["", f"[dictionaries.{name}]", f"values = {json.dumps(tenant.values[name])}"]
    lines += ["", "[parameters]"]
    for name, bindings in used.items():
        lines += [
            f'"{binding}" = {{ dictionary = "{name}", probability = {probability} }}'
            for binding, probability in bindings
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Credential:
    """An API key or a bearer token, given to schemathesis as the security scheme it fills.

    Named by scheme, schemathesis sends it only to operations that accept that scheme, and its
    ``ignored_auth`` check knows which credential to take away to prove the route needs one. A
    plain header would ride along on every probe, and a route answering 201 to a valid token
    beside a generated key would read as auth ignored.
    """

    kind: Literal["apiKey", "bearer"]
    secret: str

    def scheme(self, schemes: dict[str, Any]) -> str | None:
        """The document's name for this credential's security scheme, if it declares one."""
        wanted = ("apiKey", "x-api-key") if self.kind == "apiKey" else ("http", "bearer")
        for name, scheme in schemes.items():
            named = scheme.get("name") if self.kind == "apiKey" else scheme.get("scheme")
            if (scheme.get("type"), str(named).lower()) == wanted:
                return name
        return None

    def header(self) -> dict[str, str]:
        """As a plain header, for a document that declares no security scheme."""
        if self.kind == "apiKey":
            return {"x-api-key": self.secret}
        return {"Authorization": f"Bearer {self.secret}"}

    def settings(self, scheme: str) -> str:
        field = "api_key" if self.kind == "apiKey" else "bearer"
        return f'\n[auth.openapi.{json.dumps(scheme)}]\n{field} = "${{{CREDENTIAL_VARIABLE}}}"\n'


def write(
    folder: Path, tenant: Tenant | None, auth_scheme: str | None, credential: Credential | None
) -> Path:
    """``folder/schemathesis.toml``: the base settings, the hooks, the credential's scheme and
    ``tenant``'s values."""
    text = f"hooks = {json.dumps(HOOKS)}\n" + BASE.read_text()
    if credential is not None and auth_scheme is not None:
        text += credential.settings(auth_scheme)
    if tenant is not None:
        text += _dictionaries(tenant)
    path = folder / "schemathesis.toml"
    path.write_text(text)
    return path
