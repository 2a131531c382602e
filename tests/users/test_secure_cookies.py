"""Every cookie taskbridge sets is ``Secure`` when its public URL is https, or else when the
request came over https (``users.dependencies.cookies_are_secure`` decides for all of them)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.app import create_app
from taskbridge.config import Settings
from tests.factories import build_world
from tests.users.support import PASSWORD, add_person
from tests.web.support import csrf_of

EVERY_COOKIE = {"tb_csrf", "tb_session", "tb_tenant", "tb_refresh"}


class Browser:
    """Sends back every cookie it was given, ``Secure`` or not (httpx would keep a ``Secure``
    cookie from an http URL), and keeps every ``Set-Cookie`` line it saw."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.jar: dict[str, str] = {}
        self.set_cookies: list[str] = []

    async def send(
        self,
        method: str,
        url: str,
        data: dict[str, str] | None = None,
        json: dict[str, str] | None = None,
    ) -> httpx.Response:
        cookie = "; ".join(f"{name}={value}" for name, value in self.jar.items())
        headers = {"cookie": cookie} if cookie else {}
        response = await self.client.request(method, url, headers=headers, data=data, json=json)
        self.client.cookies.clear()
        for line in response.headers.get_list("set-cookie"):
            self.set_cookies.append(line)
            name, _, value = line.split(";", 1)[0].partition("=")
            self.jar[name] = value
        return response


async def every_cookie(
    settings: Settings, factory: async_sessionmaker[AsyncSession], base_url: str
) -> list[str]:
    """The ``Set-Cookie`` lines of a panel sign-in, a tenant switch, a REST sign-in and a
    refresh, each cookie checked present."""
    world = await build_world(factory)
    person = await add_person(factory, world.tenant.id, "ADMIN", email="ana@acme.test")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            browser = Browser(client)
            page = await browser.send("GET", "/admin/login")
            signed_in = await browser.send(
                "POST",
                "/admin/login",
                data={"email": person.email, "password": PASSWORD, "csrf_token": csrf_of(page)},
            )
            assert signed_in.status_code == 303, signed_in.text
            switched = await browser.send(
                "POST",
                "/admin/tenant",
                data={"tenant_id": str(world.tenant.id), "csrf_token": csrf_of(page)},
            )
            assert switched.status_code == 303, switched.text
            api = {"email": person.email, "password": PASSWORD}
            assert (await browser.send("POST", "/api/auth/login", json=api)).status_code == 200
            assert (await browser.send("POST", "/api/auth/refresh")).status_code == 200
    finally:
        await app.state.engine.dispose()
    assert {line.split("=", 1)[0] for line in browser.set_cookies} == EVERY_COOKIE
    return browser.set_cookies


def is_secure(set_cookie: str) -> bool:
    return "secure" in (part.strip().lower() for part in set_cookie.split(";"))


@pytest.mark.parametrize(
    ("public_url", "base_url", "secure"),
    [
        pytest.param("https://tasks.example.com", "http://testserver", True, id="public-https"),
        pytest.param("", "http://testserver", False, id="plain-http"),
        pytest.param("", "https://testserver", True, id="request-https"),
        pytest.param("http://tasks.example.com", "http://testserver", False, id="public-http"),
    ],
)
async def test_every_cookie_is_secure_when_the_public_url_or_the_request_is_https(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    public_url: str,
    base_url: str,
    secure: bool,
) -> None:
    configured = settings.model_copy(update={"public_url": public_url})

    lines = await every_cookie(configured, session_factory, base_url)

    assert [is_secure(line) for line in lines] == [secure] * len(lines), lines
