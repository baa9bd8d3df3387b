"""Command → read-model benchmark of the whole platform: `python -m tests.bench.pipeline`.

It starts the platform itself (`deploy.run.start_platform`) on free ports with its own
temporary SQLite files, demo mode and `FIVEZERO_READ_YOUR_WRITES_S=0`, so that a
`POST .../households` answers as soon as intake has appended the event instead of
waiting for the read model; it then logs in as `community_worker` and runs:

- `open_loop_<rate>_per_s`: commands sent by the clock at a fixed offered rate, each on
  its own task, whatever the answers do (POST latency counts from the scheduled send,
  so a slow answer cannot hide the queue behind it); a command falling due while
  `--max-in-flight` (256) are unanswered is not sent and counts as an error, so an
  overloaded platform shows as errors, not as a run that never ends;
- `saturation_<n>_clients`: n clients each sending its next command as soon as the
  previous one is answered, which gives the commands/s the platform sustains.

Commands go out through the gateway's own HTTP/1.1 client (`services.gateway.http11`):
with httpx the bench took about 1.3 ms of CPU per command on the cores it measures.

Each run prints one JSON line on stdout (everything else goes to stderr):
  {"system", "db", "scenario", "commands", "seconds", "commands_per_s",
   "post_p50_ms", "post_p99_ms", "freshness_p50_ms", "freshness_p99_ms", "errors"}
`commands` counts the commands answered 201; `errors` counts the other answers, the
requests that failed, the commands not sent (open loop), and the commands the read
model had not shown `--drain-s` (60) after the run.

Freshness is the time from the POST's answer to the read model holding the household.
A separate watcher process reads the gateway database directly (the `gateway.views`
rows of `consumer_stream_versions`), without touching the
gateway's HTTP API or its CPU:
- SQLite: every poll reads the rows added since the last poll (`rowid > last`), so a
  household the read model showed before its POST was even answered counts as 0 ms;
- PostgreSQL: every poll looks up the households still awaited, by primary key.
Polls run every `--poll-ms` (2 ms) and whenever a new household is announced, so the
resolution is about that interval. The watcher also tails the Redis stream (a plain
XREAD, no group) to split freshness into relay (answer → entry in Redis) and consumer
(entry in Redis → read model). On stderr the bench also reports, per run, each process's
CPU (the PostgreSQL backends of its database included) and CPU ms per command, and how
much CPU other processes on the machine took; before each run it waits (`--wait-quiet`,
120 s at most) for the rest of the machine to leave the CPU alone.

Options: `--rate`, `--seconds`, `--clients`, `--scenarios`; `--postgres` runs on the
PostgreSQL of `DATABASE_URL` (a fresh database `fz_bench_<random>`, dropped after;
without `DATABASE_URL`, a throwaway local cluster as the tests use); `--url` drives a
gateway that is already running, at an `http://` origin (add `--gateway-db` to measure freshness from its
database, otherwise the watcher polls `GET .../households/{id}`, which loads it);
`--set NAME=VALUE` passes settings to the platform, e.g. `--set FIVEZERO_RELAY_POLL_S=0.001`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.gateway.http11 import Http11Client, TransportError
from tests.support.services import free_port

COMMUNITY = "c-mianzhou"
HOUSEHOLDS = f"/api/v1/communities/{COMMUNITY}/households"
USERNAME = "community_worker"
PASSWORD = "demo12345"
VIEWS_CONSUMER = "gateway.views"  # services.gateway.views.VIEWS_CONSUMER
EVENTS_STREAM = "fz:{intake}:events"  # shared.streams.events_stream("intake")
BENCH_REDIS_DB = 13
_STREAM_ID = re.compile(rb"household-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def log(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


# -- realistic commands (社情民意统计表) ------------------------------------------------

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔向汤"
_GIVEN_M = ["建国", "志强", "伟", "军", "勇", "杰", "涛", "明", "超", "刚", "德明", "国华", "浩然", "梓轩", "宇航", "思远", "俊杰", "文博", "建华", "永福"]
_GIVEN_F = ["秀英", "桂英", "丽", "敏", "静", "芳", "艳", "娟", "秀兰", "霞", "桂兰", "玉兰", "淑珍", "海燕", "子涵", "欣怡", "雨桐", "一诺", "诗涵", "婷婷"]
# The demo community's compounds (services/gateway/seed.py) and their number of buildings.
_COMPOUNDS = [("幸福楼院", 6), ("和平楼院", 4), ("园艺山楼院", 5), ("红星楼院", 3)]
_MINORITIES = ["03", "02", "04", "07", "15"]  # 回族 蒙古族 藏族 彝族 土家族
_WORK_UNITS = ["绵阳市第一中学", "长虹集团", "涪城区人民医院", "个体经营", "退休", "九洲集团", "绵阳师范学院"]
_CAN_OFFER = ["理发", "维修家电", "辅导小学生作业", "法律咨询", "陪独居老人聊天", "书法培训", "义诊量血压"]
_NEEDS = ["老年助餐", "上门家政", "就业指导", "慢病随访", "子女课后托管", "适老化改造", "加装电梯"]
_REMARKS = ["独居老人，需定期走访", "低保户", "退役军人家庭", "新搬入住户", "残疾人家庭，需无障碍设施"]


def _name(rng: random.Random, sex: str, surname: str | None = None) -> str:
    return (surname or rng.choice(_SURNAMES)) + rng.choice(_GIVEN_M if sex == "1" else _GIVEN_F)


def _month(rng: random.Random, first_year: int, last_year: int) -> str:
    return f"{rng.randint(first_year, last_year)}-{rng.randint(1, 12):02d}"


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randint(0, 999_999_999):09d}"


def household_body(rng: random.Random) -> dict[str, Any]:
    """One household survey as a community worker fills it in."""
    sex = rng.choice("12")
    surname = rng.choice(_SURNAMES)
    head_year = rng.randint(1940, 1995)
    ethnicity = "01" if rng.random() < 0.9 else rng.choice(_MINORITIES)
    head = {
        "name": _name(rng, sex, surname),
        "sex": sex,
        "birth_month": _month(rng, head_year, head_year),
        "ethnicity": ethnicity,
        "political_status": rng.choices(["13", "01", "03", "12"], [70, 20, 7, 3])[0],
        "phone": _mobile(rng),
        "work_unit": rng.choice(_WORK_UNITS) if rng.random() < 0.6 else None,
    }
    members = []
    if rng.random() < 0.75:  # a spouse
        spouse_sex = "2" if sex == "1" else "1"
        members.append({
            "name": _name(rng, spouse_sex), "sex": spouse_sex, "relation": "12" if sex == "1" else "11",
            "birth_month": _month(rng, head_year - 3, min(head_year + 3, 2000)), "ethnicity": ethnicity,
            "political_status": "13", "phone": _mobile(rng) if rng.random() < 0.7 else None,
        })
    for _ in range(rng.choices([0, 1, 2, 3], [30, 40, 25, 5])[0]):  # children
        child_sex = rng.choice("12")
        members.append({
            "name": _name(rng, child_sex, surname), "sex": child_sex, "relation": "20" if child_sex == "1" else "30",
            "birth_month": _month(rng, min(head_year + 20, 2020), min(head_year + 40, 2023)),
            "ethnicity": ethnicity, "work_unit": rng.choice(_WORK_UNITS[:4]) if rng.random() < 0.3 else None,
        })
    if head_year > 1965 and rng.random() < 0.25:  # a parent living with them
        parent_sex = rng.choice("12")
        members.append({
            "name": _name(rng, parent_sex, surname if parent_sex == "1" else None), "sex": parent_sex,
            "relation": "51" if parent_sex == "1" else "52", "birth_month": _month(rng, 1930, head_year - 20),
            "ethnicity": ethnicity, "remarks": "行动不便" if rng.random() < 0.3 else None,
        })
    compound, buildings = rng.choice(_COMPOUNDS)
    return {
        "head": head,
        "members": members,
        "address": {
            "compound": compound,
            "building": f"{rng.randint(1, buildings)}栋",
            "unit": f"{rng.randint(1, 3)}单元",
            "room": f"{rng.randint(1, 7)}0{rng.randint(1, 4)}",
        },
        "can_offer": rng.choice(_CAN_OFFER) if rng.random() < 0.4 else None,
        "needs": rng.choice(_NEEDS) if rng.random() < 0.5 else None,
        "remarks": rng.choice(_REMARKS) if rng.random() < 0.15 else None,
    }


def check_bodies(rng_seed: int, count: int = 200) -> None:
    """The generator must only make commands intake accepts; checked before any run."""
    from shared.contracts.intake_requests import RegisterHousehold

    rng = random.Random(rng_seed)
    for _ in range(count):
        RegisterHousehold.model_validate(household_body(rng))


class Bodies:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def next(self) -> bytes:
        return json.dumps(household_body(self.rng), ensure_ascii=False).encode()


# -- the watcher process: when does the read model show each household? --------------------


@dataclass
class ReadModelSource:
    """Where the watcher looks: `kind` is sqlite (a file), postgres (a DSN) or http (the API)."""

    kind: str
    target: str
    token: str = ""


def _watcher_main(conn, source: ReadModelSource, redis_url: str | None, poll_s: float) -> None:  # noqa: ANN001
    try:
        asyncio.run(_watch(conn, source, redis_url, poll_s))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass


class _SqliteProbe:
    """New rows since the last poll: the consumer only inserts them, one commit at a time."""

    incremental = True

    def __init__(self, path: str):
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=30)
        self.last = 0

    async def poll(self, pending: set[str]) -> list[str]:
        # The consumer is checked here, not in SQL: with `consumer = ?` SQLite picks the
        # primary key's index and reads every row of the consumer at each poll.
        rows = self.db.execute(
            "SELECT rowid, consumer, stream_id FROM consumer_stream_versions WHERE rowid > ? ORDER BY rowid",
            (self.last,),
        ).fetchall()
        if rows:
            self.last = rows[-1][0]
        return [stream_id for _, consumer, stream_id in rows if consumer == VIEWS_CONSUMER]

    async def close(self) -> None:
        self.db.close()


class _PostgresProbe:
    incremental = False

    def __init__(self, connection):  # noqa: ANN001
        self.connection = connection

    @classmethod
    async def open(cls, dsn: str) -> _PostgresProbe:
        import asyncpg

        return cls(await asyncpg.connect(dsn, server_settings={"search_path": "gateway"}))

    async def poll(self, pending: set[str]) -> list[str]:
        rows = await self.connection.fetch(
            "SELECT stream_id FROM consumer_stream_versions WHERE consumer = $1 AND stream_id = ANY($2::varchar[])",
            VIEWS_CONSUMER, list(pending),
        )
        return [row[0] for row in rows]

    async def close(self) -> None:
        await self.connection.close()


class _HttpProbe:
    """GET each awaited household from the gateway: costs the gateway CPU, so a last resort."""

    incremental = False

    def __init__(self, url: str, token: str):
        self.http = httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {token}"},
                                      trust_env=False, timeout=10)
        self.limit = asyncio.Semaphore(8)

    async def poll(self, pending: set[str]) -> list[str]:
        async def shown(stream_id: str) -> str | None:
            async with self.limit:
                answer = await self.http.get(f"{HOUSEHOLDS}/{stream_id.removeprefix('household-')}")
            return stream_id if answer.status_code == 200 else None

        return [s for s in await asyncio.gather(*(shown(s) for s in list(pending)[:200])) if s]

    async def close(self) -> None:
        await self.http.aclose()


async def _open_probe(source: ReadModelSource):  # noqa: ANN202
    if source.kind == "sqlite":
        return _SqliteProbe(source.target)
    if source.kind == "postgres":
        return await _PostgresProbe.open(source.target)
    return _HttpProbe(source.target, source.token)


async def _tail_redis(redis_url: str, in_redis: dict[str, float]) -> None:
    """First time each household's event is in the stream: a plain XREAD, no consumer group."""
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        last = await redis.xrevrange(EVENTS_STREAM, count=1)
        cursor = last[0][0] if last else b"0-0"
        while True:
            answer = await redis.xread({EVENTS_STREAM: cursor}, block=1000, count=1000)
            now = time.monotonic()
            for _, entries in answer or ():
                for entry_id, fields in entries:
                    cursor = entry_id
                    if match := _STREAM_ID.search(fields.get(b"__data__", b"")):
                        in_redis.setdefault(match[0].decode(), now)
    finally:
        await redis.aclose()


