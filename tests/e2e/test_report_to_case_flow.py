"""Issue 4's headline, with the real processes: a resident's report goes in at intake, is triaged
as a dispute, and opens a case in mediation by itself (proactive screening, linked to the
report); the case is accepted, investigated, mediated, agreed, followed up and closed through
the gateway; and the reporter's report then shows its reply, written by intake. The triage
delivered again from intake's stream opens no second case, and the report is replied once."""

import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
import redis as sync_redis
from faststream.redis.parser import BinaryMessageFormatV1

from shared.events import Envelope
from shared.streams import events_stream

pytestmark = pytest.mark.e2e

MIANZHOU = "c-mianzhou"
INVESTIGATION = {"investigated_on": "2026-11-05", "investigators": ["赵德明"], "findings": "401卫生间防水层老化，渗到301"}
SESSION = {"held_at": "2026-11-06T14:00:00+08:00", "place": "幸福楼院门前", "mediators": ["赵德明"],
           "participants": ["王秀英", "张建华"], "account": "双方同意401修复防水", "on_site": True}
# Dated from yesterday, so that no deadline of the agreement (its clause, the art. 33 reminder)
# has passed and mediation's scheduler leaves the case alone while the test acts on it.
REACHED_ON = date.today() - timedelta(days=1)
AGREEMENT = {"form": "written", "reached_on": REACHED_ON.isoformat(), "terms": "401两周内修复防水",
             "clauses": [{"party_id": "p2", "obligation": "修复卫生间防水",
                          "due_on": (REACHED_ON + timedelta(days=14)).isoformat()}]}
# The investigation finds out who the other party is and what kind of dispute it is: the case
# opened from the report named them 待查明 and filed it under 其他纠纷.
NAMED_AFTER_INVESTIGATION = {
    "category": "02",
    "parties": [{"party_id": "p1", "side": "a", "resident_id": "r-wangxiuying", "name": "王秀英"},
                {"party_id": "p2", "side": "b", "name": "张建华", "remarks": "3栋401租户"}],
    "reason": "调查查明对方当事人",
}
FOLLOW_UP = {"visited_on": REACHED_ON.isoformat(), "visited_by": ["赵德明"], "note": "防水已修好", "fulfilled_clauses": [1]}


def eventually(check: Callable[[], object], what: str, timeout: float = 60.0) -> object:
    """The first truthy result of `check`, polled; fails after `timeout` (a bound, not a measure)."""
    give_up = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < give_up, f"never: {what}"
        time.sleep(0.1)
    return result


def case_id_for_report(report_id: str) -> str:
    """As mediation derives it (services.mediation.reactions), restated: the contract under test."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:dispute-from-report:{report_id}"))


def stream(platform, service: str) -> list[tuple[bytes, dict, Envelope]]:
    client = sync_redis.Redis.from_url(platform.platform.env["FIVEZERO_REDIS_URL"])
    try:
        entries = client.xrange(events_stream(service))
    finally:
        client.close()
    return [
        (entry_id, fields, Envelope.model_validate_json(BinaryMessageFormatV1.parse(fields[b"__data__"])[0]))
        for entry_id, fields in entries
    ]


def rewind(platform, service: str, group: str) -> None:
    """The group's place in the stream lost: it reads the whole stream again."""
    client = sync_redis.Redis.from_url(platform.platform.env["FIVEZERO_REDIS_URL"])
    try:
        client.xgroup_setid(events_stream(service), group, "0")
    finally:
        client.close()


