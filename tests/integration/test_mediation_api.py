"""Mediation's internal API on a real store (SQLite) and Redis: the case workflow over HTTP,
If-Match (two mediators at once: one wins, the other gets 412), bad fields named in Chinese
and English with nothing written, and the scope it checks again behind the gateway."""

import asyncio

import pytest
from litestar.testing import AsyncTestClient

from services.mediation.app import create_api
from services.mediation.settings import MediationSettings
from shared.identity import IDENTITY_HEADER, Identity, service_identity, sign_identity

SECRET = "mediation-integration-test-secret-32+"
MIANZHOU = "/communities/c-mianzhou/disputes"


def as_(role: str, *communities: str, username: str | None = None) -> dict[str, str]:
    """The identity header the gateway would send for this caller (signed now: it lives a minute)."""
    identity = Identity(
        subject=f"u-{username or role}", username=username or role, roles=(role,), district_id="fucheng",
        street_ids=("s-chengjiao",) if role == "street_officer" else (), community_ids=communities or ("c-mianzhou",),
    )
    return {IDENTITY_HEADER: sign_identity(identity, SECRET)}


def dispute(**fields) -> dict:
    """王秀英 (a resident) against the tenant upstairs, 张建华 (an outsider): a leak."""
    return {
        "source": "party_applied",
        "category": "02",
        "dispute_cause": "楼上漏水，邻居不理",
        "parties": [
            {"side": "a", "resident_id": "r-wangxiuying", "name": "王秀英"},
            {"side": "b", "name": "张建华"},
        ],
        "place": {"compound": "幸福楼院", "building": "3栋"},
        **fields,
    }


STEPS = [
    ("accept", {"mediators": ["赵德明"]}),
    ("investigations", {"investigated_on": "2026-11-05", "investigators": ["赵德明"], "findings": "401卫生间防水层老化"}),
    ("sessions", {"held_at": "2026-11-06T14:00:00", "place": "调解工作室", "mediators": ["赵德明"],
                  "participants": ["王秀英", "张建华"], "account": "双方同意修复并赔偿", "on_site": True}),
    ("agreement", {"form": "oral", "reached_on": "2026-11-06", "terms": "401修复防水，赔偿800元",
                   "clauses": [{"party_id": "p2", "obligation": "修复防水", "due_on": "2026-11-20"}]}),
    ("follow-ups", {"visited_on": "2026-11-21", "visited_by": ["赵德明"], "note": "已修好", "fulfilled_clauses": [1]}),
    ("close", {"archive_no": "2026-调-001"}),
]


@pytest.fixture
async def client(tmp_path, test_redis_url, redis):
    settings = MediationSettings(
        secret=SECRET, redis_url=test_redis_url, own_database_url=f"sqlite+aiosqlite:///{tmp_path}/mediation.db"
    )
    async with AsyncTestClient(app=create_api(settings)) as client:
        yield client


async def event_count(client) -> int:
    answer = await client.get("/events", params={"limit": 1000}, headers={IDENTITY_HEADER: sign_identity(service_identity("gateway"), SECRET)})
    assert answer.status_code == 200, answer.text
    return len(answer.json()["events"])


async def act(client, case: dict, action: str, body: dict, version=None, headers=None):
    return await client.post(
        f"{MIANZHOU}/{case['id']}/{action}", json=body,
        headers={**(headers or as_("mediator")), "If-Match": f'"{case["version"] if version is None else version}"'},
    )


async def test_a_case_goes_from_registration_to_closed_and_filed(client):
    created = await client.post(MIANZHOU, json=dispute(), headers=as_("community_worker"))
    assert created.status_code == 201, created.text
    case = created.json()
    assert (case["status"], case["version"], created.headers["etag"]) == ("registered", 1, '"1"')
    for action, body in STEPS:
        answer = await act(client, case, action, body)
        assert answer.status_code == 200, (action, answer.text)
        assert answer.json()["version"] == case["version"] + 1
        case = answer.json()
    assert (case["status"], case["outcome"], case["closed"]["archive_no"]) == ("closed", "resolved", "2026-调-001")
    assert case["sessions"][0]["held_at"] == "2026-11-06T14:00:00+08:00" and case["sessions"][0]["on_site"] is True
    read = await client.get(f"{MIANZHOU}/{case['id']}", headers=as_("auditor"))
    assert read.json() == case