async def _watch(conn, source: ReadModelSource, redis_url: str | None, poll_s: float) -> None:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    loop.add_reader(conn.fileno(), wake.set)
    probe = await _open_probe(source)
    shown: dict[str, float] = {}  # stream id → start of the poll that first found it
    in_redis: dict[str, float] = {}
    pending: set[str] = set()
    asked: list[str] = []  # announced since the last collect
    collect_until: float | None = None
    tail = asyncio.create_task(_tail_redis(redis_url, in_redis)) if redis_url else None
    conn.send(("ready",))
    try:
        while True:
            wake.clear()
            while conn.poll():
                message = conn.recv()
                if message[0] == "watch":
                    asked += message[1]
                    pending.update(s for s in message[1] if s not in shown)
                elif message[0] == "collect":
                    collect_until = time.monotonic() + message[1]
                elif message[0] == "stop":
                    return
            if pending or probe.incremental:
                started = time.monotonic()
                try:
                    found = await probe.poll(pending)
                except Exception as error:  # noqa: BLE001 - e.g. SQLITE_BUSY: poll again
                    print(f"[bench.watcher] poll failed: {error!r}", file=sys.stderr, flush=True)
                    found = []
                for stream_id in found:
                    shown.setdefault(stream_id, started)
                pending.difference_update(found)
                took = time.monotonic() - started
            else:
                took = 0.0
            if collect_until is not None and (not pending or time.monotonic() > collect_until):
                conn.send(("collected", {s: shown.get(s) for s in asked}, {s: in_redis.get(s) for s in asked}))
                asked, collect_until = [], None
                for stream_id in list(shown):  # keep memory flat over long runs
                    if stream_id not in pending:
                        del shown[stream_id]
                        in_redis.pop(stream_id, None)
            try:  # a large backlog makes a poll slow: never spend more than half the time polling
                await asyncio.wait_for(wake.wait(), max(poll_s, took))
            except TimeoutError:
                pass
    finally:
        if tail:
            tail.cancel()
        await probe.close()


