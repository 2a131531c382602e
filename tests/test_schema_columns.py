"""Every request field fits the column it is stored in, on every backend.

SQLite stores whatever it is given; PostgreSQL refuses a string longer than its ``varchar(n)``,
a null in a NOT NULL column and an integer past ``int4``, and the request fails with a 500 after
the client was told nothing of the limit. So each request schema (a ``RequestModel`` of a domain)
is walked field by field against the columns of the same name in that domain's tables:

- a string field documents a ``maxLength`` (or an enum) no longer than its ``varchar``;
- a field that accepts ``null`` maps only to nullable columns (see ``kit.case.Omittable``);
- an integer field documents bounds its column holds (``int8`` when it maps to no column).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field, StrictBool, StringConstraints, ValidationError
from sqlalchemy import BigInteger, Column, Integer, SmallInteger, String

import taskbridge
from taskbridge.kit.case import RequestModel
from taskbridge.models import Base

DOMAIN_TABLES: dict[str, set[str]] = {
    "activities": {"activities", "activity_events"},
    "audit": {"audit_entries"},
    "auth": {"api_keys"},
    "commerces": {"commerces"},
    "dispatch": {"dispatch_configs", "deliveries", "delivery_attempts"},
    "events": {"events"},
    "event_endpoints": {"event_endpoints", "event_deliveries", "event_delivery_attempts"},
    "idempotency": {"idempotency_records"},
    "operators": {"operators"},
    "result_types": {"result_types"},
    "results": {"activity_results"},
    "tenants": {"tenants"},
    "users": {"users", "memberships", "user_sessions", "login_failures", "invitations"},
}
"""Which tables a domain's request schemas write to; every table belongs to one domain."""

NOT_STORED: dict[str, str] = {
    "results.ResultSubmission.activity_id": (
        "names the activity to find (null: find it by provider_activity_id); the stored "
        "activity_id is the found activity's"
    ),
}
"""Fields named like a column that are not written to it: the reason, for the reader."""

INTEGER_RANGES: dict[type[Any], tuple[int, int]] = {
    SmallInteger: (-(2**15), 2**15 - 1),
    BigInteger: (-(2**63), 2**63 - 1),
    Integer: (-(2**31), 2**31 - 1),
}
INT64 = INTEGER_RANGES[BigInteger]

KNOWN_MISMATCHES: dict[str, str] = {}
"""Mismatches accepted for now, each with its reason: strict xfails, so a fix makes the entry
fail loudly and it is removed."""


def _import_every_schema_module() -> None:
    for module in pkgutil.walk_packages(taskbridge.__path__, "taskbridge."):
        if module.name.endswith(".schemas"):
            importlib.import_module(module.name)