async def test_a_retried_registration_with_the_same_idempotency_key_registers_nothing_twice(client):
    headers = {**as_("community_worker"), "Idempotency-Key": "leak-3-401"}
    first = await client.post(MIANZHOU, json=dispute(), headers=headers)
    again = await client.post(MIANZHOU, json=dispute(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = await client.post(MIANZHOU, json=dispute(dispute_cause="噪音"), headers=headers)
    assert other.status_code == 409, other.text


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_an_illegal_transition_is_409_with_the_reason_in_the_callers_language(client, language):
    case = (await client.post(MIANZHOU, json=dispute(), headers=as_("community_worker"))).json()
    answer = await act(client, case, "sessions", STEPS[2][1], headers={**as_("mediator"), "Accept-Language": language})
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["code"] == "illegal_transition"
    assert problem["detail"] == ("须先受理纠纷，再正式调解" if language == "zh" else "a dispute is mediated only after it is accepted")


async def test_a_stale_version_is_412_and_changes_nothing(client):
    case = (await client.post(MIANZHOU, json=dispute(), headers=as_("community_worker"))).json()
    accepted = (await act(client, case, "accept", {"mediators": ["赵德明"]})).json()
    before = await event_count(client)
    stale = await act(client, accepted, "investigations", STEPS[1][1], version=1)
    assert (stale.status_code, stale.json()["code"], stale.headers["etag"]) == (412, "precondition_failed", '"2"')
    unguarded = await client.post(f"{MIANZHOU}/{case['id']}/investigations", json=STEPS[1][1], headers=as_("mediator"))
    assert unguarded.status_code == 428
    assert await event_count(client) == before


async def test_two_mediators_recording_a_session_at_once_one_wins_and_the_other_gets_412(client):
    case = (await client.post(MIANZHOU, json=dispute(), headers=as_("community_worker"))).json()
    for action, body in STEPS[:2]:
        case = (await act(client, case, action, body)).json()
    other_mediator = as_("mediator", username="mediator_2")
    for _ in range(5):  # at once, five times over: never both, never neither
        answers = await asyncio.gather(
            act(client, case, "sessions", STEPS[2][1]), act(client, case, "sessions", STEPS[2][1], headers=other_mediator)
        )
        assert sorted(answer.status_code for answer in answers) == [200, 412], [a.text for a in answers]
        case = next(answer.json() for answer in answers if answer.status_code == 200)
    assert [s["session_no"] for s in case["sessions"]] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_bad_fields_are_each_named_in_the_callers_language_and_nothing_is_written(client, language):
    headers = {**as_("community_worker"), "Accept-Language": language}
    before = await event_count(client)
    bad = {"source": "police", "category": "77", "dispute_cause": "", "parties": [{"side": "a"}, {"side": "c", "name": "张"}]}
    answer = await client.post(MIANZHOU, json=bad, headers=headers)
    assert answer.status_code == 400, answer.text
    errors = {error["field"]: error for error in answer.json()["errors"]}
    assert set(errors) == {"source", "category", "dispute_cause", "parties.0", "parties.1.side"}
    assert ("纠纷缘由" if language == "zh" else "cause of the dispute") in errors["dispute_cause"]["message"]
    assert ("纠纷类型" if language == "zh" else "dispute category") in errors["category"]["message"]
    one_side = dispute(parties=[{"side": "a", "name": "王秀英"}, {"side": "a", "name": "李强"}])
    answer = await client.post(MIANZHOU, json=one_side, headers=headers)
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("parties", "party_sides")]
    case = (await client.post(MIANZHOU, json=dispute(), headers=as_("community_worker"))).json()
    before = await event_count(client)
    bad_accept = await act(client, case, "accept", {"mediators": [], "fee": 100}, headers={**as_("mediator"), "Accept-Language": language})
    assert {e["field"] for e in bad_accept.json()["errors"]} == {"mediators", "fee"}  # mediation is free (art. 4)
    assert await event_count(client) == before


async def test_a_clause_binding_someone_not_party_to_the_case_is_a_bad_field(client):
    case = (await client.post(MIANZHOU, json=dispute(), headers=as_("community_worker"))).json()
    for action, body in STEPS[:3]:
        case = (await act(client, case, action, body)).json()
    body = {**STEPS[3][1], "clauses": [{"party_id": "p5", "obligation": "赔偿", "due_on": "2026-11-20"}]}
    answer = await act(client, case, "agreement", body, headers={**as_("mediator"), "Accept-Language": "en"})
    assert (answer.status_code, answer.json()["code"]) == (400, "validation_failed")
    assert "p5 is not a party of this case" in answer.json()["detail"]


async def test_who_may_do_what_is_checked_again_behind_the_gateway(client):
    case = (await client.post(MIANZHOU, json=dispute(), headers=as_("community_worker"))).json()
    assert (await client.post(MIANZHOU, json=dispute(), headers=as_("mediator"))).status_code == 201
    assert (await client.post(MIANZHOU, json=dispute(), headers=as_("community_head"))).status_code == 201
    before = await event_count(client)
    assert (await client.post(MIANZHOU, json=dispute(), headers=as_("auditor"))).status_code == 403
    assert (await client.post(MIANZHOU, json=dispute(), headers=as_("street_officer", "c-mianzhou", "c-dongjin"))).status_code == 403
    outsider = as_("community_worker", "c-dongjin", username="community_worker_2")
    assert (await client.post(MIANZHOU, json=dispute(), headers=outsider)).status_code == 404
    assert (await act(client, case, "accept", {"mediators": ["周涛"]}, headers=outsider)).status_code == 404
    assert (await client.get(f"{MIANZHOU}/{case['id']}", headers=outsider)).status_code == 404
    assert (await client.post(MIANZHOU, json=dispute())).status_code == 401
    assert await event_count(client) == before
    officer = as_("street_officer", "c-mianzhou", "c-dongjin")
    assert (await client.get(f"{MIANZHOU}/{case['id']}", headers=officer)).status_code == 200
    assert (await client.get(f"/communities/c-dongjin/disputes/{case['id']}", headers=officer)).status_code == 404


async def test_health_ready_metrics_and_schema_answer(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}, ready.text
    sample = 'fivezero_http_requests_total{method="GET",route="/health",service="mediation",status="200"}'
    assert sample in (await client.get("/metrics")).text
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"/communities/{community_id}/disputes", "/communities/{community_id}/disputes/{dispute_id}/follow-ups", "/events"} <= set(paths)


async def test_the_street_centre_is_checked_again_behind_the_gateway(client):
    """Only a street officer of the case's street takes it over; after that only the street acts on it."""
    case = (await client.post(MIANZHOU, json=dispute(), headers=as_("community_worker"))).json()
    for action, body in STEPS[:1] + [("transfer", {"reason": "社区调解未果"})]:
        case = (await act(client, case, action, body)).json()
    before = await event_count(client)
    other_street = as_("street_officer", "c-changhong", username="gongqu_officer")
    assert (await act(client, case, "take-over", {}, headers=other_street)).status_code == 404
    assert (await act(client, case, "take-over", {}, headers=as_("mediator"))).status_code == 403
    assert (await act(client, case, "take-over", {}, headers=as_("auditor"))).status_code == 403
    assert await event_count(client) == before
    officer = as_("street_officer", "c-mianzhou", "c-dongjin", username="street_officer")
    taken = await act(client, case, "take-over", {"remarks": "街道接手"}, headers=officer)
    assert (taken.status_code, taken.json()["handled_by"], taken.json()["taken_over"]["officer"]) == (
        200, "street", "street_officer"), taken.text
    refused = await act(client, taken.json(), "investigations", STEPS[1][1])
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert await event_count(client) == before + 1
