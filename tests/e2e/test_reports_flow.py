"""Sentiment reports through the gateway, with the real processes: report → triage (routed, on
intake's Redis stream) → reply → close; deadlines missed and met late; duplicate suggestions;
bad input in Chinese and English; and who may see and do what."""

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis as sync_redis
from faststream.redis.parser import BinaryMessageFormatV1

from shared.events import Envelope
from shared.streams import events_stream

pytestmark = pytest.mark.e2e


def reports(community: str = "c-mianzhou", *parts: str) -> str:
    return "/".join([f"/api/v1/communities/{community}/reports", *parts])


def leak(compound: str = "幸福楼院", text: str = "楼上漏水，邻居不理", **fields) -> dict:
    """王秀英 of 幸福楼院 3栋 reports a leak in the residents' QQ group."""
    return {
        "channel": "qq_group",
        "text": text,
        "place": {"compound": compound, "building": "3栋"},
        "reporter": {"name": "王秀英", "phone": "138 1234 5678"},
        **fields,
    }


def eventually(check: Callable[[], object], timeout: float = 30.0) -> object:
    """The first truthy result of `check`, polled; fails after `timeout` (a bound, not a measure)."""
    give_up = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < give_up, "the platform never got there"
        time.sleep(0.1)
    return result


def stream_events(platform, event_type: str) -> list[Envelope]:
    client = sync_redis.Redis.from_url(platform.platform.env["FIVEZERO_REDIS_URL"])
    try:
        entries = client.xrange(events_stream("intake"))
    finally:
        client.close()
    envelopes = [Envelope.model_validate_json(BinaryMessageFormatV1.parse(f[b"__data__"])[0]) for _, f in entries]
    return [envelope for envelope in envelopes if envelope.type == event_type]


def move_clock(platform, hours: float) -> None:
    """Moves every process's clock ahead (the offset file the demo-mode processes read)."""
    offset_file = Path(platform.platform.env["FIVEZERO_CLOCK_OFFSET_FILE"])
    current = float(offset_file.read_text() or 0) if offset_file.exists() else 0.0
    offset_file.write_text(str(current + hours * 3600))


def act(platform, user: str, report: dict, action: str, body: dict, version=None):
    headers = {**platform.login(user), "If-Match": f'"{version or report["version"]}"'}
    return platform.gateway.post(reports(report["community_id"], report["id"], action), json=body, headers=headers)


def test_a_report_is_triaged_routed_to_mediation_replied_and_closed(any_platform, problem):
    platform, worker = any_platform, any_platform.login("community_worker")
    created = platform.gateway.post(reports(), json=leak(), headers=worker)
    assert created.status_code == 201, created.text
    report = created.json()
    assert created.headers["etag"] == '"1"'
    assert (report["status"], report["channel_label"], report["version"]) == ("reported", "居民QQ群", 1)
    assert report["reporter"] == {"kind": "person", "resident_id": None, "name": "王**", "phone": "138****5678"}

    problem(act(platform, "community_worker", report, "reply", {"reply": "已处理"}), 409, "illegal_transition")
    unguarded = platform.gateway.post(reports("c-mianzhou", report["id"], "triage"), json={"category": "dispute"}, headers=worker)
    problem(unguarded, 428, "precondition_required")

    triaged = act(platform, "community_worker", report, "triage", {"category": "dispute", "remarks": "邻里漏水纠纷"})
    assert triaged.status_code == 200, triaged.text
    assert (triaged.json()["routed_to"], triaged.json()["version"], triaged.headers["etag"]) == ("mediation", 2, '"2"')
    routed = eventually(lambda: [e for e in stream_events(platform, "intake.ReportTriaged") if e.data["report_id"] == report["id"]])
    assert routed[0].data["routed_to"] == "mediation" and routed[0].data["category"] == "dispute"
    problem(act(platform, "community_worker", report, "triage", {"category": "other"}, 2), 409, "illegal_transition")
    problem(act(platform, "community_worker", report, "triage", {"category": "other"}, 1), 409, "illegal_transition")

    stale = act(platform, "community_worker", report, "reply", {"reply": "已转调解室"}, 1)
    problem(stale, 412, "precondition_failed")
    replied = act(platform, "community_worker", report, "reply", {"reply": "已转调解室，明天上门"}, 2)
    assert (replied.status_code, replied.json()["status"]) == (200, "replied"), replied.text
    closed = act(platform, "community_worker", report, "close", {"remarks": "双方已达成协议"}, 3)
    assert (closed.status_code, closed.json()["status"], closed.json()["version"]) == (200, "closed", 4), closed.text
    refused = act(platform, "community_worker", report, "reply", {"reply": "再说一次"}, 4)
    assert "closed" in problem(refused, 409, "illegal_transition")["detail"] or refused.json()["detail"]

    read = platform.gateway.get(reports("c-mianzhou", report["id"]), headers=worker)
    assert (read.json()["status"], read.headers["etag"]) == ("closed", '"4"')
    listed = platform.gateway.get(reports(), params={"status": "closed", "category": "dispute", "limit": 200}, headers=worker)
    assert report["id"] in [item["id"] for item in listed.json()["items"]]
    whole = platform.gateway.get(reports("c-mianzhou", report["id"], "reporter"), headers=worker)
    assert whole.json() == {"kind": "person", "resident_id": None, "name": "王秀英", "phone": "13812345678"}


