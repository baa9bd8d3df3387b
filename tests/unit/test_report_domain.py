"""Sentiment reports decide and evolve without I/O: the flow, routing, deadlines, and every
illegal transition refused with its reason."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.intake.domain import reports as domain
from shared.contracts.intake_reports import (
    CATEGORIES,
    REPLY_STEP,
    ROUTES,
    TRIAGE_STEP,
    CloseReport,
    LinkReport,
    ReplyToReporter,
    ReporterRecord,
    ReportSentiment,
    TriageReport,
)
from shared.events import Envelope

REPORTED_AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
LEAK = ReportSentiment.model_validate(
    {"channel": "qq_group", "text": "楼上漏水，邻居不理", "place": {"compound": "幸福楼院", "building": "3栋"}}
)
MIANZHOU = "c-mianzhou"


def apply(state, events, community_id=MIANZHOU, at=REPORTED_AT):
    for event in events:
        state = domain.evolve(
            state,
            Envelope(
                event_id=uuid4(), type=event.event_type, stream_id="report-r1", version=state.version + 1,
                position=state.version + 1, community_id=community_id, occurred_at=at, actor="u-worker",
                correlation_id="c", data=event.model_dump(mode="json"),
            ),
        )
    return state


def reported(command=LEAK):
    events = domain.report(
        domain.Report(), "r1", MIANZHOU, command, ReporterRecord(kind="anonymous"),
        REPORTED_AT + timedelta(hours=24), REPORTED_AT + timedelta(days=7),
    )
    return apply(domain.Report(), events)


def triaged(category="dispute"):
    state = reported()
    return apply(state, domain.triage(state, "r1", MIANZHOU, TriageReport(category=category)))


def replied():
    state = triaged()
    return apply(state, domain.reply(state, "r1", MIANZHOU, ReplyToReporter(reply="已转调解室，明天上门")))


def closed():
    state = replied()
    return apply(state, domain.close(state, "r1", MIANZHOU, CloseReport()))


def test_a_report_goes_reported_triaged_replied_closed():
    assert reported().status == "reported"
    assert triaged().status == "triaged"
    assert replied().status == "replied"
    state = closed()
    assert (state.status, state.version, state.document["status"]) == ("closed", 4, "closed")


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_triage_routes_each_category_to_who_acts_on_it(category):
    [event] = domain.triage(reported(), "r1", MIANZHOU, TriageReport(category=category))
    assert (event.category, event.routed_to) == (category, ROUTES[category])


def test_a_dispute_goes_to_mediation_and_a_hardship_to_assistance():
    assert triaged("dispute").document["routed_to"] == "mediation"
    assert triaged("hardship").document["routed_to"] == "assistance"
    assert triaged("service_need").document["routed_to"] == "servicedesk"
    assert triaged("other").document["routed_to"] == "community"


@pytest.mark.parametrize(
    ("state", "act", "reason"),
    [
        (reported, lambda s: domain.reply(s, "r1", MIANZHOU, ReplyToReporter(reply="好")), "triaged before"),
        (triaged, lambda s: domain.triage(s, "r1", MIANZHOU, TriageReport(category="other")), "already triaged"),
        (reported, lambda s: domain.close(s, "r1", MIANZHOU, CloseReport()), "only after the reporter got a reply"),
        (triaged, lambda s: domain.close(s, "r1", MIANZHOU, CloseReport()), "only after the reporter got a reply"),
        (replied, lambda s: domain.reply(s, "r1", MIANZHOU, ReplyToReporter(reply="再说一次")), "already got a reply"),
        (closed, lambda s: domain.triage(s, "r1", MIANZHOU, TriageReport(category="other")), "closed"),
        (closed, lambda s: domain.reply(s, "r1", MIANZHOU, ReplyToReporter(reply="好")), "closed"),
        (closed, lambda s: domain.close(s, "r1", MIANZHOU, CloseReport()), "closed"),
        (closed, lambda s: domain.link(s, "r1", MIANZHOU, reported(), "r2"), "closed"),
    ],
    ids=[
        "reply-before-triage", "triage-twice", "close-before-triage", "close-before-reply", "reply-twice",
        "triage-after-close", "reply-after-close", "close-twice", "link-after-close",
    ],
)
def test_an_illegal_transition_is_refused_with_its_reason(state, act, reason):
    with pytest.raises(domain.IllegalTransition) as refused:
        act(state())
    assert refused.value.code == "illegal_transition"
    assert reason in refused.value.detail_en
    assert refused.value.detail_zh


def test_a_report_of_another_community_is_not_found():
    with pytest.raises(domain.ReportNotFound):
        domain.triage(reported(), "r1", "c-dongjin", TriageReport(category="dispute"))


def test_linking_records_the_duplicate_once_and_refuses_itself_another_community_and_a_second_target():
    other = reported()
    [linked] = domain.link(reported(), "r1", MIANZHOU, other, "r2")
    assert linked.duplicate_of == "r2"
    state = apply(reported(), [linked])
    assert domain.link(state, "r1", MIANZHOU, other, "r2") == []
    with pytest.raises(domain.IllegalTransition):
        domain.link(state, "r1", MIANZHOU, other, "r3")
    with pytest.raises(domain.IllegalTransition):
        domain.link(reported(), "r1", MIANZHOU, other, "r1")
    with pytest.raises(domain.LinkTargetUnknown):
        domain.link(reported(), "r1", MIANZHOU, domain.Report(), "r9")


def test_triage_goes_overdue_only_after_its_deadline_and_only_once():
    state = reported()
    assert domain.overdue(state, "r1", TRIAGE_STEP, REPORTED_AT + timedelta(hours=23)) == []
    [overdue] = domain.overdue(state, "r1", TRIAGE_STEP, REPORTED_AT + timedelta(hours=24))
    state = apply(state, [overdue])
    assert state.document["deadlines"]["triage"]["overdue"] and state.document["overdue"]
    assert domain.overdue(state, "r1", TRIAGE_STEP, REPORTED_AT + timedelta(days=2)) == []


def test_a_triage_made_late_resolves_its_overdue():
    state = reported()
    state = apply(state, domain.overdue(state, "r1", TRIAGE_STEP, REPORTED_AT + timedelta(days=1)))
    events = domain.triage(state, "r1", MIANZHOU, TriageReport(category="hardship"))
    assert [type(e).__name__ for e in events] == ["ReportTriaged", "ReportTriageOverdueResolved"]
    state = apply(state, events)
    assert state.document["deadlines"]["triage"] == {**state.document["deadlines"]["triage"], "overdue": False, "met_late": True}
    assert not state.document["overdue"]


def test_a_reply_made_late_resolves_its_overdue_and_a_met_step_never_goes_overdue():
    state = triaged()
    assert domain.overdue(state, "r1", TRIAGE_STEP, REPORTED_AT + timedelta(days=30)) == []
    state = apply(state, domain.overdue(state, "r1", REPLY_STEP, REPORTED_AT + timedelta(days=7)))
    assert state.reply_overdue
    events = domain.reply(state, "r1", MIANZHOU, ReplyToReporter(reply="路灯已修好"))
    assert [type(e).__name__ for e in events] == ["ReportReplied", "ReportReplyOverdueResolved"]
    assert domain.overdue(apply(state, events), "r1", REPLY_STEP, REPORTED_AT + timedelta(days=30)) == []


def test_a_retried_report_records_nothing_and_other_content_under_the_same_id_conflicts():
    state = reported()
    again = domain.report(state, "r1", MIANZHOU, LEAK, ReporterRecord(kind="anonymous"), REPORTED_AT, REPORTED_AT)
    assert again == []
    other = LEAK.model_copy(update={"text": "路灯坏了"})
    with pytest.raises(domain.ReportAlreadyReported):
        domain.report(state, "r1", MIANZHOU, other, ReporterRecord(kind="anonymous"), REPORTED_AT, REPORTED_AT)


def test_every_category_is_routed_somewhere():
    assert set(ROUTES) == set(CATEGORIES)


def test_link_command_needs_a_report_id():
    assert LinkReport(report_id="r2").report_id == "r2"
