"""A browser-like client for the panel: cookies kept, CSRF token read from the page."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/admin/login")
    response = await client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page)},
    )
    return response


async def post_form(
    client: httpx.AsyncClient, page_path: str, action: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """Open ``page_path`` as a person would, then submit a form to ``action`` with its token."""
    page = await client.get(page_path)
    return await client.post(action, data={**(data or {}), "csrf_token": csrf_of(page)})
