"""Who may see and change which community's households, decided by the gateway over real HTTP.

Demo district 涪城区: street 城郊街道 (s-chengjiao) has 绵州社区 (c-mianzhou) and 东津社区
(c-dongjin); street 工区街道 has 长虹社区 (c-changhong). Out of scope is 404 for a record
and 403 for a collection; an unknown community is 404 for everyone.
"""

import pytest

pytestmark = pytest.mark.e2e


def path(community: str, household_id: str | None = None) -> str:
    base = f"/api/v1/communities/{community}/households"
    return f"{base}/{household_id}" if household_id else base


@pytest.fixture(scope="module")
def mianzhou_household(platform, survey) -> dict:
    """王秀英's household in 绵州社区, registered by the community's own worker."""
    answer = platform.register("community_worker", survey("王秀英", "幸福楼院", "3栋"))
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def dongjin_household(platform, survey) -> dict:
    """周桂兰's household in 东津社区, registered by that community's worker."""
    answer = platform.register("community_worker_2", survey("周桂兰", "滨江楼院", "2栋"), "c-dongjin")
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_community_worker_2_gets_404_for_a_household_of_another_community(platform, problem, mianzhou_household):
    worker_2 = platform.login("community_worker_2")
    answer = platform.gateway.get(path("c-mianzhou", mianzhou_household["id"]), headers=worker_2)
    problem(answer, 404, "not_found")


def test_community_worker_2_gets_403_for_the_household_list_of_another_community(platform, problem):
    answer = platform.gateway.get(path("c-mianzhou"), headers=platform.login("community_worker_2"))
    problem(answer, 403, "forbidden")


def test_community_worker_2_can_neither_register_nor_change_in_another_community(
    platform, problem, survey, mianzhou_household
):
    worker_2 = platform.login("community_worker_2")
    with platform.nothing_written():
        registered = platform.gateway.post(path("c-mianzhou"), json=survey("冒名户"), headers=worker_2)
        changed = platform.gateway.patch(
            path("c-mianzhou", mianzhou_household["id"]), json={"needs": "冒改"}, headers={**worker_2, "If-Match": '"1"'}
        )
    problem(registered, 403, "forbidden")
    problem(changed, 404, "not_found")  # a record out of scope is not confirmed to exist


def test_a_household_is_found_only_under_its_own_community(platform, problem, dongjin_household):
    """Even the district admin, who sees both, does not find 东津's household under 绵州's path."""
    answer = platform.gateway.get(path("c-mianzhou", dongjin_household["id"]), headers=platform.login("district_admin"))
    problem(answer, 404, "not_found")
    changed = platform.gateway.patch(
        path("c-mianzhou", dongjin_household["id"]), json={"needs": "助餐"},
        headers={**platform.login("community_worker"), "If-Match": '"1"'},
    )
    problem(changed, 404, "not_found")


def test_a_street_officer_sees_both_communities_of_its_street_but_not_another_street(
    platform, problem, mianzhou_household, dongjin_household
):
    officer = platform.login("street_officer")
    assert platform.gateway.get(path("c-mianzhou"), headers=officer).status_code == 200
    assert platform.gateway.get(path("c-dongjin"), headers=officer).status_code == 200
    assert platform.gateway.get(path("c-mianzhou", mianzhou_household["id"]), headers=officer).status_code == 200
    assert platform.gateway.get(path("c-dongjin", dongjin_household["id"]), headers=officer).status_code == 200
    problem(platform.gateway.get(path("c-changhong"), headers=officer), 403, "forbidden")
    problem(platform.gateway.get(path("c-changhong", "any-household"), headers=officer), 404, "not_found")


def test_the_district_admin_sees_every_community(platform, mianzhou_household, dongjin_household):
    admin = platform.login("district_admin")
    for community in ("c-mianzhou", "c-dongjin", "c-changhong"):
        assert platform.gateway.get(path(community), headers=admin).status_code == 200, community
    ids = {item["id"] for item in platform.gateway.get(path("c-dongjin"), headers=admin).json()["items"]}
    assert dongjin_household["id"] in ids
    assert platform.gateway.get(path("c-mianzhou", mianzhou_household["id"]), headers=admin).status_code == 200


@pytest.mark.parametrize("username", ["street_officer", "district_admin"])
def test_street_and_district_staff_oversee_but_do_not_keep_a_communitys_books(
    platform, problem, survey, mianzhou_household, username
):
    staff = platform.login(username)
    with platform.nothing_written():
        registered = platform.gateway.post(path("c-mianzhou"), json=survey("越权户"), headers=staff)
        changed = platform.gateway.patch(
            path("c-mianzhou", mianzhou_household["id"]), json={"needs": "越权"}, headers={**staff, "If-Match": '"1"'}
        )
    problem(registered, 403, "forbidden")
    problem(changed, 403, "forbidden")


def test_the_auditor_can_read_but_cannot_register_or_change(platform, problem, survey, mianzhou_household):
    auditor = platform.login("auditor")
    assert platform.gateway.get(path("c-mianzhou"), headers=auditor).status_code == 200
    assert platform.gateway.get(path("c-mianzhou", mianzhou_household["id"]), headers=auditor).status_code == 200
    with platform.nothing_written():
        registered = platform.gateway.post(path("c-mianzhou"), json=survey("审计户"), headers=auditor)
        changed = platform.gateway.patch(
            path("c-mianzhou", mianzhou_household["id"]), json={"needs": "审计"},
            headers={**auditor, "If-Match": f'"{mianzhou_household["version"]}"'},
        )
    problem(registered, 403, "forbidden")
    problem(changed, 403, "forbidden")


def test_the_mediator_can_read_its_communitys_households_but_not_keep_them(
    platform, problem, survey, mianzhou_household
):
    """Decided: a mediator reads the household survey (who lives where, who to call) for its
    disputes, but registering households is the community workers' job."""
    mediator = platform.login("mediator")
    assert platform.gateway.get(path("c-mianzhou"), headers=mediator).status_code == 200
    assert platform.gateway.get(path("c-mianzhou", mianzhou_household["id"]), headers=mediator).status_code == 200
    problem(platform.gateway.get(path("c-dongjin"), headers=mediator), 403, "forbidden")
    with platform.nothing_written():
        registered = platform.gateway.post(path("c-mianzhou"), json=survey("调解户"), headers=mediator)
    problem(registered, 403, "forbidden")


def test_the_community_head_may_register_and_change_its_communitys_households(platform, survey):
    head = platform.login("community_head")
    registered = platform.gateway.post(path("c-mianzhou"), json=survey("冯淑华", "红星楼院", "3栋"), headers=head)
    assert registered.status_code == 201, registered.text
    changed = platform.gateway.patch(
        registered.headers["location"], json={"can_offer": "义务理发"}, headers={**head, "If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text


@pytest.mark.parametrize("username", ["district_admin", "community_worker"])
def test_an_unknown_community_is_404_for_everyone(platform, problem, survey, username):
    caller = platform.login(username)
    with platform.nothing_written():
        answers = [
            platform.gateway.get(path("c-nowhere"), headers=caller),
            platform.gateway.get(path("c-nowhere", "any-household"), headers=caller),
            platform.gateway.post(path("c-nowhere"), json=survey(), headers=caller),
            platform.gateway.patch(
                path("c-nowhere", "any-household"), json={"needs": "助餐"}, headers={**caller, "If-Match": '"1"'}
            ),
        ]
    for answer in answers:
        problem(answer, 404, "not_found")
