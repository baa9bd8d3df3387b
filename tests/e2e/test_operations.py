"""Operations: health, readiness, metrics and the OpenAPI document on every service; intake's
internal API trusting only the gateway's signed identity; and the launcher stopping cleanly."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.identity import IDENTITY_HEADER, Identity, sign_identity
from tests.support.services import free_port, wait_http_ok

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

LIU_FANG = Identity(  # the demo community worker of 绵州社区, as the gateway would sign her
    subject="u-community-worker", username="community_worker", roles=("community_worker",),
    district_id="fucheng", street_ids=(), community_ids=("c-mianzhou",),
)
ZHOU_TAO = Identity(  # the demo community worker of 东津社区
    subject="u-community-worker-2", username="community_worker_2", roles=("community_worker",),
    district_id="fucheng", street_ids=(), community_ids=("c-dongjin",),
)
SUN_LI = Identity(  # the demo auditor, placed in 绵州社区
    subject="u-auditor", username="auditor", roles=("auditor",),
    district_id="fucheng", street_ids=(), community_ids=("c-mianzhou",),
)


def client_of(platform, service: str):
    return {"gateway": platform.gateway, "intake": platform.intake, "mediation": platform.mediation}[service]


def test_intake_listens_on_the_port_named_by_fivezero_intake_port(platform):
    port = platform.platform.env["FIVEZERO_INTAKE_PORT"]
    assert platform.intake.base_url.port == int(port)
    assert platform.platform.env["FIVEZERO_INTAKE_URL"] == f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("service", ["gateway", "intake", "mediation"])
def test_health_and_ready_answer_and_ready_checks_the_database_and_redis(platform, service):
    client = client_of(platform, service)
    health = client.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.parametrize(
    "service, route",
    [
        ("gateway", "/api/v1/communities/{community_id}/households"),
        ("intake", "/communities/{community_id}/households"),
    ],
)
def test_metrics_count_requests_by_route_in_prometheus_text(platform, service, route, survey):
    assert platform.register("community_worker", survey("曹淑英", "和平楼院", "1栋")).status_code == 201
    metrics = client_of(platform, service).get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    sample = f'fivezero_http_requests_total{{method="POST",route="{route}",service="{service}",status="201"}}'
    assert sample in metrics.text


@pytest.mark.parametrize("service", ["gateway", "intake", "mediation"])
def test_metrics_are_served_with_one_well_formed_prometheus_content_type(platform, service):
    """RFC 6838 §4.3: a media type parameter must not appear twice; scrapers parse this header."""
    content_type = client_of(platform, service).get("/metrics").headers["content-type"]
    media_type, *parameters = [part.strip() for part in content_type.split(";")]
    names = [parameter.partition("=")[0].lower() for parameter in parameters]
    assert media_type == "text/plain"
    assert len(names) == len(set(names)), content_type


@pytest.mark.parametrize(
    "service, expected_paths",
    [
        ("gateway", ["/api/v1/auth/token", "/api/v1/me", "/api/v1/communities/{community_id}/households",
                     "/api/v1/communities/{community_id}/households/{household_id}"]),
        ("intake", ["/communities/{community_id}/households", "/events"]),
        ("mediation", ["/communities/{community_id}/disputes", "/events"]),
        ("gateway", ["/api/v1/communities/{community_id}/disputes",
                     "/api/v1/communities/{community_id}/disputes/{dispute_id}/sessions"]),
    ],
)
def test_schema_serves_the_openapi_3_1_document(platform, service, expected_paths):
    client = client_of(platform, service)
    assert client.get("/schema").status_code == 200
    document = client.get("/schema/openapi.json")
    assert document.status_code == 200, document.text
    assert document.json()["openapi"].startswith("3.1")
    assert set(expected_paths) <= set(document.json()["paths"])


def test_intake_events_refuse_a_request_without_the_gateways_identity(platform, problem):
    problem(platform.intake.get("/events"), 401, "unauthenticated")


def test_intake_events_refuse_a_users_bearer_token_and_a_forged_identity(platform, problem):
    token = platform.login("district_admin")["Authorization"].removeprefix("Bearer ")
    problem(platform.intake.get("/events", headers={"Authorization": f"Bearer {token}"}), 401, "unauthenticated")
    # A user token is for the gateway only: it cannot pass as the services' identity header.
    problem(platform.intake.get("/events", headers={IDENTITY_HEADER: token}), 401, "unauthenticated")
    forged = sign_identity(LIU_FANG.model_copy(update={"roles": ("service",)}), secrets.token_hex(32))
    problem(platform.intake.get("/events", headers={IDENTITY_HEADER: forged}), 401, "unauthenticated")


def test_intake_events_refuse_a_user_even_with_the_gateways_signature(platform, problem):
    signed = {IDENTITY_HEADER: sign_identity(LIU_FANG, platform.secret)}
    problem(platform.intake.get("/events", headers=signed), 403, "forbidden")


def test_intake_events_serve_the_gateway_worker_in_order(platform):
    answer = platform.intake.get("/events", params={"after": "0-0", "limit": 1000}, headers=platform.as_service())
    assert answer.status_code == 200, answer.text
    positions = [event["envelope"]["position"] for event in answer.json()["events"]]
    assert positions == sorted(positions)


def test_intake_checks_the_community_scope_again_itself(platform, problem, survey):
    """Services check the scope of the gateway's identity, not only its signature."""
    households = "/communities/c-mianzhou/households"
    with platform.nothing_written():
        unsigned = platform.intake.post(households, json=survey())
        outsider = platform.intake.post(
            households, json=survey(), headers={IDENTITY_HEADER: sign_identity(ZHOU_TAO, platform.secret)}
        )
        auditor = platform.intake.post(
            households, json=survey(), headers={IDENTITY_HEADER: sign_identity(SUN_LI, platform.secret)}
        )
    problem(unsigned, 401, "unauthenticated")
    problem(outsider, 404, "not_found")
    problem(auditor, 403, "forbidden")