def test_a_missed_triage_deadline_shows_overdue_and_a_late_triage_resolves_it(platform):
    worker = platform.login("community_worker")
    report = platform.gateway.post(reports(), json=leak(text="单元门禁坏了三天"), headers=worker).json()
    assert report["overdue"] is False

    move_clock(platform, 25)
    shown = eventually(lambda: (r := platform.gateway.get(reports("c-mianzhou", report["id"]), headers=worker).json())["overdue"] and r)
    assert shown["deadlines"]["triage"]["overdue"] and not shown["deadlines"]["reply"]["overdue"]
    overdue = platform.gateway.get(reports(), params={"overdue": "true", "limit": 200}, headers=worker).json()["items"]
    assert report["id"] in [item["id"] for item in overdue]

    triaged = act(platform, "community_worker", shown, "triage", {"category": "service_need"})
    assert triaged.status_code == 200, triaged.text
    assert triaged.json()["routed_to"] == "servicedesk"
    assert triaged.json()["deadlines"]["triage"] == {**shown["deadlines"]["triage"], "overdue": False, "met_late": True}
    assert triaged.json()["overdue"] is False


def test_a_similar_report_from_the_same_compound_is_suggested_and_linked_as_a_duplicate(platform):
    worker = platform.login("community_worker")
    first = platform.gateway.post(reports(), json=leak("红旗楼院", "楼上漏水，邻居不理"), headers=worker).json()
    second = platform.gateway.post(reports(), json=leak("红旗楼院", "3栋楼上漏水好几天了，邻居不管"), headers=worker).json()
    platform.gateway.post(reports(), json=leak("红旗楼院", "路灯坏了，晚上看不见"), headers=worker)
    platform.gateway.post(reports(), json=leak("和平楼院", "楼上漏水，邻居不理"), headers=worker)

    suggested = platform.gateway.get(reports("c-mianzhou", second["id"], "possible-duplicates"), headers=worker)
    assert suggested.status_code == 200, suggested.text
    assert [(item["id"], item["similarity"] > 0.2) for item in suggested.json()["items"]] == [(first["id"], True)]

    linked = act(platform, "community_worker", second, "links", {"report_id": first["id"]})
    assert (linked.status_code, linked.json()["duplicate_of"]) == (200, first["id"]), linked.text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_bad_report_fields_are_named_in_the_callers_language_and_nothing_is_written(platform, problem, language):
    headers = {**platform.login("community_worker"), "Accept-Language": language}
    before = platform.intake_event_count()
    bad = {"channel": "wechat", "text": "", "place": {"compound": "幸福楼院"}, "reporter": {"name": "王秀英"}}
    answer = platform.gateway.post(reports(), json=bad, headers=headers)
    found = problem(answer, 400, "validation_failed", language)
    by_field = {error["field"]: error for error in found["errors"]}
    assert set(by_field) == {"channel", "text", "reporter"}
    assert ("反映人" if language == "zh" else "reporter") in by_field["reporter"]["message"]
    assert ("反映渠道" if language == "zh" else "channel") in by_field["channel"]["message"]
    bad_category = platform.gateway.post(
        reports("c-mianzhou", "any-report", "triage"), json={"category": "belief"}, headers={**headers, "If-Match": '"1"'}
    )
    assert problem(bad_category, 400, "validation_failed", language)["errors"][0]["field"] == "category"
    assert platform.intake_event_count() == before


