"""Engines and write transactions for SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Insert, Table, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared import sqlite_driver

WRITE = {"fivezero_write": True}
"""Execution options of a connection that will write: on SQLite it begins with BEGIN IMMEDIATE."""


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite://` URLs and pick our async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


_encode_json = msgspec.json.Encoder().encode


def _json_text(value: Any) -> str:
    return _encode_json(value).decode()


JSON_CODEC: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": msgspec.json.decode}
"""JSON columns through msgspec: about a sixth of json.dumps's time and half of json.loads's
(the read models write a document or two per event). Non-ASCII characters are stored as
they are, not as \\u escapes."""


def is_sqlite(engine: AsyncEngine | AsyncConnection) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, schema: str | None = None, pool_size: int = 10) -> AsyncEngine:
    """An engine for one service's database; on PostgreSQL its tables live in `schema`."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, pool_size)
    server_settings = {"search_path": schema} if schema else {}
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={"server_settings": server_settings},
        **JSON_CODEC,
    )


SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a statement waits for another process's write lock (on a thread, see `sqlite_driver`)."""


def _sqlite_engine(url: str, pool_size: int) -> AsyncEngine:
    parsed = make_url(url)
    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # sqlite3.connect's arguments as SQLAlchemy reads them from the URL (a `file:` URI, say).
    [path], options = parsed.get_dialect()().create_connect_args(parsed)
    options = {k: v for k, v in options.items() if k in ("uri", "detect_types", "cached_statements")}
    engine = create_async_engine(
        url,
        async_creator=sqlite_driver.connector(path, SQLITE_BUSY_TIMEOUT_S, **options),
        **({} if database in (None, "", ":memory:") else {"pool_size": pool_size, "max_overflow": pool_size}),
        **JSON_CODEC,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
        # Autocommit at the driver: we issue BEGIN IMMEDIATE ourselves, so two
        # processes never deadlock upgrading a read lock to a write lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=0")  # the driver waits for locks on a thread
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection) -> None:  # noqa: ANN001
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        # A writer takes the write lock up front (no deadlock upgrading a read lock); a reader
        # (`engine.connect()`) only takes a WAL snapshot, so it never waits for nor blocks a writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("fivezero_write") else "BEGIN")

    return engine


# Any fixed number: the advisory lock all our processes take to change a database's schema.
_SCHEMA_CHANGE_LOCK = 5_050_505


@asynccontextmanager
async def schema_change(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction for CREATE ... IF NOT EXISTS. On PostgreSQL two at once can both find the
    object missing and one then fails on a unique index of the catalogue (an api and its worker
    start together), so every process takes one advisory lock first, held until commit."""
    async with engine.execution_options(**WRITE).begin() as conn:
        if not is_sqlite(conn):
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_CHANGE_LOCK})
        yield conn


async def ensure_schema(engine: AsyncEngine, schema: str | None) -> None:
    """Create the service's PostgreSQL schema if missing (SQLite has none)."""
    if schema and not is_sqlite(engine):
        async with schema_change(engine) as conn:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One read-write transaction; SQLite takes its write lock up front."""
    async with engine.execution_options(**WRITE).begin() as conn:
        yield conn


async def upsert(
    conn: AsyncConnection, table, values: dict, key: tuple[str, ...], update: tuple[str, ...]
) -> bool:  # noqa: ANN001
    """INSERT, or UPDATE the `update` columns where a row with the same `key` exists.
    With no `update` columns an existing row is left alone; True when a row was written."""
    if is_sqlite(conn):
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    statement = dialect_insert(table).values(**values)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={column: statement.excluded[column] for column in update},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    return (await conn.execute(statement)).rowcount == 1


async def insert_new(conn: AsyncConnection, table: Table, rows: list[dict], key: str) -> list[Any]:
    """INSERT the rows whose `key` is not taken yet, in one round trip; the keys written."""
    result = await conn.execute(_insert_new_statement(table, key, conn.dialect.name), rows)
    return list(result.scalars())


@functools.cache
def _insert_new_statement(table: Table, key: str, dialect: str) -> Insert:
    # Rows as parameters of one cached statement: compiling a VALUES list per batch cost more than the insert.
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])


async def upsert_many(
    conn: AsyncConnection, table: Table, rows: list[dict], key: tuple[str, ...], update: tuple[str, ...]
) -> None:
    """`upsert` of several rows in one round trip; no two rows may share a `key`."""
    await conn.execute(_upsert_statement(table, key, update, conn.dialect.name), rows)


@functools.cache
def _upsert_statement(table: Table, key: tuple[str, ...], update: tuple[str, ...], dialect: str) -> Insert:
    # Built once and given rows as parameters: SQLAlchemy then compiles it once, not per batch.
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    statement = dialect_insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(key), set_={column: statement.excluded[column] for column in update}
    )


async def create_tables(engine: AsyncEngine, *metadatas) -> None:  # noqa: ANN002
    """CREATE what is missing, one process at a time (see `schema_change`)."""
    async with schema_change(engine) as conn:
        for metadata in metadatas:
            await conn.run_sync(metadata.create_all)
