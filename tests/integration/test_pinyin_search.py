"""Stored search keys let a plain LIKE find residents by characters, pinyin and initials,
on SQLite and PostgreSQL alike."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from shared.db import create_engine, create_tables, write_transaction
from shared.pinyin import MAX_KEY_LENGTH, normalise_query, search_keys

metadata = MetaData()
residents = Table(
    "residents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("search_keys", String(MAX_KEY_LENGTH), nullable=False),
)
NAMES = ["王秀英", "王秀兰", "李秀英", "吴小燕", "单田芳", "阿依古丽·买买提"]


@pytest.fixture
async def engine(database_url):
    engine = create_engine(database_url)
    await create_tables(engine, metadata)
    async with write_transaction(engine) as conn:
        await conn.execute(insert(residents), [{"name": name, "search_keys": search_keys(name)} for name in NAMES])
    yield engine
    await engine.dispose()


async def found(engine, query: str) -> set[str]:
    condition = residents.c.search_keys.contains(normalise_query(query), autoescape=True)
    async with engine.connect() as conn:
        return set((await conn.scalars(select(residents.c.name).where(condition))).all())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("wxy", {"王秀英", "吴小燕"}),  # initials are ambiguous, as on any pinyin keyboard
        ("wangxiuying", {"王秀英"}),
        ("Wang Xiuying", {"王秀英"}),
        ("王秀", {"王秀英", "王秀兰"}),
        ("xiuying", {"王秀英", "李秀英"}),
        ("shan", {"单田芳"}),
        ("买买提", {"阿依古丽·买买提"}),
        ("zhang", set()),
    ],
)
async def test_like_on_stored_keys_finds_the_right_residents(engine, query, expected):
    assert await found(engine, query) == expected
