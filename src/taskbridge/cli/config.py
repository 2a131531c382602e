"""``taskbridge config``: the settings in effect, as an operator would write them, secrets masked.

The output is meant to be pasted into an issue or a chat: every ``SecretStr``, every setting
whose name says it is a secret, and the password inside any URL (user info or a ``password=``
query parameter) are shown as :data:`MASK`, whatever their length.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer
from pydantic import SecretStr

from taskbridge.cli.runtime import load_settings, say
from taskbridge.config import ENV_FILE_VARIABLE, Origin, Settings, env_variable, named_env_file

app = typer.Typer(help="Configuration.", no_args_is_help=True)

MASK = "********"
SECRET_WORDS = ("secret", "token", "password", "passwd", "pwd")
"""A setting or URL query parameter whose name contains one of these holds a secret."""
_USER_INFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user_info>[^/?#]*)@")
"""Up to the last ``@`` before the path: a raw ``@`` in a password stays inside the mask."""
_QUERY_PARAMETER = re.compile(r"(?P<name>[^&;=]+)=(?P<value>[^&;]*)")


@app.command("show")
def show(
    show_origin: Annotated[
        bool,
        typer.Option(
            "--show-origin",
            help="Append where each value came from: environment, env file or default.",
        ),
    ] = False,
) -> None:
    """Print every setting in effect as TASKBRIDGE_NAME=value, secrets masked."""
    settings = load_settings()
    for line in shown_settings(settings, with_origin=show_origin):
        say(line)


def shown_settings(settings: Settings, *, with_origin: bool = False) -> list[str]:
    """``TASKBRIDGE_NAME=value`` for ``TASKBRIDGE_ENV_FILE`` and then every field, in order."""
    env_file = named_env_file()
    lines = [
        (
            f"{ENV_FILE_VARIABLE}={env_file or ''}",
            Origin.DEFAULT if env_file is None else Origin.ENVIRONMENT,
        )
    ]
    for field in type(settings).model_fields:
        value: object = getattr(settings, field)
        if field == "database_url" and not value:
            value = settings.resolved_database_url()
        lines.append(
            (f"{env_variable(field)}={shown_value(field, value)}", settings.origin_of(field))
        )
    if not with_origin:
        return [line for line, _origin in lines]
    return [f"{line}  # {origin}" for line, origin in lines]


def shown_value(field: str, value: object) -> str:
    """``value`` as it would be written in the environment, masked when it is a secret."""
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if names_a_secret(field):
        return MASK if value else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return masked_url(text) if "://" in text else text


def names_a_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def masked_url(url: str) -> str:
    """``url`` with its password (``user:password@`` and ``password=`` parameters) masked and
    everything else as written."""
    user_info = _USER_INFO.match(url)
    if user_info is not None and ":" in user_info["user_info"]:
        user = user_info["user_info"].partition(":")[0]
        url = f"{user_info['scheme']}{user}:{MASK}@{url[user_info.end() :]}"
    base, has_query, query = url.partition("?")
    if not has_query:
        return url
    query, has_fragment, fragment = query.partition("#")
    query = _QUERY_PARAMETER.sub(
        lambda match: f"{match['name']}={MASK}" if names_a_secret(match["name"]) else match[0],
        query,
    )
    return f"{base}?{query}" + (f"#{fragment}" if has_fragment else "")
