"""Logging in, then registering, reading, finding and changing households through the gateway.

Every request goes over HTTP to the real processes: the gateway forwards writes to intake,
intake's relay publishes the events, and the gateway's worker builds the read model that
every GET answers from.
"""

import asyncio

import httpx
import pytest

pytestmark = pytest.mark.e2e

MIANZHOU = "/api/v1/communities/c-mianzhou/households"


def test_a_household_registered_through_the_gateway_is_read_back_and_changed_with_if_match(any_platform, survey):
    gateway, worker = any_platform.gateway, any_platform.login("community_worker")

    registered = gateway.post(MIANZHOU, json=survey(), headers=worker)
    assert registered.status_code == 201, registered.text
    household = registered.json()
    assert registered.headers["etag"] == '"1"'
    assert registered.headers["location"] == f"{MIANZHOU}/{household['id']}"
    assert household["head"]["name"] == "王秀英"
    assert household["head"]["phone"] == "138****5678"  # a write's answer shows personal data masked
    assert isinstance(household["possible_duplicates"], list)
    assert household["address"] == {"compound": "幸福楼院", "building": "3栋", "unit": "2", "room": "301"}
    assert (household["version"], household["household_size"]) == (1, 2)

    # The very next GET is served by the read model, and already sees the household.
    read = gateway.get(registered.headers["location"], headers=worker)
    assert read.status_code == 200, read.text
    assert read.json()["head"]["phone"] == "13812345678"  # whole to a worker; spaces dropped
    assert read.json()["head"]["resident_id"] == household["head"]["resident_id"]
    assert {k: v for k, v in read.json().items() if k not in ("head", "members")} == {
        k: v for k, v in household.items() if k not in ("head", "members", "possible_duplicates")
    }
    assert read.headers["etag"] == '"1"'

    changed = gateway.patch(
        registered.headers["location"], json={"needs": "助浴、助餐"}, headers={**worker, "If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    assert changed.headers["etag"] == '"2"'
    assert changed.json()["needs"] == "助浴、助餐"
    assert changed.json()["head"] == household["head"]  # a PATCH changes only what it sends

    stale = gateway.patch(registered.headers["location"], json={"needs": "助洁"}, headers={**worker, "If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    assert stale.headers["etag"] == '"2"'  # the version to reload

    unguarded = gateway.patch(registered.headers["location"], json={"needs": "助洁"}, headers=worker)
    assert unguarded.status_code == 428, unguarded.text

    final = gateway.get(registered.headers["location"], headers=worker).json()
    assert (final["version"], final["needs"]) == (2, "助浴、助餐")
    listed = gateway.get(MIANZHOU, params={"q": "王秀英", "limit": 200}, headers=worker).json()["items"]
    assert household["id"] in [item["id"] for item in listed]
    [mine] = [item for item in listed if item["id"] == household["id"]]
    for typed in ("wxy", "WangXiuying", "liming", "王秀"):  # initials, full pinyin (any case), a member, characters
        found = gateway.get(MIANZHOU, params={"q": typed, "limit": 200}, headers=worker).json()["items"]
        assert household["id"] in [item["id"] for item in found], typed
    assert mine["head"]["phone"] == "138****5678"  # lists are masked, whoever asks


def test_a_person_entered_again_is_shown_as_a_possible_duplicate_at_entry(platform, survey):
    first = platform.register("community_worker", survey("欧阳秋菊", "幸福楼院", "5栋"))
    assert first.status_code == 201, first.text

    again = platform.register("community_worker", survey("欧阳秋菊", "和平楼院", "1栋"))

    assert again.status_code == 201, again.text
    [duplicate] = [d for d in again.json()["possible_duplicates"] if d["person"] == "head"]
    assert duplicate["resident_id"] == first.json()["head"]["resident_id"]
    assert (duplicate["name"], duplicate["match"]) == ("欧阳秋菊", "name_and_birth_month")


def test_login_gives_a_bearer_token_and_me_tells_who_the_caller_is_and_what_it_sees(platform):
    token = platform.gateway.post(
        "/api/v1/auth/token", json={"username": "community_worker", "password": "demo12345"}
    )
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "bearer"
    assert token.json()["expires_in"] > 0

    me = platform.gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["user"]["username"] == "community_worker"
    assert me.json()["roles"] == ["community_worker"]
    assert [c["id"] for c in me.json()["scope"]["communities"]] == ["c-mianzhou"]

    officer = platform.gateway.get("/api/v1/me", headers=platform.login("street_officer")).json()
    assert [s["id"] for s in officer["scope"]["streets"]] == ["s-chengjiao"]
    assert sorted(c["id"] for c in officer["scope"]["communities"]) == ["c-dongjin", "c-mianzhou"]


@pytest.mark.parametrize(
    "path", ["/api/v1/me", MIANZHOU, f"{MIANZHOU}/any-id"], ids=["me", "household-list", "one-household"]
)
def test_a_request_without_a_token_is_401(platform, problem, path):
    answer = platform.gateway.get(path)
    problem(answer, 401, "unauthenticated")
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_wrong_password_or_a_forged_token_is_401(platform, problem):
    wrong = platform.gateway.post("/api/v1/auth/token", json={"username": "community_worker", "password": "12345678"})
    problem(wrong, 401, "unauthenticated")
    forged = platform.gateway.get("/api/v1/me", headers={"Authorization": "Bearer not.a.token"})
    problem(forged, 401, "unauthenticated")


def test_the_list_pages_with_a_cursor_newest_first_and_finds_by_name_compound_and_building(platform, login, survey):
    worker = login("community_worker")
    # 红星楼院 belongs to this test alone, so its counts are exact.
    written = [
        platform.register("community_worker", survey("陈桂芳", "红星楼院", "1栋", members=[])),
        platform.register("community_worker", survey("周建军", "红星楼院", "1栋", members=[])),
        platform.register("community_worker", survey("欧阳春花", "红星楼院", "2栋", members=[
            {"name": "欧阳小雨", "sex": "2", "birth_month": "2012-09", "ethnicity": "01", "relation": "30"},
        ])),
    ]
    assert [answer.status_code for answer in written] == [201, 201, 201]
    newest_first = [answer.json()["id"] for answer in reversed(written)]

    first = platform.gateway.get(MIANZHOU, params={"compound": "红星楼院", "limit": 2}, headers=worker).json()
    assert [item["id"] for item in first["items"]] == newest_first[:2]
    assert first["next_cursor"]
    second = platform.gateway.get(
        MIANZHOU, params={"compound": "红星楼院", "limit": 2, "cursor": first["next_cursor"]}, headers=worker
    ).json()
    assert [item["id"] for item in second["items"]] == newest_first[2:]
    assert second["next_cursor"] is None

    building_1 = platform.gateway.get(MIANZHOU, params={"compound": "红星楼院", "building": "1栋"}, headers=worker)
    assert sorted(item["head"]["name"] for item in building_1.json()["items"]) == ["周建军", "陈桂芳"]

    by_head = platform.gateway.get(MIANZHOU, params={"q": "春花"}, headers=worker).json()["items"]
    by_member = platform.gateway.get(MIANZHOU, params={"q": "欧阳小雨"}, headers=worker).json()["items"]
    assert [item["head"]["name"] for item in by_head] == ["欧阳春花"]
    assert [item["head"]["name"] for item in by_member] == ["欧阳春花"]
    nobody = platform.gateway.get(MIANZHOU, params={"q": "诸葛无名"}, headers=worker).json()
    assert nobody == {"items": [], "next_cursor": None}


def test_the_list_masks_phone_numbers_and_one_household_shows_them_whole(platform, login, survey):
    worker = login("community_worker")
    household = platform.register("community_worker", survey("马淑珍", "园艺山楼院", "5栋")).json()

    [listed] = platform.gateway.get(MIANZHOU, params={"q": "马淑珍"}, headers=worker).json()["items"]
    assert listed["head"]["phone"] == "138****5678"
    whole = platform.gateway.get(f"{MIANZHOU}/{household['id']}", headers=worker).json()
    assert whole["head"]["phone"] == "13812345678"


def test_a_retried_post_with_the_same_idempotency_key_gives_the_same_household_not_a_second_one(platform, survey):
    form = survey("黄玉兰", "和平楼院", "2栋")
    before = platform.intake_event_count()

    first = platform.register("community_worker", form, **{"Idempotency-Key": "survey-2024-hpl-2-001"})
    retried = platform.register("community_worker", form, **{"Idempotency-Key": "survey-2024-hpl-2-001"})

    assert (first.status_code, retried.status_code) == (201, 200), retried.text
    assert retried.json()["id"] == first.json()["id"]
    assert retried.headers["location"] == first.headers["location"]
    assert platform.intake_event_count() == before + 3  # the household, and a resident for each of its 2 people
    found = platform.gateway.get(MIANZHOU, params={"q": "黄玉兰"}, headers=platform.login("community_worker"))
    assert len(found.json()["items"]) == 1


def test_the_same_idempotency_key_with_a_different_body_is_409_and_writes_nothing(platform, problem, survey):
    key = {"Idempotency-Key": "survey-2024-hpl-2-002"}
    first = platform.register("community_worker", survey("吴秀珍", "和平楼院", "2栋"), **key)
    assert first.status_code == 201, first.text

    with platform.nothing_written():
        reused = platform.register("community_worker", survey("吴秀珍", "和平楼院", "4栋"), **key)
    problem(reused, 409, "version_conflict")


def test_a_post_retried_after_a_colleague_changed_the_household_still_gives_that_household(platform, survey):
    """A lost answer is retried later; by then someone may have edited the record. The retry is
    still the same request, so it must not be refused as a different one."""
    form, key = survey("郑凤英", "和平楼院", "3栋"), {"Idempotency-Key": "survey-2024-hpl-3-001"}
    first = platform.register("community_worker", form, **key)
    assert first.status_code == 201, first.text
    edited = platform.gateway.patch(
        first.headers["location"], json={"needs": "助浴"},
        headers={**platform.login("community_head"), "If-Match": '"1"'},
    )
    assert edited.status_code == 200, edited.text

    retried = platform.register("community_worker", form, **key)

    assert retried.status_code == 200, retried.text
    assert retried.json()["id"] == first.json()["id"]
    assert retried.json()["version"] == 2  # the household as it now stands


async def test_two_simultaneous_retries_of_one_post_make_one_household(platform, survey):
    form, before = survey("孙桂英", "和平楼院", "4栋"), platform.intake_event_count()
    headers = {**platform.login("community_worker"), "Idempotency-Key": "survey-2024-hpl-4-001"}

    async with httpx.AsyncClient(base_url=str(platform.gateway.base_url), timeout=20, trust_env=False) as client:
        answers = await asyncio.gather(*(client.post(MIANZHOU, json=form, headers=headers) for _ in range(2)))

    assert sorted(answer.status_code for answer in answers) == [200, 201], [a.text for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert platform.intake_event_count() == before + 3  # the household, and a resident for each of its 2 people


async def test_two_editors_holding_the_same_version_one_wins_and_the_other_gets_412(platform, survey):
    location = platform.register("community_worker", survey("钱玉珍", "幸福楼院", "6栋")).headers["location"]
    worker = {**platform.login("community_worker"), "If-Match": '"1"'}
    head = {**platform.login("community_head"), "If-Match": '"1"'}

    async with httpx.AsyncClient(base_url=str(platform.gateway.base_url), timeout=20, trust_env=False) as client:
        answers = await asyncio.gather(
            client.patch(location, json={"needs": "助餐"}, headers=worker),
            client.patch(location, json={"can_offer": "理发"}, headers=head),
        )

    assert sorted(answer.status_code for answer in answers) == [200, 412], [a.text for a in answers]
    now = platform.gateway.get(location, headers=platform.login("community_worker")).json()
    assert now["version"] == 2
    assert (now["needs"], now["can_offer"]) in {("助餐", None), (None, "理发")}  # the winner's change, alone
