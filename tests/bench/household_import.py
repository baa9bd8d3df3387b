"""Household import benchmark: a survey sheet of 10,000 households through the whole platform.

    .venv/bin/python -m tests.bench.household_import [--households 10000] [--postgres]

It starts the platform (`deploy.run.start_platform`) on free ports, with its own SQLite
files (or a fresh PostgreSQL database with `--postgres`, from `DATABASE_URL`) and
`FIVEZERO_READ_YOUR_WRITES_S=0`, so the upload answers once intake has committed; it
writes the sheet with the ledger code (`write_ledger`), uploads it as `community_worker`
and measures:
- `upload_to_201`: the upload until the gateway's answer (read, check, one transaction);
- `upload_to_read_model`: the upload until the gateway's read model holds every household
  (polled in the gateway's database every 50 ms, not through its API);
- `reimport`: the same file again, which registers nothing.
stdout: one JSON line each, `{"what", "households", "seconds", "households_per_s", "cpu_seconds"}`;
`cpu_seconds` is what the platform's processes spent (PostgreSQL's backends not counted),
the figure a busy shared machine disturbs less than wall-clock seconds.
stderr: the sheet's size, and each process's CPU seconds per measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import tempfile
import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import func, select

from services.gateway.imports_api import XLSX_MEDIA_TYPE
from services.gateway.ledgers.layouts import HOUSEHOLD_SURVEY
from services.gateway.ledgers.xlsx import write_ledger
from services.gateway.views.households import households as view_households
from shared.db import create_engine
from tests.bench.ledger_xlsx import a_household
from tests.bench.pipeline import BENCH_REDIS_DB, _cpu_seconds, log, postgres_database, redis_db_url
from tests.support.services import free_port

COMMUNITY = "c-mianzhou"
PASSWORD = "demo12345"


class Cpu:
    """CPU seconds of the platform's processes since `start()`."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.started: dict[str, float] = {}

    def start(self) -> None:
        self.started = {name: _cpu_seconds(pid) or 0.0 for name, pid in self.pids.items()}

    def spent(self) -> dict[str, float]:
        return {name: round((_cpu_seconds(pid) or 0.0) - self.started[name], 2) for name, pid in self.pids.items()}


def report(what: str, households: int, seconds: float, cpu: Cpu) -> None:
    spent = cpu.spent()
    log(f"{what}: CPU seconds by process {spent}")
    figures = {"what": what, "households": households, "seconds": round(seconds, 3),
               "households_per_s": round(households / seconds) if seconds else None,
               "cpu_seconds": round(sum(spent.values()), 2)}
    print(json.dumps(figures), flush=True)


async def in_read_model(gateway_db: str) -> int:
    engine = create_engine(gateway_db, "gateway")
    try:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(view_households).where(view_households.c.community_id == COMMUNITY)
            return int(await conn.scalar(query))
    finally:
        await engine.dispose()


async def bench(url: str, gateway_db: str, sheet: bytes, households: int, cpu: Cpu) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=600, trust_env=False) as client:
        login = await client.post("/api/v1/auth/token", json={"username": "community_worker", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}", "content-type": XLSX_MEDIA_TYPE}
        path = f"/api/v1/communities/{COMMUNITY}/households/import"
        before = await in_read_model(gateway_db)

        cpu.start()
        started = time.perf_counter()
        answer = await client.post(path, content=sheet, headers=headers)
        answered = time.perf_counter() - started
        if answer.status_code != 201 or answer.json()["registered"] != households:
            raise SystemExit(f"bench: import answered {answer.status_code}: {answer.text[:500]}")
        report("upload_to_201", households, answered, cpu)
        while await in_read_model(gateway_db) < before + households:
            await asyncio.sleep(0.05)
        report("upload_to_read_model", households, time.perf_counter() - started, cpu)

        cpu.start()
        started = time.perf_counter()
        again = await client.post(path, content=sheet, headers=headers)
        if again.status_code != 200 or again.json()["already_present"] != households:
            raise SystemExit(f"bench: re-import answered {again.status_code}: {again.text[:500]}")
        report("reimport", households, time.perf_counter() - started, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    from deploy.run import start_platform

    rng = random.Random(5050)
    sheet = write_ledger(
        HOUSEHOLD_SURVEY, [a_household(n, rng) for n in range(args.households)], "绵州社区", date(2025, 3, 1)
    )
    log(f"sheet of {args.households} households: {len(sheet) / 1e6:.1f} MB")
    workdir = Path(tempfile.mkdtemp(prefix="fz-bench-import-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        intake_port, mediation_port = free_port(), free_port()
        env = {
            "FIVEZERO_GATEWAY_PORT": str(free_port()),
            "FIVEZERO_INTAKE_PORT": str(intake_port),
            "FIVEZERO_INTAKE_URL": f"http://127.0.0.1:{intake_port}",
            "FIVEZERO_MEDIATION_PORT": str(mediation_port),
            "FIVEZERO_MEDIATION_URL": f"http://127.0.0.1:{mediation_port}",
            "FIVEZERO_DEMO": "1",
            "FIVEZERO_SECRET": secrets.token_hex(32),
            "FIVEZERO_READ_YOUR_WRITES_S": "0",
        }
        if args.postgres:
            gateway_db = env["FIVEZERO_DATABASE_URL"] = stack.enter_context(postgres_database())
            env["FIVEZERO_INTAKE_DATABASE_URL"] = env["FIVEZERO_GATEWAY_DATABASE_URL"] = ""
            env["FIVEZERO_MEDIATION_DATABASE_URL"] = ""
        else:
            env["FIVEZERO_DATABASE_URL"] = ""
            env["FIVEZERO_INTAKE_DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir / 'intake.db'}"
            env["FIVEZERO_MEDIATION_DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir / 'mediation.db'}"
            gateway_db = env["FIVEZERO_GATEWAY_DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir / 'gateway.db'}"
        if given := os.environ.get("REDIS_URL") or os.environ.get("FIVEZERO_REDIS_URL"):
            import redis

            env["FIVEZERO_REDIS_URL"] = env["REDIS_URL"] = redis_db_url(given, BENCH_REDIS_DB)
            with redis.Redis.from_url(env["FIVEZERO_REDIS_URL"]) as client:
                client.flushdb()
        else:
            env["FIVEZERO_REDIS_URL"] = env["REDIS_URL"] = ""  # the launcher's embedded Redis
        output = stack.enter_context(open(workdir / "platform.log", "w"))  # noqa: SIM115
        platform = start_platform(env, output=output)
        stack.callback(platform.stop)
        log(f"platform ready at {platform.gateway_url} ({'postgres' if args.postgres else 'sqlite'})")
        try:
            cpu = Cpu({name: process.pid for name, process in platform.children.items()})
            asyncio.run(bench(platform.gateway_url, gateway_db, sheet, args.households, cpu))
        finally:
            output.flush()
            if died := platform.exited():
                log(f"{died[0]} exited with code {died[1]}:\n{(workdir / 'platform.log').read_text()[-3000:]}")


if __name__ == "__main__":
    main()