def _request_models() -> list[type[RequestModel]]:
    _import_every_schema_module()
    found: list[type[RequestModel]] = []
    pending = list(RequestModel.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    ours = {m for m in found if m.__module__.startswith("taskbridge.")}
    return sorted(ours, key=lambda m: (m.__module__, m.__name__))


def _domain(model: type[BaseModel]) -> str:
    return model.__module__.split(".")[1]


def _columns(domain: str) -> dict[str, list[Column[Any]]]:
    by_name: dict[str, list[Column[Any]]] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in DOMAIN_TABLES[domain]:
            for column in table.columns:
                by_name.setdefault(column.name, []).append(column)
    return by_name


REQUEST_MODELS = _request_models()
FIELDS = [
    (model, name)
    for model in REQUEST_MODELS
    for name in model.model_fields
    if _domain(model) in DOMAIN_TABLES
]


def _key(model: type[BaseModel], name: str) -> str:
    return f"{_domain(model)}.{model.__name__}.{name}"


def _accepts(model: type[BaseModel], name: str, value: Any) -> bool:
    """Whether the field, with every validator the model gives it, takes ``value``."""
    try:
        model.__pydantic_validator__.validate_assignment(model.model_construct(), name, value)
    except ValidationError:
        return False
    return True


def _documented(model: type[BaseModel], name: str) -> list[dict[str, Any]] | None:
    """The field's documented alternatives, ``$ref`` resolved; None when it is not documented."""
    schema = model.model_json_schema()
    field = schema.get("properties", {}).get(name)
    if field is None:
        return None
    definitions = schema.get("$defs", {})
    choices = field.get("anyOf", [field])
    return [definitions[c["$ref"].rsplit("/", 1)[-1]] if "$ref" in c else c for c in choices]


def _longest(choice: dict[str, Any]) -> int | None:
    """The longest string a documented alternative allows (None: unbounded)."""
    if "enum" in choice:
        return max(len(str(v)) for v in choice["enum"])
    if "const" in choice:
        return len(str(choice["const"]))
    bound = choice.get("maxLength")
    return None if bound is None else int(bound)


def _bounds(choice: dict[str, Any]) -> tuple[int | None, int | None]:
    low = choice.get("minimum", choice.get("exclusiveMinimum"))
    high = choice.get("maximum", choice.get("exclusiveMaximum"))
    return low, high


def _integer_range(column: Column[Any]) -> tuple[int, int]:
    for kind, span in INTEGER_RANGES.items():
        if isinstance(column.type, kind):
            return span
    raise AssertionError(f"{column} is not an integer column")


def mismatches(model: type[BaseModel], name: str) -> list[str]:
    """Every way the field can hold what a column of the same name in its domain cannot."""
    columns = [] if _key(model, name) in NOT_STORED else _columns(_domain(model)).get(name, [])
    choices = _documented(model, name)
    if choices is None:
        # Left out of the documentation (SkipJsonSchema): only a field that refuses everything.
        accepts_any = _accepts(model, name, None) or _accepts(model, name, "x")
        return ["accepts values but is not documented"] if accepts_any else []
    found: list[str] = []
    nullable = _accepts(model, name, None)
    documented_nullable = any(c.get("type") == "null" for c in choices)
    if nullable != documented_nullable:
        found.append(f"accepts null: {nullable}, but documents null: {documented_nullable}")
    for column in columns:
        if nullable and not column.nullable:
            found.append(f"accepts null, but {column} is NOT NULL")
    for choice in choices:
        if choice.get("type") == "string" or "enum" in choice:
            longest = _longest(choice)
            for column in columns:
                length = getattr(column.type, "length", None)
                if (
                    isinstance(column.type, String)
                    and length is not None
                    and (longest is None or longest > length)
                ):
                    found.append(
                        f"allows {longest or 'any number of'} characters; {column} holds {length}"
                    )
        if choice.get("type") == "integer":
            low, high = _bounds(choice)
            spans = [_integer_range(c) for c in columns] or [INT64]
            for lowest, highest in spans:
                if low is None or high is None or low < lowest or high > highest:
                    found.append(f"allows {low}..{high}; its column holds {lowest}..{highest}")
    return found


def test_every_table_belongs_to_a_domain_and_every_domain_is_walked() -> None:
    tables = {table.name for table in Base.metadata.sorted_tables}
    assert tables <= set().union(*DOMAIN_TABLES.values()), "add the new table to its domain"
    assert {_domain(m) for m in REQUEST_MODELS} <= set(DOMAIN_TABLES), REQUEST_MODELS
    assert len(FIELDS) > 50


class _PhoneTooLong(BaseModel):
    phone: Annotated[str, StringConstraints(max_length=255)] | None = None
    is_active: StrictBool | None = None


class _PositionUnbounded(BaseModel):
    position: Annotated[int, Field(ge=0)] | None = None


_PhoneTooLong.__module__ = "taskbridge.operators.schemas"
_PositionUnbounded.__module__ = "taskbridge.result_types.schemas"


def test_the_check_finds_what_the_fuzzer_found() -> None:
    """The checker itself: schemas like the ones that failed are refused, for each reason."""
    assert mismatches(_PhoneTooLong, "phone") == ["allows 255 characters; operators.phone holds 64"]
    assert mismatches(_PhoneTooLong, "is_active") == [
        "accepts null, but operators.is_active is NOT NULL"
    ]
    assert mismatches(_PositionUnbounded, "position") == [
        "accepts null, but result_types.position is NOT NULL",
        "allows 0..None; its column holds -2147483648..2147483647",
    ]


@pytest.mark.parametrize(
    ("model", "name"),
    [
        pytest.param(
            model,
            name,
            id=_key(model, name),
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_MISMATCHES[_key(model, name)])]
            if _key(model, name) in KNOWN_MISMATCHES
            else [],
        )
        for model, name in FIELDS
    ],
)
def test_request_field_fits_its_column(model: type[BaseModel], name: str) -> None:
    assert mismatches(model, name) == []
