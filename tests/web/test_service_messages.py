"""Every message a service can raise has a Spanish entry for the panel.

The messages are collected from the source: each raise site of an error the panel can show
(``BadRequest(...)``, ``Conflict(...)``, a validator's ``ValueError(...)``, an SSRF refusal, a CSV
import's ``RowError``), its argument read as a template (an f-string's values become ``{}``) or
resolved to the module constant it names. Messages built by a function are checked with samples.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

import taskbridge
from taskbridge.errors import describe_rule
from taskbridge.web.i18n import translator
from taskbridge.web.messages import SPANISH_SERVICE_MESSAGES, to_spanish

SOURCE = Path(taskbridge.__file__).parent
NOT_SHOWN_BY_THE_PANEL = ("cli/", "metrics.py")
"""The command line speaks English to an operator; /metrics is not a page."""
RAISED = {
    "AppError",
    "BadRequest",
    "Conflict",
    "EndpointRefused",
    "Forbidden",
    "Gone",
    "NotFound",
    "PayloadTooLarge",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableEntity",
    "ValueError",
}
NAMED_HOLE = re.compile(r"\{[a-z_]*\}")


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if "migrations/" in relative or relative.startswith(NOT_SHOWN_BY_THE_PANEL):
            continue
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _template(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return NAMED_HOLE.sub("{}", node.value)
    if isinstance(node, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
        return "".join(str(p) for p in parts)
    if isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else node.attr
        return constants.get(name)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        return _template(node.func.value, constants)
    return None


def _constants(modules: list[tuple[Path, ast.Module]]) -> dict[str, str]:
    """Every module-level string constant, by name."""
    found: dict[str, str] = {}
    for _, module in modules:
        for node in module.body:
            target = value = None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            if isinstance(target, ast.Name) and value is not None:
                template = _template(value, {})
                if template is not None:
                    found[target.id] = template
    return found


def raised_templates() -> tuple[set[str], list[str]]:
    """The templates of every raise site, and the sites whose message is built elsewhere."""
    modules = list(_modules())
    constants = _constants(modules)
    templates: set[str] = set()
    unresolved: list[str] = []
    for path, module in modules:
        for node in ast.walk(module):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in RAISED and node.args:
                argument = node.args[0]
            elif name == "RowError" and len(node.args) == 2:
                argument = node.args[1]
            else:
                continue
            template = _template(argument, constants)
            if template is None:
                unresolved.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
            else:
                templates.add(template)
    return templates, unresolved


def _sample(template: str) -> str:
    """The template with a distinct value in each hole."""
    values = iter(f"v{i}" for i in range(template.count("{}")))
    return re.sub(r"\{\}", lambda _m: next(values), template)


TEMPLATES, UNRESOLVED = raised_templates()


def test_the_scan_finds_the_services_messages() -> None:
    assert len(TEMPLATES) > 100
    assert "Commerce '{}' not found" in TEMPLATES
    assert "You cannot deactivate yourself" in TEMPLATES
    assert "must be an http or https URL" in TEMPLATES  # the SSRF guard's refusals


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_raised_message_has_a_spanish_entry(template: str) -> None:
    message = _sample(template)
    spanish = to_spanish(message)
    assert spanish is not None, f"no Spanish for {template!r}"
    assert spanish != message, f"no Spanish for {template!r}"
    # As a field's refusal too (``BadRequest(..., field=...)``), and through the page's ``t``.
    assert to_spanish(f"name: {message}") == f"name: {spanish}"
    assert translator("es")(message) == spanish
    assert translator("en")(message) == message


@pytest.mark.parametrize(
    "error",
    [
        {"type": "missing"},
        {"type": "extra_forbidden"},
        {"type": "enum", "ctx": {"expected": "'A' or 'B'"}},
        {"type": "json_invalid", "ctx": {"error": "EOF"}},
        {"type": "string_too_long", "ctx": {"max_length": 64}},
        {"type": "string_too_short", "ctx": {"min_length": 1}},
        {"type": "greater_than_equal", "ctx": {"ge": 1}},
        {"type": "less_than_equal", "ctx": {"le": 100}},
        {"type": "greater_than", "ctx": {"gt": 0}},
        {"type": "less_than", "ctx": {"lt": 9}},
    ],
)
def test_every_rule_pydantic_reports_has_a_spanish_entry(error: dict[str, object]) -> None:
    rule = describe_rule(error)
    assert to_spanish(rule) not in (None, rule)


@pytest.mark.parametrize(
    ("message", "spanish"),
    [
        (
            "task_result.result: unknown result code 'SOLD'; valid codes: A, B",
            "task_result.result: código de resultado desconocido 'SOLD'; códigos válidos: A, B",
        ),
        (
            "endpoint_url: resolves to a private, loopback or link-local address (10.0.0.1); "
            "the platform operator can allow these with TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS"
            "=true",
            "endpoint_url: apunta a una dirección privada, de loopback o de enlace local "
            "(10.0.0.1); el operador de la plataforma puede permitirlas con "
            "TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS=true",
        ),
        (
            "Activity with provider_activity_id 'P-1' not found",
            "No hay actividad con provider_activity_id 'P-1'",
        ),
        (
            "Rate limit exceeded (per-user): retry in 3 s",
            "Se superó el límite de peticiones (per-user): reintenta en 3 s",
        ),
        (
            "name: must be at least 1 characters (and 2 more)",
            "name: debe tener al menos 1 caracteres (y 2 más)",
        ),
        (
            "line 4: commerce_external_id: Commerce 'C-9' not found",
            "línea 4: commerce_external_id: Comercio 'C-9' no encontrado",
        ),
        ("Internal error (request id abc)", "Error interno (id de petición abc)"),
    ],
)
def test_messages_built_by_a_function_and_composites(message: str, spanish: str) -> None:
    assert to_spanish(message) == spanish


def test_every_spanish_template_takes_the_values_of_its_english_one() -> None:
    for english, spanish in SPANISH_SERVICE_MESSAGES.items():
        holes = english.count("{}")
        fields = [f for _, f, _, _ in string.Formatter().parse(spanish) if f is not None]
        assert len(fields) == holes, english
        values = [f"v{i}" for i in range(holes)]
        filled = spanish.format(*values)
        assert all(v in filled for v in values), english


def test_a_message_no_template_knows_is_shown_as_it_came() -> None:
    assert to_spanish("Something nobody wrote") is None
    assert translator("es")("Something nobody wrote") == "Something nobody wrote"
