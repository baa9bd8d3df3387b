"""The suite's fixtures give working, isolated Redis and PostgreSQL."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def test_redis_answers_ping_and_keeps_streams(redis):
    assert await redis.ping()
    await redis.xadd("fixture-check", {"field": "value"})
    [(_, fields)] = await redis.xrange("fixture-check")
    assert fields == {b"field": b"value"}


@pytest.mark.parametrize("run", ["first", "second"])
async def test_each_test_starts_with_an_empty_redis_db(redis, run):
    assert await redis.dbsize() == 0
    await redis.set(f"left-behind-by-{run}", "x")
    await redis.xadd("fixture-check", {"run": run})


async def test_database_answers_select_1(database_url):
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_each_postgres_test_gets_a_fresh_database(pg_url):
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as connection:
            name = (await connection.execute(text("SELECT current_database()"))).scalar_one()
            tables = await connection.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            )
            assert tables.scalar_one() == 0
    finally:
        await engine.dispose()
    assert name.startswith("fz_t_") and pg_url.endswith(f"/{name}")