@pytest.fixture(scope="module")
def mianzhou_report(platform) -> dict:
    answer = platform.gateway.post(reports(), json=leak(text="楼道堆放杂物"), headers=platform.login("community_worker"))
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def dongjin_report(platform) -> dict:
    body = {"channel": "visit", "text": "独居老人家中燃气报警", "place": {"compound": "滨江楼院"}}
    answer = platform.gateway.post(reports("c-dongjin"), json=body, headers=platform.login("community_worker_2"))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_community_worker_2_gets_404_for_a_report_of_another_community_and_403_for_its_list(
    platform, problem, mianzhou_report
):
    worker_2 = platform.login("community_worker_2")
    with platform.nothing_written():
        problem(platform.gateway.get(reports("c-mianzhou", mianzhou_report["id"]), headers=worker_2), 404, "not_found")
        problem(platform.gateway.get(reports("c-mianzhou", mianzhou_report["id"], "possible-duplicates"), headers=worker_2), 404, "not_found")
        problem(platform.gateway.get(reports("c-mianzhou", mianzhou_report["id"], "reporter"), headers=worker_2), 404, "not_found")
        problem(platform.gateway.get(reports(), headers=worker_2), 403, "forbidden")
        problem(platform.gateway.post(reports(), json=leak(), headers=worker_2), 403, "forbidden")
        for action in ("triage", "reply", "close", "links"):
            problem(act(platform, "community_worker_2", mianzhou_report, action, {"category": "other"}), 404, "not_found")


def test_the_auditor_reads_reports_but_cannot_write_or_see_the_reporter_whole(platform, problem, mianzhou_report):
    auditor = platform.login("auditor")
    assert platform.gateway.get(reports(), headers=auditor).status_code == 200
    assert platform.gateway.get(reports("c-mianzhou", mianzhou_report["id"]), headers=auditor).status_code == 200
    with platform.nothing_written():
        problem(platform.gateway.post(reports(), json=leak(), headers=auditor), 403, "forbidden")
        problem(act(platform, "auditor", mianzhou_report, "triage", {"category": "other"}), 403, "forbidden")
        problem(platform.gateway.get(reports("c-mianzhou", mianzhou_report["id"], "reporter"), headers=auditor), 403, "forbidden")


def test_a_street_officer_sees_the_reports_of_both_communities_of_its_street(
    platform, problem, mianzhou_report, dongjin_report
):
    officer = platform.login("street_officer")
    for community, report in (("c-mianzhou", mianzhou_report), ("c-dongjin", dongjin_report)):
        assert platform.gateway.get(reports(community), headers=officer).status_code == 200
        assert platform.gateway.get(reports(community, report["id"]), headers=officer).status_code == 200
    problem(platform.gateway.get(reports("c-changhong"), headers=officer), 403, "forbidden")
    problem(platform.gateway.get(reports("c-mianzhou", dongjin_report["id"]), headers=officer), 404, "not_found")
