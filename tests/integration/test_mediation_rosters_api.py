"""Mediation's rosters on a real store (SQLite) and Redis: mediators and units registered,
changed and removed over HTTP, phones sealed in the events, If-Match, bad fields named in
Chinese and English with nothing written, scope checked again behind the gateway, and a
session naming roster entries by id (checked against the roster) or by name."""

import pytest
from litestar.testing import AsyncTestClient

from services.mediation.app import create_api
from services.mediation.settings import MediationSettings
from shared.identity import IDENTITY_HEADER, service_identity, sign_identity
from tests.integration.test_mediation_api import SECRET, STEPS, as_, dispute, event_count

MIANZHOU = "/communities/c-mianzhou"
ZHAO = {"name": "赵德明", "sex": "1", "work_unit": "绵州社区居委会", "phone": "13812345678", "remarks": "退休法官"}
PROPERTY = {"unit_name": "幸福物业公司", "person_responsible": "钱卫东", "phone": "0816-2345678"}


@pytest.fixture
async def client(tmp_path, test_redis_url, redis):
    settings = MediationSettings(
        secret=SECRET, redis_url=test_redis_url, own_database_url=f"sqlite+aiosqlite:///{tmp_path}/mediation.db"
    )
    async with AsyncTestClient(app=create_api(settings)) as client:
        yield client


def gateway() -> dict[str, str]:
    return {IDENTITY_HEADER: sign_identity(service_identity("gateway"), SECRET)}


async def events(client) -> list[dict]:
    answer = await client.get("/events", params={"limit": 1000}, headers=gateway())
    return [item["envelope"] for item in answer.json()["events"]]