def test_a_report_triaged_as_a_dispute_becomes_a_case_whose_closing_replies_to_the_reporter(any_platform):
    platform = any_platform
    worker, mediator = platform.login("community_worker"), platform.login("mediator")
    reports = f"/api/v1/communities/{MIANZHOU}/reports"
    disputes = f"/api/v1/communities/{MIANZHOU}/disputes"

    created = platform.gateway.post(reports, headers=worker, json={
        "channel": "visit", "text": "楼上401卫生间漏水到我家，找他几次都不理",
        "place": {"compound": "幸福楼院", "building": "3栋"}, "reporter": {"resident_id": "r-wangxiuying"},
    })
    assert created.status_code == 201, created.text
    report = created.json()
    triaged = platform.gateway.post(f"{reports}/{report['id']}/triage", json={"category": "dispute"},
                                    headers={**worker, "If-Match": '"1"'})
    assert (triaged.status_code, triaged.json()["routed_to"]) == (200, "mediation"), triaged.text

    case_id = case_id_for_report(report["id"])

    def case_read():
        answer = platform.gateway.get(f"{disputes}/{case_id}", headers=mediator)
        return answer.json() if answer.status_code == 200 else None

    case = eventually(case_read, "the case opened from the report, in the gateway's read model")
    assert (case["source"], case["source_label"], case["report_id"], case["status"]) == (
        "proactive_screening", "主动排查", report["id"], "registered")
    assert case["dispute_cause"] == "楼上401卫生间漏水到我家，找他几次都不理"
    assert case["place"] == {"compound": "幸福楼院", "building": "3栋"}
    assert case["parties"][0]["resident_id"] == "r-wangxiuying"

    # Mediation's consumer group set back to the stream's start: every intake event, the
    # triage among them, is delivered to the reaction again. Still one case.
    rewind(platform, "intake", "mediation.reactions")

    steps = [
        ("mediator", "accept", {"mediators": ["赵德明"]}, "accepted"),
        ("mediator", "investigations", INVESTIGATION, "investigating"),
        ("mediator", "amend", NAMED_AFTER_INVESTIGATION, "investigating"),
        ("mediator", "sessions", SESSION, "in_mediation"),
        ("mediator", "agreement", AGREEMENT, "agreed"),
        ("community_worker", "follow-ups", FOLLOW_UP, "agreed"),
        ("community_head", "close", {"archive_no": "2026-调-101"}, "closed"),
    ]
    def on_the_latest_version(user: str, action: str, body: dict):
        """On a platform whose clock another test moved ahead, mediation's worker may record an
        overdue (a new version) at any moment: a 412 is retried on the case as it now stands."""
        latest = platform.gateway.get(f"{disputes}/{case_id}", headers=mediator).json()
        answer = platform.gateway.post(f"{disputes}/{case_id}/{action}", json=body,
                                       headers={**platform.login(user), "If-Match": f'"{latest["version"]}"'})
        return answer.status_code != 412 and answer

    for user, action, body, status in steps:
        answer = eventually(lambda: on_the_latest_version(user, action, body), f"{action} on the latest version")
        assert (answer.status_code, answer.json().get("status")) == (200, status), (action, answer.text)
        case = answer.json()
    assert case["outcome"] == "resolved"
    assert (case["category_label"], case["parties"][1]["name"]) == ("邻里纠纷", "张建华")

    def replied():
        answer = platform.gateway.get(f"{reports}/{report['id']}", headers=worker).json()
        return answer if answer["status"] == "replied" else None

    try:
        report = eventually(replied, "the report replied after its case closed")
    except AssertionError as error:  # the reactions' own words, for whoever reads the failure
        said = [line for line in platform.log_path.read_text(encoding="utf-8").splitlines()
                if "reaction" in line or "WARNING" in line or "ERROR" in line]
        raise AssertionError("\n".join([str(error), *said[-40:]])) from None
    assert "达成调解协议" in report["reply"] and "2026-调-101" in report["reply"]
    assert report["deadlines"]["reply"]["overdue"] is False

    # Once each: one case registered, one reply; the triage delivered again changed nothing.
    time.sleep(1.0)
    registered = [e for _, _, e in stream(platform, "mediation")
                  if e.type == "mediation.DisputeRegistered" and e.data["dispute_id"] == case_id]
    replies = [e for _, _, e in stream(platform, "intake")
               if e.type == "intake.ReportReplied" and e.data["report_id"] == report["id"]]
    assert len(registered) == 1 and len(replies) == 1
    assert registered[0].actor == "service:mediation" and replies[0].actor == "service:intake"
    # The chain of causes: the reply was caused by the closing, the case by the triage.
    closed = [e for _, _, e in stream(platform, "mediation")
              if e.type == "mediation.DisputeClosed" and e.data["dispute_id"] == case_id]
    assert replies[0].causation_id == str(closed[0].event_id)
    assert registered[0].causation_id == str(next(
        e.event_id for _, _, e in stream(platform, "intake")
        if e.type == "intake.ReportTriaged" and e.data["report_id"] == report["id"]))
    final = platform.gateway.get(f"{reports}/{report['id']}", headers=worker)
    assert (final.json()["status"], final.headers["etag"]) == ("replied", '"3"')
    closing = platform.gateway.post(f"{reports}/{report['id']}/close", json={"remarks": "调解结案"},
                                    headers={**worker, "If-Match": '"3"'})
    assert (closing.status_code, closing.json()["status"]) == (200, "closed"), closing.text
