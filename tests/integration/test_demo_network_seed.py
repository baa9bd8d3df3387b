"""Intake's demo seed on SQLite and PostgreSQL alike: 绵州社区's 21 officer teams of 114, written
once however often it runs, even by two intakes starting at the same moment; each named
officer's phone sealed, its masked form in the event."""

import asyncio

import pytest

from services.intake.domain import network as domain
from services.intake.seed import DEMO_COMMUNITY, demo_network, seed_demo_network
from shared.contracts.intake_network import team_stream
from shared.sealing import Sealer
from sqlalchemy import func, select

from tests.support.kernel import SECRET, close_store, open_store


@pytest.fixture
async def store(database_url):
    store = await open_store(database_url)
    yield store
    await close_store(store)


async def a_sealer(store) -> Sealer:
    sealer = Sealer(store.engine, SECRET, "intake")
    await sealer.setup()
    return sealer


async def the_network(store) -> list[domain.Record]:
    return [domain.replay(await store.load(team_stream(team.team_id))) for team in demo_network()]


async def stored_events(store) -> int:
    """Every event written, committed or not yet visible to a relay (on PostgreSQL a relay
    waits for older transactions anywhere on the server, other databases' included)."""
    async with store.engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(store.table))


async def test_the_seed_forms_21_teams_of_114_officers_and_seeding_again_writes_nothing(store):
    sealer = await a_sealer(store)

    assert await seed_demo_network(store, sealer) == 21 + 114
    teams = await the_network(store)
    assert {team.community_id for team in teams} == {DEMO_COMMUNITY}
    assert (len(teams), sum(team.document["member_count"] for team in teams)) == (21, 114)
    officer = teams[0].document["members"][0]
    assert "08160001" not in officer["phone"] and officer["phone_masked"] == "138****0001"
    assert await sealer.unseal(officer["phone"], "phone") == "13808160001"

    written = await stored_events(store)
    assert await seed_demo_network(store, sealer) == 0
    assert await stored_events(store) == written == 135


async def test_two_intakes_seeding_at_once_write_each_team_and_officer_once(store, database_url):
    other = await open_store(database_url)
    try:
        await asyncio.gather(seed_demo_network(store, await a_sealer(store)), seed_demo_network(other, await a_sealer(other)))
    finally:
        await close_store(other)
    teams = await the_network(store)
    assert sum(team.document["member_count"] for team in teams) == 114
    assert await stored_events(store) == 135
