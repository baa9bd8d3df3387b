"""The street centre's part of a case, and amendments, decided without I/O: who may act
(community or street), in which status, with what outcome; and the deadlines each handover
starts again."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError

from services.mediation.domain import dispute_changes as changes
from services.mediation.domain import disputes as domain
from services.mediation.domain.deadlines import overdue, resolutions, since_last_handover
from services.mediation.domain.dispute_rules import Actor
from shared.contracts.mediation import dispute_document
from shared.contracts.mediation_deadlines import ACCEPT_STEP, FIRST_SESSION_STEP, DisputeDeadlineOverdue
from shared.contracts.mediation_requests import AmendDispute, AssignBackDispute, CloseDispute, TakeOverDispute
from shared.events import Envelope
from tests.unit.test_dispute_domain import (
    ACCEPT,
    AGREEMENT,
    CLOSE,
    FOLLOW_UP_ALL,
    INVESTIGATE,
    MIANZHOU,
    SESSION,
    TRANSFER,
    apply,
    in_mediation,
    registered,
    step,
    transferred,
)

OFFICER = Actor("street", "街道干部李明")
WORKER = Actor("community", "社区干部王芳")
TAKE_OVER = TakeOverDispute(remarks="街道接手调处")
ASSIGN_BACK = AssignBackDispute(instructions="请社区再次组织双方调解，并邀请物业参加")


def by(state, decide, command, actor):
    return apply(state, decide(state, "d1", MIANZHOU, command, actor))


def taken_over():
    return by(transferred(), changes.take_over, TAKE_OVER, OFFICER)


def test_a_street_officer_takes_a_transferred_case_over_and_the_street_mediates_it():
    state = taken_over()
    assert (state.status, state.handled_by) == ("taken_over", "street")
    assert state.document["taken_over"]["officer"] == "街道干部李明"
    assert state.document["status_label"] == "街道已接手"
    state = by(by(state, domain.investigate, INVESTIGATE, OFFICER), domain.hold_session, SESSION, OFFICER)
    state = by(by(state, domain.agree, AGREEMENT, OFFICER), domain.follow_up, FOLLOW_UP_ALL, OFFICER)
    state = by(state, domain.close, CLOSE, OFFICER)
    assert (state.status, state.document["outcome"]) == ("closed", "resolved_by_street")


def test_once_the_street_took_the_case_over_the_community_may_not_act_on_it():
    with pytest.raises(domain.NotYours) as refused:
        domain.investigate(taken_over(), "d1", MIANZHOU, INVESTIGATE, WORKER)
    assert "街道接手" in refused.value.detail_zh and "street centre took this case over" in refused.value.detail_en


def test_a_street_officer_may_not_act_on_a_case_the_community_still_mediates():
    with pytest.raises(domain.NotYours) as refused:
        domain.hold_session(in_mediation(), "d1", MIANZHOU, SESSION, OFFICER)
    assert "社区调处" in refused.value.detail_zh


@pytest.mark.parametrize("decide, command", [(changes.take_over, TAKE_OVER), (changes.assign_back, ASSIGN_BACK)])
def test_only_a_street_officer_takes_over_or_assigns_back(decide, command):
    with pytest.raises(domain.NotYours):
        decide(transferred(), "d1", MIANZHOU, command, WORKER)


@pytest.mark.parametrize("state", [registered, in_mediation])
@pytest.mark.parametrize("decide, command", [(changes.take_over, TAKE_OVER), (changes.assign_back, ASSIGN_BACK)])
def test_the_street_takes_over_or_assigns_back_only_a_transferred_case(state, decide, command):
    with pytest.raises(domain.IllegalTransition) as refused:
        decide(state(), "d1", MIANZHOU, command, OFFICER)
    assert "移送" in refused.value.detail_zh


def test_a_case_taken_over_is_not_taken_over_twice_nor_transferred_again():
    with pytest.raises(domain.IllegalTransition):
        changes.take_over(taken_over(), "d1", MIANZHOU, TAKE_OVER, OFFICER)
    investigated = by(taken_over(), domain.investigate, INVESTIGATE, OFFICER)
    with pytest.raises(domain.IllegalTransition) as refused:
        domain.transfer(investigated, "d1", MIANZHOU, TRANSFER, OFFICER)
    assert "街道" in refused.value.detail_zh


def test_assigned_back_the_case_counts_as_assigned_by_the_street_centre_and_waits_to_be_accepted():
    state = by(transferred(), changes.assign_back, ASSIGN_BACK, OFFICER)
    assert (state.status, state.handled_by) == ("registered", "community")
    assert state.document["source"] == "assigned_by_street_centre"
    assert state.document["source_label"] == "街道矛盾纠纷大调解工作中心交办"
    assert state.document["assigned_back"][0]["source_before"] == "party_applied"
    assert state.document["assigned_back"][0]["instructions"].startswith("请社区再次组织")
    with pytest.raises(domain.NotYours):
        domain.accept(state, "d1", MIANZHOU, ACCEPT, OFFICER)
    accepted = by(state, domain.accept, ACCEPT, WORKER)
    assert accepted.status == "accepted"


def test_the_street_may_assign_back_a_case_it_took_over_while_mediating_it():
    investigated = by(taken_over(), domain.investigate, INVESTIGATE, OFFICER)
    state = by(investigated, changes.assign_back, ASSIGN_BACK, OFFICER)
    assert (state.status, state.handled_by) == ("registered", "community")


def test_a_street_mediation_that_fails_closes_only_with_remarks_saying_so():
    investigated = by(taken_over(), domain.investigate, INVESTIGATE, OFFICER)
    with pytest.raises(domain.IllegalTransition) as refused:
        domain.close(investigated, "d1", MIANZHOU, CloseDispute(), OFFICER)
    assert "备注" in refused.value.detail_zh
    closed = by(investigated, domain.close, CloseDispute(remarks="已告知双方可向人民法院起诉"), OFFICER)
    assert closed.document["outcome"] == "street_mediation_failed"


def test_the_community_still_closes_a_transferred_case_the_street_left_alone():
    closed = by(transferred(), domain.close, CLOSE, WORKER)
    assert closed.document["outcome"] == "transferred"
    with pytest.raises(domain.NotYours):
        domain.close(transferred(), "d1", MIANZHOU, CLOSE, OFFICER)


def test_the_community_does_not_close_its_own_case_in_mediation_as_a_failure():
    with pytest.raises(domain.IllegalTransition):
        domain.close(in_mediation(), "d1", MIANZHOU, CloseDispute(remarks="调不好"), WORKER)


# -- amendments ---------------------------------------------------------------------------

NAMED = AmendDispute.model_validate(
    {
        "category": "02",
        "parties": [
            {"party_id": "p1", "side": "a", "resident_id": "r-wangxiuying", "name": "王秀英"},
            {"side": "b", "name": "李强", "remarks": "3栋501"},
        ],
        "reason": "调查查明对方当事人",
    }
)


def test_an_amendment_names_the_parties_keeping_ids_and_numbering_new_ones_after_the_highest():
    state = step(registered(), changes.amend, NAMED)
    assert state.party_ids == ("p1", "p3")
    assert [party["name"] for party in state.document["parties"]] == ["王秀英", "李强"]
    assert state.document["amendments"][0]["fields"] == ["category", "parties"]
    assert state.document["category_label"]
    again = step(state, changes.amend, AmendDispute.model_validate(
        {"parties": [{"party_id": "p3", "side": "b", "name": "李强"}, {"side": "a", "name": "王秀英"}]}))
    assert again.party_ids == ("p3", "p4")  # p2 was given once and never names anyone else


def test_an_amendment_refuses_a_party_id_the_case_does_not_have():
    unknown = AmendDispute.model_validate(
        {"parties": [{"party_id": "p9", "side": "a", "name": "甲"}, {"side": "b", "name": "乙"}]})
    with pytest.raises(domain.NotOfThisCase) as refused:
        changes.amend(registered(), "d1", MIANZHOU, unknown)
    assert "p9" in refused.value.detail_zh and "party_id" in refused.value.detail_en


def test_after_an_agreement_the_case_details_are_settled():
    agreed = step(in_mediation(), domain.agree, AGREEMENT)
    with pytest.raises(domain.IllegalTransition) as refused:
        changes.amend(agreed, "d1", MIANZHOU, NAMED)
    assert "协议" in refused.value.detail_zh


@pytest.mark.parametrize("body, code", [
    ({}, "empty_change"),
    ({"reason": "只有理由"}, "empty_change"),
    ({"parties": [{"party_id": "p1", "side": "a", "name": "甲"}, {"party_id": "p1", "side": "b", "name": "乙"}]},
     "party_twice"),
    ({"parties": [{"side": "a", "name": "甲"}, {"side": "a", "name": "乙"}]}, "party_sides"),
    ({"category": "zz"}, "unknown_code"),
])
def test_a_bad_amendment_is_refused_by_its_shape(body, code):
    with pytest.raises(ValidationError) as refused:
        AmendDispute.model_validate(body)
    assert code in {error["type"] for error in refused.value.errors()}


def test_an_amended_document_keeps_what_the_read_model_added():
    state = registered()
    document = {**state.document, "escalation_risk": {"flagged": True}}
    envelope_events = changes.amend(state, "d1", MIANZHOU, NAMED)
    after = apply(state, envelope_events)
    assert dispute_document(document, _last_envelope(after, envelope_events[0]))["escalation_risk"] == {"flagged": True}


def _last_envelope(state, event):
    return Envelope(event_id=uuid4(), type=event.event_type, stream_id="dispute-d1", version=state.version,
                    position=state.version, community_id=MIANZHOU, occurred_at=datetime(2026, 11, 5, tzinfo=UTC),
                    actor="u", correlation_id="c", data=event.model_dump(mode="json"))


# -- deadlines start again at each handover ------------------------------------------------


def test_after_an_assignment_back_the_accept_step_may_go_overdue_again():
    assignment = changes.assign_back(transferred(), "d1", MIANZHOU, ASSIGN_BACK, OFFICER)[0]
    state = apply(transferred(), [assignment])
    history = [_overdue_envelope(ACCEPT_STEP, version=2), _last_envelope(state, assignment)]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    events = overdue(state, history, "d1", ACCEPT_STEP, now - timedelta(days=1), now)
    assert [event.step for event in events] == [ACCEPT_STEP]
    assert since_last_handover(history) == []
    assert overdue(state, [*history, _overdue_envelope(ACCEPT_STEP, version=7)], "d1", ACCEPT_STEP,
                   now - timedelta(days=1), now) == []


def test_after_a_take_over_the_first_session_is_the_streets_to_hold_in_time():
    state = taken_over()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    events = overdue(state, [], "d1", FIRST_SESSION_STEP, now - timedelta(days=1), now)
    assert [event.step for event in events] == [FIRST_SESSION_STEP]


def _overdue_envelope(step_name, version):
    event = DisputeDeadlineOverdue(dispute_id="d1", step=step_name, due_at=datetime(2026, 11, 8, tzinfo=UTC))
    return _last_envelope(domain.Dispute(version=version), event)


def test_a_first_session_overdue_made_moot_by_the_transfer_is_not_resolved_by_the_streets_session():
    transfer = domain.transfer(in_mediation(), "d1", MIANZHOU, TRANSFER)[0]
    history = [_overdue_envelope(FIRST_SESSION_STEP, version=3), _last_envelope(transferred(), transfer)]
    session = domain.hold_session(in_mediation(), "d1", MIANZHOU, SESSION)
    assert resolutions(history, session) == []
    assert [event.step for event in resolutions(history[:1], session)] == [FIRST_SESSION_STEP]