@pytest.mark.parametrize(("path", "body"), [("mediators", ZHAO), ("mediation-units", PROPERTY)])
async def test_an_entry_is_registered_changed_and_removed_with_its_phone_sealed(client, path, body):
    created = await client.post(f"{MIANZHOU}/{path}", json=body, headers=as_("community_worker"))
    assert created.status_code == 201, created.text
    entry = created.json()
    assert (entry["version"], entry["removed"], created.headers["etag"]) == (1, None, '"1"')
    assert entry["phone"].startswith("fz1.") and "***" in entry["phone_masked"]
    stored = (await events(client))[-1]
    assert body["phone"].replace("-", "") not in str(stored) and body["phone"] not in str(stored)
    opened = await client.post("/sealed/open", json={"items": [{"sealed": entry["phone"], "field": "phone"}]}, headers=gateway())
    assert opened.json()["values"][0].replace("-", "") == body["phone"].replace("-", "")
    changed_body = {**body, "phone": None, "remarks": "换届"}
    changed = await client.put(f"{MIANZHOU}/{path}/{entry['id']}", json=changed_body,
                               headers={**as_("mediator"), "If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["phone"], changed.json()["remarks"]) == (2, None, "换届")
    removed = await client.post(f"{MIANZHOU}/{path}/{entry['id']}/remove", json={"reason": "调离"},
                                headers={**as_("community_head"), "If-Match": '"2"'})
    assert removed.status_code == 200, removed.text
    assert removed.json()["removed"]["reason"] == "调离"
    again = await client.put(f"{MIANZHOU}/{path}/{entry['id']}", json=body, headers={**as_("mediator"), "If-Match": '"3"'})
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    read = await client.get(f"{MIANZHOU}/{path}/{entry['id']}", headers=as_("auditor"))
    assert read.json()["version"] == 3


async def test_a_stale_or_missing_version_changes_nothing(client):
    entry = (await client.post(f"{MIANZHOU}/mediators", json=ZHAO, headers=as_("community_worker"))).json()
    before = await event_count(client)
    stale = await client.put(f"{MIANZHOU}/mediators/{entry['id']}", json=ZHAO, headers={**as_("mediator"), "If-Match": '"7"'})
    assert (stale.status_code, stale.json()["code"], stale.headers["etag"]) == (412, "precondition_failed", '"1"')
    missing = await client.post(f"{MIANZHOU}/mediators/{entry['id']}/remove", json={}, headers=as_("mediator"))
    assert missing.status_code == 428
    assert await event_count(client) == before


async def test_a_retried_registration_with_the_same_idempotency_key_registers_once(client):
    headers = {**as_("community_worker"), "Idempotency-Key": "roster-zhao-1"}
    first = await client.post(f"{MIANZHOU}/mediators", json=ZHAO, headers=headers)
    second = await client.post(f"{MIANZHOU}/mediators", json=ZHAO, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert await event_count(client) == 1


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_bad_fields_are_each_named_in_the_callers_language_and_nothing_is_written(client, language):
    headers = {**as_("community_worker"), "Accept-Language": language}
    bad = await client.post(f"{MIANZHOU}/mediators", json={"name": "", "sex": "7", "phone": "12345", "religion": "x"},
                            headers=headers)
    assert bad.status_code == 400, bad.text
    errors = {error["field"]: error for error in bad.json()["errors"]}
    assert set(errors) == {"name", "sex", "phone", "religion"}
    assert ("联系电话" if language == "zh" else "phone") in errors["phone"]["message"]
    bad_unit = await client.post(f"{MIANZHOU}/mediation-units", json={"unit_name": "", "phone": "1"}, headers=headers)
    errors = {error["field"]: error for error in bad_unit.json()["errors"]}
    assert set(errors) == {"unit_name", "person_responsible", "phone"}
    assert ("参与调解责任人" if language == "zh" else "person responsible") in errors["person_responsible"]["message"]
    assert await event_count(client) == 0


async def test_who_may_do_what_is_checked_again_behind_the_gateway(client):
    entry = (await client.post(f"{MIANZHOU}/mediators", json=ZHAO, headers=as_("community_worker"))).json()
    before = await event_count(client)
    assert (await client.post(f"{MIANZHOU}/mediators", json=ZHAO, headers=as_("auditor"))).status_code == 403
    outsider = as_("community_worker", "c-dongjin", username="community_worker_2")
    assert (await client.post(f"{MIANZHOU}/mediation-units", json=PROPERTY, headers=outsider)).status_code == 404
    assert (await client.get(f"{MIANZHOU}/mediators/{entry['id']}", headers=outsider)).status_code == 404
    assert (await client.get(f"/communities/c-dongjin/mediators/{entry['id']}",
                             headers=as_("community_worker", "c-dongjin"))).status_code == 404
    assert (await client.post("/sealed/open", json={"items": []}, headers=as_("community_worker"))).status_code == 403
    assert await event_count(client) == before


async def test_a_session_names_roster_entries_by_id_and_only_those_of_the_community(client):
    zhao = (await client.post(f"{MIANZHOU}/mediators", json=ZHAO, headers=as_("community_worker"))).json()
    unit = (await client.post(f"{MIANZHOU}/mediation-units", json=PROPERTY, headers=as_("community_worker"))).json()
    elsewhere = (await client.post("/communities/c-dongjin/mediators", json=ZHAO,
                                   headers=as_("community_worker", "c-dongjin"))).json()
    case = (await client.post(f"{MIANZHOU}/disputes", json=dispute(), headers=as_("community_worker"))).json()
    for action, body in STEPS[:2]:
        case = (await client.post(f"{MIANZHOU}/disputes/{case['id']}/{action}", json=body,
                                  headers={**as_("mediator"), "If-Match": f'"{case["version"]}"'})).json()
    before = await event_count(client)
    for bad_ids in ({"mediator_ids": [elsewhere["id"]]}, {"unit_ids": ["no-such-unit"]}):
        answer = await client.post(f"{MIANZHOU}/disputes/{case['id']}/sessions", json={**STEPS[2][1], **bad_ids},
                                   headers={**as_("mediator"), "If-Match": f'"{case["version"]}"', "Accept-Language": "en"})
        assert (answer.status_code, answer.json()["code"]) == (409, "illegal_transition"), answer.text
        assert "not on this community's roster" in answer.json()["detail"]
    assert await event_count(client) == before
    body = {**STEPS[2][1], "mediator_ids": [zhao["id"]], "unit_ids": [unit["id"]]}
    held = await client.post(f"{MIANZHOU}/disputes/{case['id']}/sessions", json=body,
                             headers={**as_("mediator"), "If-Match": f'"{case["version"]}"'})
    assert held.status_code == 200, held.text
    session = held.json()["sessions"][-1]
    assert (session["mediators"], session["mediator_ids"], session["unit_ids"]) == (["赵德明"], [zhao["id"]], [unit["id"]])
