"""Logging in, "who am I" and the organisation tree, through the gateway's HTTP routes."""

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.gateway.auth import issue_access_token
from services.gateway.org import buildings, get_user_by_username, org_metadata, users
from services.gateway.org_api import org_routes
from services.gateway.seed import DEMO_USERNAMES, seed_demo
from shared.problems import exception_handlers

SECRET = "integration-test-secret-of-32-bytes-or-more"
PASSWORD = "绵州-demo-2011"


@dataclass(frozen=True)
class Settings:
    secret: str = SECRET
    token_ttl_s: int = 3600


def gateway_app(engine: AsyncEngine) -> Litestar:
    return Litestar(
        route_handlers=org_routes(),
        dependencies={
            "gateway_engine": Provide(lambda: engine, use_cache=True, sync_to_thread=False),
            "settings": Provide(lambda: Settings(), use_cache=True, sync_to_thread=False),
        },
        exception_handlers=exception_handlers(),
    )


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(org_metadata.create_all)


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeded once: argon2 makes each demo user cost a tenth of a second to create."""
    path = tmp_path_factory.mktemp("seeded") / "gw.db"

    async def create_and_seed() -> None:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        await create_tables(engine)
        assert await seed_demo(engine, PASSWORD)
        await engine.dispose()

    asyncio.run(create_and_seed())
    return path


@pytest.fixture
async def engine(seeded_database: Path, tmp_path: Path):
    shutil.copy(seeded_database, tmp_path / "gw.db")
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/gw.db")
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(engine: AsyncEngine):
    async with AsyncTestClient(app=gateway_app(engine)) as client:
        yield client


async def bearer(engine: AsyncEngine, username: str, ttl_s: int = 3600, secret: str = SECRET) -> dict[str, str]:
    user = await get_user_by_username(engine, username)
    return {"Authorization": f"Bearer {issue_access_token(user, secret, ttl_s)}"}


async def log_in(client: AsyncTestClient, username: str, password: str = PASSWORD):
    return await client.post("/api/v1/auth/token", json={"username": username, "password": password})


@pytest.mark.parametrize("username", DEMO_USERNAMES)
async def test_every_demo_user_logs_in_and_is_known_by_its_token(client, username):
    response = await log_in(client, username)

    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 3600
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["user"]["username"] == username


async def test_a_wrong_password_is_a_401_problem(client):
    response = await log_in(client, "community_worker", "123456")

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_unknown_user_gets_the_very_same_answer_as_a_wrong_password(client):
    wrong_password = await log_in(client, "community_worker", "123456")
    unknown_user = await log_in(client, "王秀英", "123456")

    assert unknown_user.status_code == wrong_password.status_code == 401
    assert unknown_user.json() == wrong_password.json()


async def test_a_login_without_a_password_is_a_400_problem(client):
    response = await client.post("/api/v1/auth/token", json={"username": "community_worker"})

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_me_without_a_token_is_a_401_problem(client):
    response = await client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwdw=="])
async def test_a_malformed_authorization_is_a_401_problem(client, authorization):
    response = await client.get("/api/v1/me", headers={"Authorization": authorization})

    assert response.status_code == 401


async def test_an_expired_token_is_a_401_problem(client, engine):
    response = await client.get("/api/v1/me", headers=await bearer(engine, "community_worker", ttl_s=-1))

    assert response.status_code == 401


async def test_a_token_signed_with_another_secret_is_a_401_problem(client, engine):
    forged = await bearer(engine, "district_admin", secret="not-the-gateways-secret-but-32-bytes")

    assert (await client.get("/api/v1/me", headers=forged)).status_code == 401


async def test_a_removed_users_token_stops_working_at_once(client, engine):
    headers = await bearer(engine, "community_worker_2")
    async with engine.begin() as conn:
        await conn.execute(delete(users).where(users.c.username == "community_worker_2"))

    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_the_street_officer_sees_the_communities_of_its_street_only(client, engine):
    me = (await client.get("/api/v1/me", headers=await bearer(engine, "street_officer"))).json()

    assert me["roles"] == ["street_officer"]
    assert me["scope"]["district"] == {"id": "fucheng", "name": "涪城区"}
    assert [s["id"] for s in me["scope"]["streets"]] == ["s-chengjiao"]
    assert {c["id"] for c in me["scope"]["communities"]} == {"c-mianzhou", "c-dongjin"}


async def test_the_district_admin_sees_all_three_communities(client, engine):
    headers = await bearer(engine, "district_admin")
    me = (await client.get("/api/v1/me", headers=headers)).json()
    listed = (await client.get("/api/v1/org/communities", headers=headers)).json()

    everything = {"c-mianzhou", "c-dongjin", "c-changhong"}
    assert me["scope"]["all_communities"] is True
    assert {c["id"] for c in me["scope"]["communities"]} == everything
    assert {c["id"] for c in listed["items"]} == everything


async def test_a_community_worker_lists_only_its_own_community_and_street(client, engine):
    headers = await bearer(engine, "community_worker_2")
    communities = (await client.get("/api/v1/org/communities", headers=headers)).json()["items"]
    streets = (await client.get("/api/v1/org/streets", headers=headers)).json()["items"]

    assert communities == [{"id": "c-dongjin", "street_id": "s-chengjiao", "name": "东津社区"}]
    assert [s["name"] for s in streets] == ["城郊街道"]


async def test_the_district_admin_lists_both_streets(client, engine):
    streets = (await client.get("/api/v1/org/streets", headers=await bearer(engine, "district_admin"))).json()

    assert {s["id"] for s in streets["items"]} == {"s-chengjiao", "s-gongqu"}


async def test_a_worker_sees_its_compounds_with_their_buildings(client, engine):
    response = await client.get(
        "/api/v1/org/communities/c-mianzhou/compounds", headers=await bearer(engine, "community_worker")
    )

    assert response.status_code == 200, response.text
    compounds = {c["name"]: c for c in response.json()["items"]}
    assert {"幸福楼院", "和平楼院", "园艺山楼院"} <= compounds.keys()
    assert [b["name"] for b in compounds["幸福楼院"]["buildings"]] == ["1栋", "2栋", "3栋", "4栋", "5栋", "6栋"]


async def test_a_worker_of_another_community_gets_404_for_mianzhous_compounds(client, engine):
    response = await client.get(
        "/api/v1/org/communities/c-mianzhou/compounds", headers=await bearer(engine, "community_worker_2")
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_a_community_that_does_not_exist_is_404_even_for_the_district(client, engine):
    response = await client.get(
        "/api/v1/org/communities/c-nowhere/compounds", headers=await bearer(engine, "district_admin")
    )

    assert response.status_code == 404


async def test_the_org_tree_needs_a_token(client):
    for path in ("/api/v1/org/streets", "/api/v1/org/communities", "/api/v1/org/communities/c-mianzhou/compounds"):
        assert (await client.get(path)).status_code == 401, path


async def test_seeding_twice_is_a_no_op(engine):
    async def counts() -> tuple[int, int]:
        async with engine.connect() as conn:
            return (
                (await conn.execute(select(func.count()).select_from(users))).scalar_one(),
                (await conn.execute(select(func.count()).select_from(buildings))).scalar_one(),
            )

    before = await counts()

    assert await seed_demo(engine, "another password") is False
    assert await counts() == before


async def test_two_seeders_racing_on_a_fresh_database_seed_it_once(database_url):
    engine = create_async_engine(database_url)
    try:
        await create_tables(engine)

        results = await asyncio.gather(seed_demo(engine, PASSWORD), seed_demo(engine, PASSWORD))

        assert sorted(results) == [False, True]
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == len(DEMO_USERNAMES)
    finally:
        await engine.dispose()
