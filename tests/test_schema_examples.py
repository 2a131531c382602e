"""Every wire model's schema against the model itself: its examples are valid (a response's is
exactly what the server would render), every boolean and integer a body takes refuses the other
JSON types, and a documented pattern accepts nothing the server refuses.

The models come from walking the package, so a new model without examples fails here.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import taskbridge
from taskbridge.commerces.schemas import CommerceUpdate
from taskbridge.dispatch.schemas import ENDPOINT_URL_PATTERN, HEADER_NAME_PATTERN, HeaderName
from taskbridge.dispatch.ssrf import EndpointRefused, parse_endpoint
from taskbridge.errors import BadRequest
from taskbridge.kit.case import RequestModel, ResponseModel
from taskbridge.users.schemas import EMAIL_PATTERN, EmailAddress
from taskbridge.users.service import check_email


def _load_every_module() -> None:
    for module in pkgutil.walk_packages(taskbridge.__path__, "taskbridge."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)


def _subclasses(base: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in base.__subclasses__():
        yield sub
        yield from _subclasses(sub)


_load_every_module()
REQUEST_MODELS = sorted(set(_subclasses(RequestModel)), key=lambda m: m.__qualname__)
RESPONSE_MODELS = sorted(set(_subclasses(ResponseModel)), key=lambda m: m.__qualname__)


def own_examples(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The examples ``model`` declares itself (a subclass must not show its parent's)."""
    config = model.__dict__.get("model_config", {})
    extra = config.get("json_schema_extra") if "model_config" in model.__dict__ else None
    found = extra.get("examples", []) if isinstance(extra, dict) else []
    assert found, f"{model.__qualname__} has no examples of its own"
    return list(found)


def test_the_walk_finds_the_models() -> None:
    assert len(REQUEST_MODELS) >= 20
    assert len(RESPONSE_MODELS) >= 40


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda m: m.__qualname__)
def test_request_examples_are_bodies_the_server_accepts(model: type[BaseModel]) -> None:
    shown = own_examples(model)
    assert model.model_json_schema()["examples"] == shown
    for example in shown:
        model.model_validate_json(json.dumps(example))


@pytest.mark.parametrize("model", RESPONSE_MODELS, ids=lambda m: m.__qualname__)
def test_response_examples_are_what_the_server_renders(model: type[BaseModel]) -> None:
    for example in own_examples(model):
        rendered = model.model_validate(example).model_dump(mode="json", by_alias=True)
        assert rendered == example


# --- strict booleans and integers -------------------------------------------------------------

WRONG_TYPES = {"boolean": [0, 1, "true", "false"], "integer": [True, False, "3", 3.0]}


def _typed_fields(model: type[BaseModel]) -> Iterator[tuple[str, str]]:
    for name, schema in model.model_json_schema()["properties"].items():
        kinds = {schema.get("type")} | {o.get("type") for o in schema.get("anyOf", ())}
        for kind in kinds & WRONG_TYPES.keys():
            yield name, str(kind)


def test_request_bodies_take_booleans_and_integers() -> None:
    """The walk below is not empty: these are the fields a fuzzer sent lax values to."""
    found = {(m.__name__, f) for m in REQUEST_MODELS for f, _ in _typed_fields(m)}
    assert {
        ("CommerceUpdate", "is_active"),
        ("ResultTypeUpdate", "position"),
        ("SecretRotation", "overlap_seconds"),
        ("ResultSubmission", "hard_override"),
    } <= found


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda m: m.__qualname__)
def test_a_boolean_or_integer_refuses_every_other_json_type(model: type[BaseModel]) -> None:
    for field, kind in _typed_fields(model):
        for value in WRONG_TYPES[kind]:
            with pytest.raises(ValidationError) as refused:
                model.model_validate_json(json.dumps({field: value}))
            assert (field,) in [e["loc"] for e in refused.value.errors()], (field, value)


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda m: m.__qualname__)
def test_a_body_refuses_unknown_fields_and_says_so(model: type[BaseModel]) -> None:
    assert model.model_json_schema().get("additionalProperties") is False


def test_a_field_that_refuses_null_has_no_null_default() -> None:
    properties = CommerceUpdate.model_json_schema()["properties"]
    assert "default" not in properties["is_active"]
    assert properties["tax_id"]["default"] is None  # nullable: null clears it


# --- documented patterns against the server's own checks ---------------------------------------

EMAILS = [
    "maria@example.com",
    "a@b.c",
    "a@b",
    "@example.com",
    "a b@example.com",
    "a@@b.c",
    "a@b.c@d",
    "",
    "plain",
    "x@.",
    "0@.",
    "a@b..c",
    "a@.b.c",
    "a@b.c.",
    "María.Pérez@correo.example.es",
    "\x1ea@b.c",
    "a\x1e@b.c",
    "a@b\u00a0c.d",
    "\u00a0a@b.c\u3000",
    "a@b.c\ufeff",
    "a\u0082@b.c",
]


@pytest.mark.parametrize("address", EMAILS)
def test_the_email_pattern_is_the_servers_rule(address: str) -> None:
    """The documented schema, checked by a Rust (ECMA-style) regex engine as a client would,
    against the server's path: the request model (trim, pattern) and then the service."""
    adapter: TypeAdapter[str] = TypeAdapter(EmailAddress)
    try:
        check_email(adapter.validate_python(address))
        accepted = True
    except (BadRequest, ValidationError):
        accepted = False
    documented = jsonschema_rs.validator_for(adapter.json_schema()).is_valid(address)
    assert documented == accepted
    assert bool(re.fullmatch(EMAIL_PATTERN, address)) == accepted


URLS = [
    "https://hooks.example.com/path?x=1#f",
    "http://hooks.example.com:8443",
    "https://[2001:db8::1]:443/x",
    "https://user@hooks.example.com/",
    "https://user:pw@hooks.example.com/",
    "ftp://hooks.example.com/",
    "https:///path",
    "https://hooks.example.com:abc/",
    "hooks.example.com",
]


@pytest.mark.parametrize("url", URLS)
def test_a_url_the_schema_allows_is_one_the_server_parses(url: str) -> None:
    if re.fullmatch(ENDPOINT_URL_PATTERN, url):
        parse_endpoint(url)  # port 0 or > 65535 aside (a 400 the field's text names)
    else:
        with pytest.raises(EndpointRefused):
            parse_endpoint(url)


@pytest.mark.parametrize("name", ["X-Token", "x", "a" * 64, "a" * 65, "-x", "x_y", "X-Token\n"])
def test_the_header_name_pattern_is_the_servers_rule(name: str) -> None:
    try:
        TypeAdapter(HeaderName).validate_python(name)
        accepted = True
    except ValidationError:
        accepted = False
    assert bool(re.fullmatch(HEADER_NAME_PATTERN, name) and len(name) <= 64) == accepted
