"""The demo district: Fucheng (涪城区) with the book's own Mianzhou community, and one user per role."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio.to_thread
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.auth import hash_password
from services.gateway.org import buildings, communities, compounds, districts, streets, users
from shared.db import write_transaction
from shared.identity import (
    AUDITOR,
    COMMUNITY_HEAD,
    COMMUNITY_WORKER,
    DISTRICT_ADMIN,
    MEDIATOR,
    REENTRY_DUTY,
    STREET_OFFICER,
)

DEMO_DISTRICT = {"id": "fucheng", "name": "涪城区"}
DEMO_STREETS = [
    {"id": "s-chengjiao", "district_id": "fucheng", "name": "城郊街道"},
    {"id": "s-gongqu", "district_id": "fucheng", "name": "工区街道"},
]
DEMO_COMMUNITIES = [
    {"id": "c-mianzhou", "street_id": "s-chengjiao", "name": "绵州社区"},
    {"id": "c-dongjin", "street_id": "s-chengjiao", "name": "东津社区"},
    {"id": "c-changhong", "street_id": "s-gongqu", "name": "长虹社区"},
]
# (community, compound key, name, number of buildings)
_DEMO_COMPOUNDS = [
    ("mianzhou", "xingfu", "幸福楼院", 6),
    ("mianzhou", "heping", "和平楼院", 4),
    ("mianzhou", "yuanyishan", "园艺山楼院", 5),
    ("mianzhou", "hongxing", "红星楼院", 3),
    ("dongjin", "binjiang", "滨江楼院", 5),
    ("dongjin", "furong", "芙蓉楼院", 4),
    ("dongjin", "linyuan", "临园楼院", 3),
    ("changhong", "hongyuan", "虹苑楼院", 6),
    ("changhong", "dianzi", "电子楼院", 4),
    ("changhong", "dongchen", "东辰楼院", 5),
]
# (username, display name, role, where the user is placed, duties)
_DEMO_USERS = [
    ("district_admin", "李建国", DISTRICT_ADMIN, {"district_id": "fucheng"}, ()),
    ("street_officer", "张志强", STREET_OFFICER, {"street_id": "s-chengjiao"}, ()),
    ("community_head", "陈静", COMMUNITY_HEAD, {"community_id": "c-mianzhou"}, (REENTRY_DUTY,)),
    ("community_worker", "刘芳", COMMUNITY_WORKER, {"community_id": "c-mianzhou"}, ()),
    ("mediator", "赵德明", MEDIATOR, {"community_id": "c-mianzhou"}, ()),
    ("auditor", "孙丽", AUDITOR, {"community_id": "c-mianzhou"}, ()),
    ("community_worker_2", "周涛", COMMUNITY_WORKER, {"community_id": "c-dongjin"}, ()),
]
DEMO_USERNAMES = tuple(username for username, *_ in _DEMO_USERS)


async def seed_demo(engine: AsyncEngine, password: str) -> bool:
    """Seed the demo district once; False if it was already there (or another process won the race)."""
    if await _is_seeded(engine):
        return False
    password_hashes = await anyio.to_thread.run_sync(lambda: [hash_password(password) for _ in _DEMO_USERS])
    try:
        async with write_transaction(engine) as conn:
            # The district row goes first: a racing seeder blocks on it, then conflicts.
            await conn.execute(insert(districts), [DEMO_DISTRICT])
            await conn.execute(insert(streets), DEMO_STREETS)
            await conn.execute(insert(communities), DEMO_COMMUNITIES)
            await conn.execute(insert(compounds), _compound_rows())
            await conn.execute(insert(buildings), _building_rows())
            await conn.execute(insert(users), _user_rows(password_hashes))
    except IntegrityError:
        if await _is_seeded(engine):
            return False
        raise
    return True


async def _is_seeded(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        found = await conn.execute(select(districts.c.id).where(districts.c.id == DEMO_DISTRICT["id"]))
        return found.first() is not None


def _compound_rows() -> list[dict]:
    return [
        {"id": f"g-{community}-{key}", "community_id": f"c-{community}", "name": name}
        for community, key, name, _ in _DEMO_COMPOUNDS
    ]


def _building_rows() -> list[dict]:
    return [
        {"id": f"b-{community}-{key}-{number}", "compound_id": f"g-{community}-{key}", "name": f"{number}栋"}
        for community, key, _, count in _DEMO_COMPOUNDS
        for number in range(1, count + 1)
    ]


def _user_rows(password_hashes: list[str]) -> list[dict]:
    now = datetime.now(UTC)
    return [
        {
            "id": "u-" + username.replace("_", "-"),
            "username": username,
            "password_hash": password_hash,
            "display_name": display_name,
            "role": role,
            "district_id": None,
            "street_id": None,
            "community_id": None,
            **placement,
            "duties": list(duties),
            "created_at": now,
        }
        for (username, display_name, role, placement, duties), password_hash in zip(
            _DEMO_USERS, password_hashes, strict=True
        )
    ]