def _children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the launcher's children through /proc")
def test_ctrl_c_stops_the_launcher_and_every_process_it_started(tmp_path):
    """`python -m deploy.run` as a developer runs it, with its embedded Redis: one SIGINT stops all."""
    gateway_port, intake_port, mediation_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FIVEZERO_REDIS_URL", "FIVEZERO_DATABASE_URL")}
    env.update(
        FIVEZERO_GATEWAY_PORT=str(gateway_port),
        FIVEZERO_INTAKE_PORT=str(intake_port),
        FIVEZERO_INTAKE_URL=f"http://127.0.0.1:{intake_port}",
        FIVEZERO_INTAKE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/intake.db",
        FIVEZERO_MEDIATION_PORT=str(mediation_port),
        FIVEZERO_MEDIATION_URL=f"http://127.0.0.1:{mediation_port}",
        FIVEZERO_MEDIATION_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/mediation.db",
        FIVEZERO_GATEWAY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/gateway.db",
        FIVEZERO_SECRET=secrets.token_hex(32),
        FIVEZERO_DEMO="0",  # no demo users to hash: this test only starts and stops
    )
    output = open(tmp_path / "launcher.log", "wb")  # noqa: SIM115 - closed in finally
    launcher = subprocess.Popen(
        [sys.executable, "-m", "deploy.run"], cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
    )
    children: list[int] = []
    try:
        try:
            wait_http_ok(f"http://127.0.0.1:{gateway_port}/ready", timeout=60)
            wait_http_ok(f"http://127.0.0.1:{intake_port}/ready", timeout=10)
            wait_http_ok(f"http://127.0.0.1:{mediation_port}/ready", timeout=10)
        except TimeoutError as error:
            pytest.fail(f"{error}\n--- launcher output ---\n{(tmp_path / 'launcher.log').read_text()[-4000:]}")
        children = _children_of(launcher.pid)
        assert len(children) == 7, "redis, intake, mediation and gateway api and worker"

        launcher.send_signal(signal.SIGINT)
        started = time.monotonic()
        assert launcher.wait(timeout=15) == 0
        stopped_in = time.monotonic() - started

        assert [pid for pid in children if _running(pid)] == []
        assert not _port_open(gateway_port)
        assert not _port_open(intake_port)
        assert not _port_open(mediation_port)
        assert stopped_in < 15
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        for pid in children:  # each child leads its own process group (start_new_session)
            if _running(pid):
                os.killpg(pid, signal.SIGKILL)
        output.close()
