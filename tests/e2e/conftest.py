"""The whole platform as real processes (intake, mediation and gateway, each api+worker), spoken to over HTTP.

`platform` starts once per session on SQLite files; `pg_platform` starts once per module on a
fresh PostgreSQL database; `any_platform` runs a test on both. Each uses its own Redis DB
(never the one `tests/conftest.py` flushes), its own ports and its own secret.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis as sync_redis

from deploy.run import Platform, PlatformError, start_platform
from services.intake.seed import demo_network
from shared.identity import IDENTITY_HEADER, service_identity, sign_identity
from shared.problems import PROBLEM_MEDIA_TYPE
from tests.support.services import create_database, drop_database, free_port

DEMO_PASSWORD = "demo12345"
# tests/conftest.py flushes DB 15 for every test and the pipeline benchmark uses 13: these two
# platforms keep out of their way and out of each other's (both may run at once).
SQLITE_PLATFORM_REDIS_DB = int(os.environ.get("FIVEZERO_E2E_REDIS_DB", "14"))
PG_PLATFORM_REDIS_DB = int(os.environ.get("FIVEZERO_E2E_PG_REDIS_DB", "12"))
COMMUNITIES = ("c-mianzhou", "c-dongjin", "c-changhong")


@dataclass
class RunningPlatform:
    """A started platform and HTTP clients for its gateway and the (internal) intake and mediation APIs."""

    platform: Platform
    secret: str
    gateway: httpx.Client
    intake: httpx.Client
    mediation: httpx.Client
    log_path: Path
    network_at_start: dict[str, int] = field(default_factory=dict)
    """绵州社区's information network as the gateway showed it once the demo seed had arrived."""
    _tokens: dict[str, str] = field(default_factory=dict)

    def login(self, username: str) -> dict[str, str]:
        """Authorization headers for a demo user (each logs in once: argon2 is slow on purpose)."""
        if username not in self._tokens:
            answer = self.gateway.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
            assert answer.status_code == 200, answer.text
            self._tokens[username] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def register(
        self, username: str, body: Any, community: str = "c-mianzhou", **headers: str
    ) -> httpx.Response:
        return self.gateway.post(households(community), json=body, headers={**self.login(username), **headers})

    def as_service(self) -> dict[str, str]:
        """The identity header the gateway's worker sends when it reads intake's history."""
        return {IDENTITY_HEADER: sign_identity(service_identity("gateway"), self.secret)}

    def intake_event_count(self) -> int:
        """Every event in intake's store, page by page (one page stops at 1,000)."""
        count, after = 0, "0-0"
        while True:
            answer = self.intake.get("/events", params={"after": after, "limit": 1000}, headers=self.as_service())
            assert answer.status_code == 200, answer.text
            page = answer.json()
            if not page["events"]:
                return count
            count, after = count + len(page["events"]), page["next"]

    def network_totals(self, community: str = "c-mianzhou") -> dict[str, int]:
        """`{"teams": …, "officers": …}` of a community's information network in the gateway's view."""
        answer = self.gateway.get(
            f"/api/v1/communities/{community}/info-officer-teams", params={"limit": 1},
            headers=self.login("district_admin"),
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["totals"]

    def household_count(self, community: str) -> int:
        """Households in the gateway's read model, counted page by page as the district admin."""
        count, cursor = 0, None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            answer = self.gateway.get(households(community), params=params, headers=self.login("district_admin"))
            assert answer.status_code == 200, answer.text
            count += len(answer.json()["items"])
            if not (cursor := answer.json()["next_cursor"]):
                return count

    @contextmanager
    def nothing_written(self) -> Iterator[None]:
        """Asserts that the block adds no event to intake's store and no household to any list."""
        events = self.intake_event_count()
        counts = {community: self.household_count(community) for community in COMMUNITIES}
        yield
        assert self.intake_event_count() == events, "a refused request wrote an event"
        assert {community: self.household_count(community) for community in COMMUNITIES} == counts

    def mediation_event_count(self) -> int:
        answer = self.mediation.get("/events", params={"after": "0-0", "limit": 1000}, headers=self.as_service())
        assert answer.status_code == 200, answer.text
        return len(answer.json()["events"])

    def close(self) -> None:
        self.gateway.close()
        self.intake.close()
        self.mediation.close()
        self.platform.stop()
        self.platform.output.close()


def households(community: str = "c-mianzhou") -> str:
    return f"/api/v1/communities/{community}/households"


def redis_db_url(redis_url: str, db: int) -> str:
    """`redis_url` pointing at DB `db`, emptied: a previous run's streams must not leak in."""
    url = urlsplit(redis_url)._replace(path=f"/{db}").geturl()
    client = sync_redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


def launch(workdir: Path, redis_url: str, databases: dict[str, str]) -> RunningPlatform:
    """Start every process with its own ports, secret and databases; wait until the gateway is ready."""
    gateway_port, intake_port, mediation_port = free_port(), free_port(), free_port()
    secret = secrets.token_hex(32)
    env = {
        "FIVEZERO_GATEWAY_PORT": str(gateway_port),
        "FIVEZERO_INTAKE_PORT": str(intake_port),
        "FIVEZERO_INTAKE_URL": f"http://127.0.0.1:{intake_port}",
        "FIVEZERO_MEDIATION_PORT": str(mediation_port),
        "FIVEZERO_MEDIATION_URL": f"http://127.0.0.1:{mediation_port}",
        "FIVEZERO_REDIS_URL": redis_url,
        "FIVEZERO_SECRET": secret,
        "FIVEZERO_DEMO": "1",
        "FIVEZERO_DEMO_PASSWORD": DEMO_PASSWORD,
        "FIVEZERO_HOST": "127.0.0.1",
        # A write waits for the read model before answering, so the next GET sees it. The default
        # 2 s is ample on a quiet machine; a loaded CI runner must not turn that into a flaky 404.
        "FIVEZERO_READ_YOUR_WRITES_S": "10",
        # Seconds every process adds to its clock: a test moves the platform a day ahead (demo only).
        "FIVEZERO_CLOCK_OFFSET_FILE": str(workdir / "clock-offset"),
        "FIVEZERO_DEADLINE_POLL_S": "0.2",
        **databases,
    }
    log_path = workdir / "platform.log"
    output = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - the relay threads write to it until stop()
    try:
        platform = start_platform(env, output=output, ready_timeout=60)
    except PlatformError as error:
        output.close()
        pytest.fail(f"the platform did not start: {error}\n{_last_lines_of_each(log_path)}", pytrace=False)
    # Loopback only: a proxy from the environment must not see these requests.
    gateway = httpx.Client(base_url=f"http://127.0.0.1:{gateway_port}", timeout=20, trust_env=False)
    intake = httpx.Client(base_url=f"http://127.0.0.1:{intake_port}", timeout=20, trust_env=False)
    mediation = httpx.Client(base_url=f"http://127.0.0.1:{mediation_port}", timeout=20, trust_env=False)
    running = RunningPlatform(platform, secret, gateway, intake, mediation, log_path)
    running.network_at_start = _wait_for_the_demo_network(running)
    return running


def _wait_for_the_demo_network(running: RunningPlatform, timeout: float = 30.0) -> dict[str, int]:
    """The network once the gateway shows all the demo seed wrote: a test counting teams
    before and after its own must not count the seed's arriving in between."""
    teams = demo_network()
    seeded = {"teams": len(teams), "officers": sum(len(team.officers) for team in teams)}
    give_up = time.monotonic() + timeout
    while (shown := running.network_totals()) != seeded:
        if time.monotonic() > give_up:
            running.close()
            pytest.fail(f"the demo network never reached the gateway's view: {shown}, not {seeded}\n"
                        f"{_last_lines_of_each(running.log_path)}", pytrace=False)
        time.sleep(0.1)
    return shown


def _last_lines_of_each(log_path: Path, count: int = 25) -> str:
    """The exceptions raised, then the end of each process's output: the others' shutdown
    chatter must not push the dead one's traceback out of sight."""
    lines = log_path.read_text(encoding="utf-8").splitlines()
    raised = dict.fromkeys(line for line in lines if _RAISED.search(line))
    by_process: dict[str, list[str]] = {}
    for line in lines:
        by_process.setdefault(line.partition("]")[0].lstrip("["), []).append(line)
    return "\n".join(
        ["--- exceptions raised ---", *list(raised)[:15]]
        + [f"--- {name}, last {count} lines ---\n" + "\n".join(tail[-count:]) for name, tail in by_process.items()]
    )


_RAISED = re.compile(r"\] [\w.]+(Error|Exception|Violation)\w*: ")


@pytest.fixture(scope="session")
def platform(redis_url: str) -> Iterator[RunningPlatform]:
    """The platform on SQLite files in a temporary directory, for the whole session."""
    with tempfile.TemporaryDirectory(prefix="fz-e2e-") as workdir:
        running = launch(
            Path(workdir),
            redis_db_url(redis_url, SQLITE_PLATFORM_REDIS_DB),
            {
                "FIVEZERO_INTAKE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/intake.db",
                "FIVEZERO_MEDIATION_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/mediation.db",
                "FIVEZERO_GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/gateway.db",
            },
        )
        try:
            yield running
        finally:
            running.close()


@pytest.fixture(scope="module")
def pg_platform(redis_url: str, pg_base_url: str) -> Iterator[RunningPlatform]:
    """The platform on a fresh PostgreSQL database (one schema per service), for one module."""
    url = asyncio.run(create_database(pg_base_url, "fz_e2e"))
    try:
        with tempfile.TemporaryDirectory(prefix="fz-e2e-pg-") as workdir:
            running = launch(
                Path(workdir),
                redis_db_url(redis_url, PG_PLATFORM_REDIS_DB),
                # Empty own URLs override any from the environment, so both services share `url`.
                {
                    "FIVEZERO_DATABASE_URL": url,
                    "FIVEZERO_INTAKE_DATABASE_URL": "",
                    "FIVEZERO_MEDIATION_DATABASE_URL": "",
                    "FIVEZERO_GATEWAY_DATABASE_URL": "",
                },
            )
            try:
                yield running
            finally:
                running.close()
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_platform(request: pytest.FixtureRequest) -> RunningPlatform:
    """The same test once on the SQLite platform and once on the PostgreSQL one."""
    return request.getfixturevalue({"sqlite": "platform", "postgres": "pg_platform"}[request.param])


@pytest.fixture
def login(platform: RunningPlatform) -> Callable[[str], dict[str, str]]:
    """`login("community_worker")` → headers with that demo user's bearer token."""
    return platform.login


def household_survey(
    name: str = "王秀英",
    compound: str = "幸福楼院",
    building: str = "3栋",
    *,
    members: list[dict[str, Any]] | None = None,
    **sections: Any,
) -> dict[str, Any]:
    """A household survey form (社情民意统计表): by default 王秀英 of 幸福楼院 3栋 and her son 李明."""
    return {
        "head": {
            "name": name,
            "sex": "2",
            "birth_month": "1958-03",
            "ethnicity": "01",
            "political_status": "13",
            "phone": "138 1234 5678",
        },
        "members": [
            {"name": "李明", "sex": "1", "birth_month": "1985-07", "ethnicity": "01", "relation": "20"}
        ]
        if members is None
        else members,
        "address": {"compound": compound, "building": building, "unit": "2", "room": "301"},
        **sections,
    }


@pytest.fixture(scope="session")
def survey() -> Callable[..., dict[str, Any]]:
    """The household form factory: `survey()`, `survey("张桂兰", "和平楼院", "1栋", needs="助餐")`."""
    return household_survey


def check_problem(answer: httpx.Response, status: int, code: str, language: str = "zh") -> dict[str, Any]:
    """Asserts an RFC 9457 problem of `status`/`code` in `language`; returns its body."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), answer.headers["content-type"]
    assert answer.headers.get("content-language") == language
    problem = answer.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"].endswith("/" + code)
    assert problem["title"] and problem["detail"]
    assert isinstance(problem["errors"], list)
    return problem


@pytest.fixture(scope="session")
def problem() -> Callable[..., dict[str, Any]]:
    """`problem(answer, 400, "validation_failed", "en")`: checks the problem document, returns it."""
    return check_problem
