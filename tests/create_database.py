"""``python -m tests.create_database URL``: create the test database when it is missing."""

from __future__ import annotations

import asyncio
import sys

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url


async def ensure_database(url: str) -> None:
    parsed = make_url(url)
    name = parsed.database
    admin = parsed.set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


if __name__ == "__main__":
    asyncio.run(ensure_database(sys.argv[1]))