class Watcher:
    def __init__(self, source: ReadModelSource, redis_url: str | None, poll_s: float):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_watcher_main, args=(child, source, redis_url, poll_s), daemon=True, name="bench-watcher"
        )
        self.process.start()
        child.close()
        if not self.conn.poll(60) or self.conn.recv() != ("ready",):
            raise RuntimeError("the freshness watcher did not start")

    def watch(self, stream_id: str) -> None:
        self.conn.send(("watch", [stream_id]))

    async def collect(self, timeout_s: float) -> tuple[dict[str, float | None], dict[str, float | None]]:
        """Waits until the read model shows every announced household (or `timeout_s`)."""
        self.conn.send(("collect", timeout_s))
        loop = asyncio.get_running_loop()
        while not self.conn.poll():
            await asyncio.sleep(0.05)
        _, shown, in_redis = await loop.run_in_executor(None, self.conn.recv)
        return shown, in_redis

    def stop(self) -> None:
        try:
            self.conn.send(("stop",))
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


# -- CPU of each process --------------------------------------------------------------------


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idle and iowait since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / _TICKS


def _backends_of(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving `database` (its title names it)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres:") and f" {database} ".encode() in title:
                if (cpu := _cpu_seconds(int(entry.name))) is not None:
                    found[int(entry.name)] = cpu
    return found


class CpuMeter:
    """CPU of each process of ours, and of everything else on the machine (others' tests).

    With `database`, the PostgreSQL backends serving it count as ours ("postgres")."""

    def __init__(self, pids: dict[str, int], database: str | None = None):
        self.pids = pids
        self.database = database
        self.backends_start: dict[int, float] = {}
        self.idle: dict[str, float] = {}
        self.start: dict[str, float | None] = {}
        self.machine_start = 0.0
        self.started = 0.0

    def begin(self) -> None:
        self.start = {name: _cpu_seconds(pid) for name, pid in self.pids.items()}
        self.backends_start = _backends_of(self.database) if self.database else {}
        self.machine_start = _machine_busy_seconds()
        self.started = time.monotonic()

    def shares(self) -> tuple[dict[str, float], float]:
        """% of one core per process of ours, and % used by the rest of the machine."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        ours = {}
        for name, pid in self.pids.items():
            now, before = _cpu_seconds(pid), self.start.get(name)
            if now is not None and before is not None:
                ours[name] = 100 * (now - before) / elapsed
        if self.database:
            used = sum(cpu - self.backends_start.get(pid, 0.0) for pid, cpu in _backends_of(self.database).items())
            ours["postgres"] = 100 * used / elapsed
        machine = 100 * (_machine_busy_seconds() - self.machine_start) / elapsed
        return ours, max(0.0, machine - sum(ours.values()))

    def report(self, commands: int = 0) -> str:
        ours, others = self.shares()
        elapsed = time.monotonic() - self.started
        parts = ", ".join(f"{name} {share:.0f}%" for name, share in ours.items())
        text = (f"CPU over {elapsed:.1f}s (100% = one core of {os.cpu_count()}): {parts};"
                f" ours {sum(ours.values()):.0f}%, other processes on the machine {others:.0f}%")
        if commands:  # CPU per command, less what each process burns idle (polling)
            per = ", ".join(
                f"{name} {max(0.0, share - self.idle.get(name, 0.0)) * 10 * elapsed / commands:.2f}"
                for name, share in ours.items()
            )
            text += f"\n  CPU ms per command, net of idle: {per}"
        return text

    async def measure_idle(self, seconds: float = 3.0) -> None:
        """What each process burns with no commands: relay and claimer polling, watchdogs."""
        self.begin()
        await asyncio.sleep(seconds)
        self.idle, others = self.shares()
        log("idle CPU (% of one core): " + ", ".join(f"{n} {v:.1f}%" for n, v in self.idle.items())
            + f"; other processes on the machine {others:.0f}%")

    async def wait_quiet(self, limit_s: float, threshold: float = 25.0) -> None:
        """Waits (up to `limit_s`) until the rest of the machine uses under `threshold`% for 3 s."""
        deadline, quiet_since = time.monotonic() + limit_s, None
        while True:
            self.begin()
            await asyncio.sleep(1)
            _, others = self.shares()
            now = time.monotonic()
            quiet_since = (quiet_since or now) if others < threshold else None
            if quiet_since and now - quiet_since >= 2:
                return
            if now >= deadline:
                log(f"the machine is not quiet: other processes use {others:.0f}% of a core; running anyway")
                return


# -- the runs -----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


@dataclass
class Run:
    scenario: str
    answered: dict[str, float] = field(default_factory=dict)  # stream id → time of the 201
    post_latency: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    def failed(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


class Driver:
    """Sends commands over the gateway's own lean HTTP/1.1 client (`services.gateway.http11`):
    httpx cost about a millisecond of CPU per command on the cores the platform uses."""

    def __init__(self, client: Http11Client, token: str, watcher: Watcher, bodies: Bodies, max_in_flight: int):
        self.client = client
        self.max_in_flight = max_in_flight
        self.headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        self.watcher = watcher
        self.bodies = bodies

    async def send(self, run: Run, since: float) -> None:
        """One command; its latency counts from `since` (the scheduled or the actual send)."""
        body = self.bodies.next()
        headers = {**self.headers, "idempotency-key": str(uuid.uuid4())}
        try:
            answer = await self.client.request("POST", HOUSEHOLDS, body, headers)
        except TransportError as error:
            run.failed(repr(error))
            return
        answered = time.monotonic()
        if answer.status_code != 201:
            run.failed(f"HTTP {answer.status_code}: {answer.content[:300].decode(errors='replace')}")
            return
        stream_id = "household-" + answer.headers["location"].rsplit("/", 1)[1]
        run.answered[stream_id] = answered
        run.post_latency.append(answered - since)
        self.watcher.watch(stream_id)

    async def open_loop(self, run: Run, rate: float, seconds: float) -> None:
        """Sends by the clock. A command due while `max_in_flight` are still unanswered is
        not sent and counts as an error: the schedule never waits for the platform, and a
        platform that cannot keep up shows as errors instead of an ever longer run."""
        count = round(rate * seconds)
        tasks: set[asyncio.Task] = set()
        late, dropped = 0.0, 0
        run.started = start = time.monotonic()
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late = max(late, -delay)
            if len(tasks) >= self.max_in_flight:
                dropped += 1
                continue
            task = asyncio.create_task(self.send(run, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)
        run.finished = time.monotonic()
        if late > 0.005:
            log(f"{run.scenario}: the sender fell behind its schedule by up to {late * 1000:.1f} ms")
        if dropped:
            run.failed(f"{dropped} of {count} commands not sent: {self.max_in_flight} were already awaiting"
                       " an answer (the platform does not keep up with the offered rate)")
            run.errors += dropped - 1

    async def closed_loop(self, run: Run, clients: int, seconds: float) -> None:
        run.started = time.monotonic()
        end = run.started + seconds

        async def client() -> None:
            while time.monotonic() < end:
                await self.send(run, time.monotonic())

        await asyncio.gather(*(client() for _ in range(clients)))
        run.finished = time.monotonic()


async def measure(driver: Driver, run: Run, cpu: CpuMeter | None, drain_s: float, db: str, **how: Any) -> dict:
    if cpu:
        await cpu.wait_quiet(how.pop("wait_quiet"))
        cpu.begin()
    else:
        how.pop("wait_quiet")
    log(f"{run.scenario}: running for {how['seconds']:g}s")
    if "rate" in how:
        await driver.open_loop(run, how["rate"], how["seconds"])
    else:
        await driver.closed_loop(run, how["clients"], how["seconds"])
    if cpu:
        log(f"{run.scenario}: {cpu.report(len(run.answered))}")
    shown, in_redis = await driver.watcher.collect(drain_s)
    freshness, relay, consumer, not_shown, early = [], [], [], 0, 0
    for stream_id, answered in run.answered.items():
        seen = shown.get(stream_id)
        if seen is None:
            not_shown += 1
            continue
        early += seen < answered
        freshness.append(max(0.0, seen - answered))
        if (published := in_redis.get(stream_id)) is not None:
            relay.append(max(0.0, published - answered))
            consumer.append(max(0.0, seen - published))
    if not_shown:
        run.failed(f"{not_shown} households not in the read model after waiting {drain_s:g}s")
        run.errors += not_shown - 1
    elapsed = run.finished - run.started
    for name, values in (("relay (answer → Redis)", relay), ("consumer (Redis → read model)", consumer)):
        if values:
            log(f"{run.scenario}: {name}: p50 {_ms(percentile(values, .5))} ms, p90 {_ms(percentile(values, .9))} ms,"
                f" p99 {_ms(percentile(values, .99))} ms, max {_ms(max(values))} ms")
    if freshness:
        log(f"{run.scenario}: freshness p90 {_ms(percentile(freshness, .9))} ms, max {_ms(max(freshness))} ms;"
            f" {early} of {len(freshness)} shown before their POST was answered")
    for sample in run.error_samples:
        log(f"{run.scenario}: error: {sample}")
    return {
        "system": "fivezero",
        "db": db,
        "scenario": run.scenario,
        "commands": len(run.answered),
        "seconds": round(elapsed, 2),
        "commands_per_s": round(len(run.answered) / elapsed, 1) if elapsed > 0 else None,
        "post_p50_ms": _ms(percentile(run.post_latency, 0.50)),
        "post_p99_ms": _ms(percentile(run.post_latency, 0.99)),
        "freshness_p50_ms": _ms(percentile(freshness, 0.50)),
        "freshness_p99_ms": _ms(percentile(freshness, 0.99)),
        "errors": run.errors,
    }


async def login(client: httpx.AsyncClient) -> str:
    answer = await client.post("/api/v1/auth/token", json={"username": USERNAME, "password": PASSWORD})
    if answer.status_code != 200:
        raise SystemExit(f"bench: logging in as {USERNAME} failed: HTTP {answer.status_code} {answer.text[:300]}")
    return answer.json()["access_token"]


async def bench(args: argparse.Namespace, url: str, db: str, source: ReadModelSource, redis_url: str | None,
                pids: dict[str, int], database: str | None = None) -> None:
    async with contextlib.AsyncExitStack() as pools:
        client = await pools.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30, trust_env=False))
        http = Http11Client(url, timeout_s=30, max_connections=max(args.max_in_flight, args.clients))
        pools.push_async_callback(http.close)
        token = await login(client)
        if source.kind == "http":
            source.token = token
        watcher = Watcher(source, redis_url, args.poll_ms / 1000)
        cpu = CpuMeter({**pids, "bench": os.getpid(), "watcher": watcher.process.pid}, database) if pids else None
        try:
            driver = Driver(http, token, watcher, Bodies(args.seed), args.max_in_flight)
            if args.warmup:  # connections, pools and the consumer group, unmeasured
                warm = Run("warmup")
                await driver.open_loop(warm, 50, args.warmup / 50)
                await watcher.collect(args.drain_s)
                log(f"warm-up: {len(warm.answered)} commands, {warm.errors} errors")
            if cpu:
                await cpu.measure_idle()
            for scenario in args.scenarios:
                if scenario == "open":
                    run = Run(f"open_loop_{args.rate:g}_per_s")
                    result = await measure(driver, run, cpu, args.drain_s, db, rate=args.rate, seconds=args.seconds,
                                           wait_quiet=args.wait_quiet)
                else:
                    run = Run(f"saturation_{args.clients}_clients")
                    result = await measure(driver, run, cpu, args.drain_s, db, clients=args.clients,
                                           seconds=args.saturation_seconds or args.seconds, wait_quiet=args.wait_quiet)
                print(json.dumps(result, ensure_ascii=False), flush=True)
                await asyncio.sleep(1)
        finally:
            watcher.stop()


# -- the platform and its databases ---------------------------------------------------------


def redis_db_url(url: str, db: int) -> str:
    return urlsplit(url)._replace(path=f"/{db}").geturl()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database `fz_bench_<random>` on `DATABASE_URL` (else a throwaway local server)."""
    from sqlalchemy.engine import make_url

    with ExitStack() as stack:
        base_url = os.environ.get("DATABASE_URL")
        if not base_url:
            from tests.support.services import local_postgres

            log("DATABASE_URL is not set: starting a throwaway local PostgreSQL (fsync=off)")
            base_url = stack.enter_context(local_postgres())
        base = make_url(base_url)
        if base.get_backend_name() not in ("postgresql", "postgres"):
            raise SystemExit(f"bench: DATABASE_URL must be a PostgreSQL URL, not {base.drivername}://")
        from tests.support.services import create_database, drop_database

        url = asyncio.run(create_database(base_url, "fz_bench"))
        log(f"PostgreSQL database {make_url(url).database} on {base.host}:{base.port}")
        try:
            yield make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        finally:
            asyncio.run(drop_database(url))


def run_with_platform(args: argparse.Namespace) -> None:
    from deploy.run import PlatformError, start_platform

    workdir = Path(tempfile.mkdtemp(prefix="fz-bench-"))
    platform = None
    with ExitStack() as stack:
        if not args.keep:
            stack.callback(shutil.rmtree, workdir, True)
        env = {
            "FIVEZERO_GATEWAY_PORT": str(free_port()),
            "FIVEZERO_DEMO": "1",
            "FIVEZERO_SECRET": secrets.token_hex(32),
            "FIVEZERO_READ_YOUR_WRITES_S": "0",
        }
        intake_port = free_port()
        env["FIVEZERO_INTAKE_PORT"] = str(intake_port)
        env["FIVEZERO_INTAKE_URL"] = f"http://127.0.0.1:{intake_port}"
        mediation_port = free_port()
        env["FIVEZERO_MEDIATION_PORT"] = str(mediation_port)
        env["FIVEZERO_MEDIATION_URL"] = f"http://127.0.0.1:{mediation_port}"
        if args.postgres:
            env["FIVEZERO_DATABASE_URL"] = stack.enter_context(postgres_database())
            env["FIVEZERO_INTAKE_DATABASE_URL"] = env["FIVEZERO_GATEWAY_DATABASE_URL"] = ""
            env["FIVEZERO_MEDIATION_DATABASE_URL"] = ""
            source = ReadModelSource("postgres", env["FIVEZERO_DATABASE_URL"])
            db = "postgres"
        else:
            gateway_db = workdir / "gateway.db"
            env["FIVEZERO_DATABASE_URL"] = ""
            env["FIVEZERO_INTAKE_DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir / 'intake.db'}"
            env["FIVEZERO_MEDIATION_DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir / 'mediation.db'}"
            env["FIVEZERO_GATEWAY_DATABASE_URL"] = f"sqlite+aiosqlite:///{gateway_db}"
            source = ReadModelSource("sqlite", str(gateway_db))
            db = "sqlite"
        given_redis = os.environ.get("REDIS_URL") or os.environ.get("FIVEZERO_REDIS_URL")
        if given_redis:
            import redis

            env["FIVEZERO_REDIS_URL"] = env["REDIS_URL"] = redis_db_url(given_redis, BENCH_REDIS_DB)
            with redis.Redis.from_url(env["FIVEZERO_REDIS_URL"]) as client:
                client.flushdb()
            log(f"Redis {env['FIVEZERO_REDIS_URL']} (flushed)")
        else:
            env["FIVEZERO_REDIS_URL"] = env["REDIS_URL"] = ""  # the launcher's embedded Redis
        for setting in args.set:
            name, _, value = setting.partition("=")
            env[name] = value
        output = open(workdir / "platform.log", "w")  # noqa: SIM115 - closed by the stack
        stack.callback(output.close)
        log(f"starting the platform ({db}); its output goes to {workdir / 'platform.log'}")
        try:
            platform = start_platform(env, output=output)
        except PlatformError as error:
            output.flush()
            sys.stderr.write((workdir / "platform.log").read_text()[-5000:])
            raise SystemExit(f"bench: {error}") from error
        stack.callback(platform.stop)
        log(f"platform ready at {platform.gateway_url} (Redis {platform.env['FIVEZERO_REDIS_URL']})")
        pids = {name: process.pid for name, process in platform.children.items()}
        if platform.redis:
            pids["redis"] = platform.redis.pid
        try:
            database = urlsplit(env["FIVEZERO_DATABASE_URL"]).path.lstrip("/") if args.postgres else None
            asyncio.run(bench(args, platform.gateway_url, db, source, platform.env["FIVEZERO_REDIS_URL"], pids, database))
        finally:
            if died := platform.exited():
                log(f"{died[0]} exited with code {died[1]} during the bench: see {workdir / 'platform.log'}")
                output.flush()
                sys.stderr.write((workdir / "platform.log").read_text()[-5000:])
            log("stopping the platform")


def run_against_url(args: argparse.Namespace) -> None:
    if args.gateway_db:
        from sqlalchemy.engine import make_url

        parsed = make_url(args.gateway_db)
        if parsed.get_backend_name() == "sqlite":
            source, db = ReadModelSource("sqlite", parsed.database), "sqlite"
        else:
            dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            source, db = ReadModelSource("postgres", dsn), "postgres"
    else:
        log("no --gateway-db: freshness is measured by polling GET .../households/{id} (this loads the gateway)")
        source, db = ReadModelSource("http", args.url), "unknown"
    asyncio.run(bench(args, args.url.rstrip("/"), db, source, args.redis_url, {}))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200, help="offered commands/s of the open-loop run (200)")
    parser.add_argument("--seconds", type=float, default=20, help="length of each run (20)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients of the saturation run (16)")
    parser.add_argument("--saturation-seconds", type=float, default=None, help="length of the saturation run")
    parser.add_argument("--scenarios", default="open,saturation", help="which runs, in order (open,saturation)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL from DATABASE_URL instead of SQLite")
    parser.add_argument("--url", help="drive this running gateway instead of starting the platform")
    parser.add_argument("--gateway-db", help="with --url: the gateway's database URL, to measure freshness there")
    parser.add_argument("--redis-url", help="with --url: the platform's Redis, to split relay from consumer time")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the platform (repeatable)")
    parser.add_argument("--max-in-flight", type=int, default=256,
                        help="open loop: commands awaiting an answer beyond which a due command is not sent (256)")
    parser.add_argument("--poll-ms", type=float, default=2.0, help="read-model poll interval of the watcher (2)")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured commands first, at 50/s (100)")
    parser.add_argument("--drain-s", type=float, default=60, help="how long to wait for the read model after a run")
    parser.add_argument("--seed", type=int, default=5050, help="seed of the generated households")
    parser.add_argument("--wait-quiet", type=float, default=120, metavar="SECONDS",
                        help="before each run, wait up to this long for other processes to leave the CPU (120)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, log)")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := set(args.scenarios) - {"open", "saturation"}:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.url and args.postgres:
        parser.error("--postgres starts a platform; with --url, name its database with --gateway-db")
    return args


def main(argv: list[str] | None = None) -> int:
    # Stop cleanly (platform, watcher, database) on SIGTERM too, and on SIGINT even when
    # a non-interactive shell started us in the background with SIGINT ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args = parse_args(argv)
    check_bodies(args.seed)
    if args.url:
        run_against_url(args)
    else:
        run_with_platform(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
