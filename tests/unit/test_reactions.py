"""The reactions between intake and mediation, without I/O: which events they act on, the case a
triaged report opens, the reply a closed case gives, and the fields the two events carry for it."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.intake.domain import reports as intake_domain
from services.intake.reactions import REPLIES, replies_to_report, reply_for
from services.mediation.domain import disputes as mediation_domain
from services.mediation.reactions import case_id_for_report, opens_a_case, screening_case
from shared.contracts.intake_reports import ReporterRecord, ReportSentiment, TriageReport
from shared.contracts.mediation import dispute_document
from shared.contracts.mediation_requests import (
    AcceptDispute,
    CloseDispute,
    RecordInvestigation,
    RefuseMediation,
    TransferDispute,
)
from shared.events import DomainEvent, Envelope

MIANZHOU = "c-mianzhou"
AT = datetime(2026, 11, 4, 9, 30, tzinfo=UTC)


def envelope(event: DomainEvent, version: int = 1, stream: str = "s-1") -> Envelope:
    return Envelope(
        event_id=uuid4(), type=event.event_type, stream_id=stream, version=version, position=version,
        community_id=MIANZHOU, occurred_at=AT, actor="u-worker", correlation_id="c", data=event.model_dump(mode="json"),
    )


def triaged(category: str = "dispute", resident: bool = True) -> Envelope:
    command = ReportSentiment.model_validate(
        {"channel": "visit", "text": "楼上漏水，邻居不理", "place": {"compound": "幸福楼院", "building": "3栋"}}
    )
    reporter = ReporterRecord(kind="resident", resident_id="r-wangxiuying") if resident else ReporterRecord(
        kind="person", name="sealed:x", phone="sealed:y", name_masked="王**", phone_masked="138****0000")
    state = intake_domain.Report()
    for version, event in enumerate(
        intake_domain.report(state, "rep-1", MIANZHOU, command, reporter, AT + timedelta(days=1), AT + timedelta(days=7)),
        start=1,
    ):
        state = intake_domain.evolve(state, envelope(event, version))
    [event] = intake_domain.triage(state, "rep-1", MIANZHOU, TriageReport(category=category, remarks="两户多次争吵"))
    return envelope(event, state.version + 1)


def test_the_triage_carries_what_the_case_needs_but_never_a_sealed_name():
    data = triaged(resident=False).data
    assert data["text"] == "楼上漏水，邻居不理"
    assert data["place"] == {"compound": "幸福楼院", "building": "3栋"}
    assert data["reporter_resident_id"] is None
    assert "sealed:x" not in str(data) and "王**" not in str(data)
    assert triaged().data["reporter_resident_id"] == "r-wangxiuying"


def test_only_a_triage_routed_to_mediation_opens_a_case():
    assert opens_a_case(triaged("dispute"))
    for category in ("hardship", "service_need", "other"):
        assert not opens_a_case(triaged(category))


def test_the_case_id_is_the_reports_own_and_no_other_reports():
    assert case_id_for_report("rep-1") == case_id_for_report("rep-1")
    assert case_id_for_report("rep-1") != case_id_for_report("rep-2")


def test_the_case_a_report_opens_is_proactive_screening_linked_to_the_report():
    case = screening_case(triaged().data)
    assert case.source == "proactive_screening"
    assert case.report_id == "rep-1"
    assert case.dispute_cause == "楼上漏水，邻居不理"
    assert case.place.compound == "幸福楼院" and case.place.building == "3栋"
    assert case.remarks == "两户多次争吵"
    assert [(p.side, p.resident_id, p.name) for p in case.parties] == [
        ("a", "r-wangxiuying", None), ("b", None, "待查明")
    ]
    anonymous = screening_case(triaged(resident=False).data)
    assert [(p.side, p.resident_id, p.name) for p in anonymous.parties] == [("a", None, "待查明"), ("b", None, "待查明")]


def test_a_triage_stored_before_it_carried_the_text_still_opens_a_case():
    old = {"report_id": "rep-old", "category": "dispute", "routed_to": "mediation", "remarks": None}
    case = screening_case(old)
    assert case.dispute_cause == "民情反映 rep-old" and case.place is None and case.report_id == "rep-old"


def test_opening_the_same_case_twice_appends_nothing():
    command = screening_case(triaged().data)
    state = mediation_domain.Dispute()
    [registered] = mediation_domain.register(state, "d1", MIANZHOU, command)
    state = mediation_domain.evolve(state, envelope(registered, stream="dispute-d1"))
    assert mediation_domain.register(state, "d1", MIANZHOU, command) == []


def _case(*steps) -> mediation_domain.Dispute:
    state = mediation_domain.Dispute()
    for decide in [lambda s: mediation_domain.register(s, "d1", MIANZHOU, screening_case(triaged().data)), *steps]:
        for event in decide(state):
            state = mediation_domain.evolve(state, envelope(event, state.version + 1, "dispute-d1"))
    return state


def test_closing_a_case_from_a_report_names_the_report_whichever_way_it_ends():
    accept = lambda s: mediation_domain.accept(s, "d1", MIANZHOU, AcceptDispute(mediators=["赵德明"]))  # noqa: E731
    transferred = _case(
        accept,
        lambda s: mediation_domain.investigate(s, "d1", MIANZHOU, RecordInvestigation(
            investigated_on="2026-11-05", investigators=["赵德明"], findings="防水层老化")),
        lambda s: mediation_domain.transfer(s, "d1", MIANZHOU, TransferDispute(reason="分歧大")),
    )
    [closed] = mediation_domain.close(transferred, "d1", MIANZHOU, CloseDispute())
    assert closed.report_id == "rep-1" and closed.outcome == "transferred"
    refused = mediation_domain.refuse(_case(accept), "d1", MIANZHOU, RefuseMediation(party_id="p2", reason="不愿调解"))
    assert refused[-1].report_id == "rep-1" and refused[-1].outcome == "refused"


def test_a_case_not_from_a_report_closes_without_one():
    state = _case()
    state.registered["report_id"] = None
    [*_, closed] = mediation_domain.refuse(state, "d1", MIANZHOU, RefuseMediation(party_id="p1"))
    assert closed.report_id is None
    assert not replies_to_report(envelope(closed))
    document = dispute_document(None, envelope(mediation_domain.register(
        mediation_domain.Dispute(), "d1", MIANZHOU, screening_case(triaged().data))[0]))
    assert document["report_id"] == "rep-1" and document["source_label"] == "主动排查"


@pytest.mark.parametrize("outcome", ["resolved", "transferred", "refused"])
def test_the_reply_tells_the_reporter_how_the_case_ended(outcome):
    assert reply_for({"outcome": outcome}) == REPLIES[outcome]
    assert reply_for({"outcome": outcome, "archive_no": "2026-调-1"}).endswith("（调解卷宗号：2026-调-1）")
    assert len(reply_for({"outcome": outcome, "archive_no": "x" * 50})) <= 1000


def test_only_a_closed_case_with_a_report_replies():
    from shared.contracts.mediation import DisputeAccepted, DisputeClosed

    assert replies_to_report(envelope(DisputeClosed(dispute_id="d1", outcome="resolved", report_id="rep-1")))
    assert not replies_to_report(envelope(DisputeClosed(dispute_id="d1", outcome="resolved")))
    assert not replies_to_report(envelope(DisputeAccepted(dispute_id="d1", mediators=["赵德明"])))
