"""Suite-wide fixtures: Redis and PostgreSQL from the environment, else a testcontainer,
else a throwaway local server; per-test clean Redis DB and fresh PostgreSQL database."""

import importlib
import os
from contextlib import ExitStack
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from tests.support import services

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
# Tests flush this DB, so keep it away from DB 0, where a local run keeps its data.
TEST_REDIS_DB = int(os.environ.get("FIVEZERO_TEST_REDIS_DB", "15"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"pg_url", "pg_base_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


def _start_container(module: str, class_name: str, **kwargs):
    """A started testcontainer, or None without a Docker engine (the constructor fails fast)."""
    try:
        from docker.errors import DockerException
    except ImportError:
        return None
    for path in (f"testcontainers.community.{module}", f"testcontainers.{module}"):
        try:
            container_class = getattr(importlib.import_module(path), class_name)
            break
        except ImportError:
            continue
    else:
        return None
    try:
        return container_class(**kwargs).start()
    except DockerException:
        return None


def _unavailable(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(what)


def asyncpg_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {parsed.drivername}://...")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    """URL of a Redis server for the whole session (DB 0 as configured)."""
    if url := os.environ.get("REDIS_URL") or os.environ.get("FIVEZERO_REDIS_URL"):
        yield url
        return
    with ExitStack() as stack:
        if container := _start_container("redis", "RedisContainer"):
            stack.callback(container.stop)
            yield f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"
            return
        try:
            url = stack.enter_context(services.local_redis(tmp_path_factory.mktemp("redis")))
        except (OSError, RuntimeError) as exc:
            url, error = None, exc
        if url is None:
            _unavailable(f"no Redis: set REDIS_URL or install the project's packages ({error})")
        yield url


@pytest.fixture
def test_redis_url(redis_url: str) -> str:
    """The session's Redis URL pointing at the test DB, which `redis` empties for each test."""
    return urlsplit(redis_url)._replace(path=f"/{TEST_REDIS_DB}").geturl()


@pytest.fixture
async def redis(test_redis_url: str):
    """An asyncio Redis client on the test DB, flushed before the test."""
    client = aioredis.Redis.from_url(test_redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def pg_base_url():
    """postgresql+asyncpg URL of a server where tests may create databases."""
    if url := os.environ.get("DATABASE_URL"):
        yield asyncpg_url(url)
        return
    with ExitStack() as stack:
        if container := _start_container("postgres", "PostgresContainer", driver="asyncpg"):
            stack.callback(container.stop)
            yield container.get_connection_url()
            return
        try:
            url = stack.enter_context(services.local_postgres())
        except (OSError, RuntimeError) as exc:
            url, error = None, exc
        if url is None:
            _unavailable(f"no PostgreSQL: set DATABASE_URL or install PostgreSQL ({error})")
        yield url


@pytest.fixture
async def pg_url(pg_base_url: str):
    """URL of a fresh, empty database `fz_t_<random>`, dropped after the test."""
    url = await services.create_database(pg_base_url, "fz_t")
    yield url
    await services.drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same test once on SQLite and once on PostgreSQL (ids `sqlite`, `postgres`)."""
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param])
