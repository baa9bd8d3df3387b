"""The organisation the gateway owns: district → street → community → compound → building, and users.

Tables live in `org_metadata` in the gateway's own database. Every query takes an
`AsyncEngine` or an `AsyncConnection`, so a caller can run several in one connection.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, ForeignKey, MetaData, String, Table, bindparam, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.identity import Identity

org_metadata = MetaData()

districts = Table(
    "districts",
    org_metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
)
streets = Table(
    "streets",
    org_metadata,
    Column("id", String(64), primary_key=True),
    Column("district_id", ForeignKey("districts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
)
communities = Table(
    "communities",
    org_metadata,
    Column("id", String(64), primary_key=True),
    Column("street_id", ForeignKey("streets.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
)
compounds = Table(
    "compounds",
    org_metadata,
    Column("id", String(64), primary_key=True),
    Column("community_id", ForeignKey("communities.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
)
buildings = Table(
    "buildings",
    org_metadata,
    Column("id", String(64), primary_key=True),
    Column("compound_id", ForeignKey("compounds.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
)
# A user is placed at the level its role works on: a district, a street or a community.
users = Table(
    "users",
    org_metadata,
    Column("id", String(64), primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("display_name", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("district_id", ForeignKey("districts.id"), nullable=True),
    Column("street_id", ForeignKey("streets.id"), nullable=True),
    Column("community_id", ForeignKey("communities.id"), nullable=True),
    Column("duties", JSON, nullable=False, default=list),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class District:
    id: str
    name: str


@dataclass(frozen=True)
class Street:
    id: str
    district_id: str
    name: str


@dataclass(frozen=True)
class Community:
    id: str
    street_id: str
    name: str


@dataclass(frozen=True)
class Compound:
    id: str
    community_id: str
    name: str


@dataclass(frozen=True)
class Building:
    id: str
    compound_id: str
    name: str


@dataclass(frozen=True)
class User:
    id: str
    username: str
    password_hash: str
    display_name: str
    role: str
    district_id: str | None
    street_id: str | None
    community_id: str | None
    duties: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class OrgChart:
    """The district, street and community levels in memory: small, and enough to resolve any scope."""

    districts: tuple[District, ...]
    streets: tuple[Street, ...]
    communities: tuple[Community, ...]

    def district(self, district_id: str | None) -> District | None:
        return next((d for d in self.districts if d.id == district_id), None)

    def street(self, street_id: str | None) -> Street | None:
        return next((s for s in self.streets if s.id == street_id), None)

    def community(self, community_id: str | None) -> Community | None:
        return next((c for c in self.communities if c.id == community_id), None)

    def streets_of_district(self, district_id: str) -> tuple[Street, ...]:
        return tuple(s for s in self.streets if s.district_id == district_id)

    def communities_of_street(self, street_id: str) -> tuple[Community, ...]:
        return tuple(c for c in self.communities if c.street_id == street_id)

    def communities_of_district(self, district_id: str) -> tuple[Community, ...]:
        street_ids = {s.id for s in self.streets_of_district(district_id)}
        return tuple(c for c in self.communities if c.street_id in street_ids)


Db = AsyncEngine | AsyncConnection


@asynccontextmanager
async def _connected(db: Db) -> AsyncIterator[AsyncConnection]:
    if isinstance(db, AsyncConnection):
        yield db
    else:
        async with db.connect() as conn:
            yield conn


async def _all(db: Db, query) -> Sequence[Row]:  # noqa: ANN001
    async with _connected(db) as conn:
        return (await conn.execute(query)).all()


async def _one_or_none(db: Db, query) -> Row | None:  # noqa: ANN001
    async with _connected(db) as conn:
        return (await conn.execute(query)).one_or_none()


def _user(row: Row) -> User:
    fields = row._asdict()
    return User(**{**fields, "duties": tuple(fields["duties"] or ())})


async def load_org_chart(db: Db) -> OrgChart:
    async with _connected(db) as conn:
        district_rows = await _all(conn, select(districts).order_by(districts.c.id))
        street_rows = await _all(conn, select(streets).order_by(streets.c.id))
        community_rows = await _all(conn, select(communities).order_by(communities.c.id))
    return OrgChart(
        districts=tuple(District(**r._asdict()) for r in district_rows),
        streets=tuple(Street(**r._asdict()) for r in street_rows),
        communities=tuple(Community(**r._asdict()) for r in community_rows),
    )


ORG_CHART_TTL_S = 1.0
_org_charts: dict[str, tuple[float, OrgChart]] = {}


async def recent_org_chart(db: Db) -> OrgChart:
    """The org chart as read at most `ORG_CHART_TTL_S` ago: districts, streets and communities
    change rarely, and every request needs them (3 queries saved per request)."""
    key = str(db.engine.url if isinstance(db, AsyncConnection) else db.url)
    now = time.monotonic()
    cached = _org_charts.get(key)
    if cached and now - cached[0] < ORG_CHART_TTL_S:
        return cached[1]
    org = await load_org_chart(db)
    _org_charts[key] = (now, org)
    return org


async def get_community(db: Db, community_id: str) -> Community | None:
    row = await _one_or_none(db, select(communities).where(communities.c.id == community_id))
    return Community(**row._asdict()) if row else None


async def communities_of_street(db: Db, street_id: str) -> list[Community]:
    query = select(communities).where(communities.c.street_id == street_id).order_by(communities.c.id)
    return [Community(**r._asdict()) for r in await _all(db, query)]


async def communities_of_district(db: Db, district_id: str) -> list[Community]:
    query = (
        select(communities)
        .join(streets, streets.c.id == communities.c.street_id)
        .where(streets.c.district_id == district_id)
        .order_by(communities.c.id)
    )
    return [Community(**r._asdict()) for r in await _all(db, query)]


async def list_streets(db: Db, identity: Identity) -> list[Street]:
    """Streets the caller oversees or has a community in."""
    query = select(streets).order_by(streets.c.id)
    if not identity.all_communities:
        with_visible_community = select(communities.c.street_id).where(communities.c.id.in_(identity.community_ids))
        query = query.where(or_(streets.c.id.in_(identity.street_ids), streets.c.id.in_(with_visible_community)))
    return [Street(**r._asdict()) for r in await _all(db, query)]


async def list_communities(db: Db, identity: Identity) -> list[Community]:
    """Communities the caller may see."""
    query = select(communities).order_by(communities.c.id)
    if not identity.all_communities:
        query = query.where(communities.c.id.in_(identity.community_ids))
    return [Community(**r._asdict()) for r in await _all(db, query)]


async def list_compounds(db: Db, community_id: str) -> list[Compound]:
    query = select(compounds).where(compounds.c.community_id == community_id).order_by(compounds.c.id)
    return [Compound(**r._asdict()) for r in await _all(db, query)]


async def list_buildings(db: Db, compound_id: str) -> list[Building]:
    query = select(buildings).where(buildings.c.compound_id == compound_id).order_by(buildings.c.id)
    return [Building(**r._asdict()) for r in await _all(db, query)]


async def buildings_of_community(db: Db, community_id: str) -> list[Building]:
    """Every building of every compound of the community, in one query."""
    query = (
        select(buildings)
        .join(compounds, compounds.c.id == buildings.c.compound_id)
        .where(compounds.c.community_id == community_id)
        .order_by(buildings.c.id)
    )
    return [Building(**r._asdict()) for r in await _all(db, query)]


async def get_user_by_username(db: Db, username: str) -> User | None:
    row = await _one_or_none(db, select(users).where(users.c.username == username))
    return _user(row) if row else None


# Built once: the gateway reads the caller's user on every request (see `auth.current_identity`).
_USER_BY_ID = select(users).where(users.c.id == bindparam("user_id"))


async def get_user(db: Db, user_id: str) -> User | None:
    async with _connected(db) as conn:
        row = (await conn.execute(_USER_BY_ID, {"user_id": user_id})).one_or_none()
    return _user(row) if row else None
