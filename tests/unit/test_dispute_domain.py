"""Dispute cases decide and evolve without I/O: every step of the book's workflow, and every
illegal transition refused with its reason in Chinese and English."""

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from services.mediation.domain import disputes as domain
from shared.contracts.mediation import dispute_document
from shared.contracts.mediation_requests import (
    AcceptDispute,
    CloseDispute,
    RecordAgreement,
    RecordFollowUp,
    RecordInvestigation,
    RecordSession,
    RefuseMediation,
    RegisterDispute,
    TransferDispute,
)
from shared.events import Envelope

MIANZHOU = "c-mianzhou"
AT = datetime(2026, 11, 4, 9, 30, tzinfo=UTC)
LEAK = RegisterDispute.model_validate(
    {
        "source": "party_applied",
        "category": "02",
        "dispute_cause": "楼上漏水，邻居不理",
        "parties": [
            {"side": "a", "resident_id": "r-wangxiuying", "name": "王秀英"},
            {"side": "b", "name": "张建华", "remarks": "幸福楼院3栋401租户"},
        ],
        "place": {"compound": "幸福楼院", "building": "3栋"},
    }
)
ACCEPT = AcceptDispute(mediators=["赵德明"])
INVESTIGATE = RecordInvestigation(investigated_on=date(2026, 11, 5), investigators=["赵德明"], findings="401卫生间防水层老化")
SESSION = RecordSession.model_validate(
    {"held_at": "2026-11-06T14:00:00+08:00", "place": "调解工作室", "mediators": ["赵德明"],
     "participants": ["王秀英", "张建华"], "account": "双方同意由401修复防水并赔偿", "on_site": False}
)
AGREEMENT = RecordAgreement.model_validate(
    {"form": "written", "reached_on": "2026-11-06", "terms": "401修复防水，赔偿王秀英800元",
     "clauses": [{"party_id": "p2", "obligation": "修复卫生间防水", "due_on": "2026-11-20"},
                 {"party_id": "p2", "obligation": "赔偿800元", "due_on": "2026-11-10"}]}
)
FOLLOW_UP_ALL = RecordFollowUp(visited_on=date(2026, 11, 21), visited_by=["赵德明"], note="防水已修好，款已付清",
                               fulfilled_clauses=[1, 2])
FOLLOW_UP_ONE = RecordFollowUp(visited_on=date(2026, 11, 11), visited_by=["赵德明"], note="已赔偿，防水未修",
                               fulfilled_clauses=[2])
TRANSFER = TransferDispute(reason="双方分歧大，社区调解未果")
REFUSE = RefuseMediation(party_id="p2", reason="不同意调解")
CLOSE = CloseDispute(archive_no="2026-调-017")


def apply(state, events, community_id=MIANZHOU):
    for event in events:
        state = domain.evolve(
            state,
            Envelope(
                event_id=uuid4(), type=event.event_type, stream_id="dispute-d1", version=state.version + 1,
                position=state.version + 1, community_id=community_id, occurred_at=AT, actor="u-mediator",
                correlation_id="c", data=event.model_dump(mode="json"),
            ),
        )
    return state


def step(state, decide, command):
    return apply(state, decide(state, "d1", MIANZHOU, command))


def registered():
    return apply(domain.Dispute(), domain.register(domain.Dispute(), "d1", MIANZHOU, LEAK))


def accepted():
    return step(registered(), domain.accept, ACCEPT)


def investigating():
    return step(accepted(), domain.investigate, INVESTIGATE)


def in_mediation():
    return step(investigating(), domain.hold_session, SESSION)


def agreed():
    return step(in_mediation(), domain.agree, AGREEMENT)


def transferred():
    return step(in_mediation(), domain.transfer, TRANSFER)


def closed():
    return step(step(agreed(), domain.follow_up, FOLLOW_UP_ALL), domain.close, CLOSE)


def refused():
    return step(accepted(), domain.refuse, REFUSE)


STATES = {
    "registered": registered,
    "accepted": accepted,
    "investigating": investigating,
    "in_mediation": in_mediation,
    "agreed": agreed,
    "transferred": transferred,
    "closed": closed,
}
ACTIONS = {
    "accept": (domain.accept, ACCEPT),
    "investigate": (domain.investigate, INVESTIGATE),
    "session": (domain.hold_session, SESSION),
    "agreement": (domain.agree, AGREEMENT),
    "follow_up": (domain.follow_up, FOLLOW_UP_ALL),
    "transfer": (domain.transfer, TRANSFER),
    "refuse": (domain.refuse, REFUSE),
    "close": (domain.close, CLOSE),
}
# (action, state) → the status it leads to; every pair missing here is illegal.
LEGAL = {
    ("accept", "registered"): "accepted",
    ("investigate", "accepted"): "investigating",
    ("investigate", "investigating"): "investigating",
    ("investigate", "in_mediation"): "in_mediation",
    ("session", "investigating"): "in_mediation",
    ("session", "in_mediation"): "in_mediation",
    ("agreement", "in_mediation"): "agreed",
    ("follow_up", "agreed"): "agreed",
    ("transfer", "accepted"): "transferred",
    ("transfer", "investigating"): "transferred",
    ("transfer", "in_mediation"): "transferred",
    ("refuse", "registered"): "closed",
    ("refuse", "accepted"): "closed",
    ("refuse", "investigating"): "closed",
    ("refuse", "in_mediation"): "closed",
    ("close", "transferred"): "closed",
}
ILLEGAL = [(action, state) for action in ACTIONS for state in STATES if (action, state) not in LEGAL]


def test_a_registered_dispute_numbers_its_parties_and_shows_the_books_columns():
    state = registered()
    assert (state.version, state.status, state.party_ids) == (1, "registered", ("p1", "p2"))
    document = state.document
    assert (document["source_label"], document["category_label"], document["status_label"]) == ("当事人申请", "邻里纠纷", "已登记")
    assert [(p["party_id"], p["side"], p["name"]) for p in document["parties"]] == [("p1", "a", "王秀英"), ("p2", "b", "张建华")]
    assert document["parties"][0]["resident_id"] == "r-wangxiuying" and document["parties"][1]["resident_id"] is None


def test_registering_again_with_the_same_content_changes_nothing_and_other_content_is_refused():
    state = registered()
    assert domain.register(state, "d1", MIANZHOU, LEAK) == []
    other = LEAK.model_copy(update={"dispute_cause": "噪音扰民"})
    with pytest.raises(domain.DisputeAlreadyRegistered):
        domain.register(state, "d1", MIANZHOU, other)


@pytest.mark.parametrize("action, state_name", list(LEGAL))
def test_every_legal_transition_leads_where_the_book_says(action, state_name):
    decide, command = ACTIONS[action]
    after = step(STATES[state_name](), decide, command)
    assert after.status == LEGAL[(action, state_name)]
    assert after.document["status"] == after.status and after.document["version"] == after.version


@pytest.mark.parametrize("action, state_name", ILLEGAL)
def test_every_illegal_transition_is_refused_with_a_reason_in_both_languages(action, state_name):
    decide, command = ACTIONS[action]
    state = STATES[state_name]()
    with pytest.raises(domain.IllegalTransition) as refused:
        decide(state, "d1", MIANZHOU, command)
    assert refused.value.code == "illegal_transition"
    assert refused.value.detail_zh and refused.value.detail_en
    assert refused.value.detail_zh != "此时不能这样操作", "each refusal says why"


def test_the_reasons_name_the_missing_step():
    cases = [
        ("session", "accepted", "须先调查收集情况", "after the investigation"),
        ("agreement", "investigating", "至少正式调解一次", "at least one mediation session"),
        ("follow_up", "in_mediation", "须先达成调解协议", "after an agreement"),
        ("close", "in_mediation", "调解尚未结束", "still under way"),
        ("accept", "closed", "已结案归档", "closed and filed"),
        ("investigate", "transferred", "移送街道", "transferred to the street centre"),
    ]
    for action, state_name, zh, en in cases:
        decide, command = ACTIONS[action]
        with pytest.raises(domain.IllegalTransition) as refused:
            decide(STATES[state_name](), "d1", MIANZHOU, command)
        assert zh in refused.value.detail_zh and en in refused.value.detail_en


def test_the_whole_successful_flow_numbers_each_record_and_closes_resolved():
    state = step(investigating(), domain.investigate, INVESTIGATE)
    state = step(state, domain.hold_session, SESSION)
    state = step(state, domain.investigate, INVESTIGATE)  # facts found during mediation
    state = step(state, domain.hold_session, SESSION)
    assert (state.status, state.investigations, state.sessions) == ("in_mediation", 3, 2)
    assert [r["record_no"] for r in state.document["investigations"]] == [1, 2, 3]
    assert [s["session_no"] for s in state.document["sessions"]] == [1, 2]
    assert state.document["sessions"][0]["held_at"] == "2026-11-06T14:00:00+08:00"
    state = step(state, domain.agree, AGREEMENT)
    agreement = state.document["agreement"]
    assert agreement["judicial_confirmation_by"] == "2026-12-06"  # art. 33: 30 days
    assert [(c["clause_no"], c["party_id"], c["due_on"]) for c in agreement["clauses"]] == [(1, "p2", "2026-11-20"), (2, "p2", "2026-11-10")]
    state = step(state, domain.follow_up, FOLLOW_UP_ONE)
    assert state.unfulfilled == [1] and state.document["agreement"]["fulfilled"] is False
    assert state.document["agreement"]["clauses"][1]["fulfilled_on"] == "2026-11-11"
    state = step(state, domain.follow_up, FOLLOW_UP_ALL)
    assert state.unfulfilled == [] and state.document["agreement"]["fulfilled"] is True
    assert state.document["agreement"]["clauses"][1]["fulfilled_on"] == "2026-11-11", "first fulfilled, not last seen"
    state = step(state, domain.close, CLOSE)
    assert (state.status, state.document["outcome"], state.document["closed"]["archive_no"]) == ("closed", "resolved", "2026-调-017")


def test_a_case_with_an_agreement_closes_only_after_a_follow_up():
    with pytest.raises(domain.IllegalTransition) as refused:
        domain.close(agreed(), "d1", MIANZHOU, CLOSE)
    assert "回访" in refused.value.detail_zh and "follow-up" in refused.value.detail_en


def test_unfulfilled_clauses_need_a_reason_in_the_remarks_to_close():
    state = step(agreed(), domain.follow_up, FOLLOW_UP_ONE)
    with pytest.raises(domain.IllegalTransition) as refused:
        domain.close(state, "d1", MIANZHOU, CLOSE)
    assert "第 1 条" in refused.value.detail_zh and "clause 1" in refused.value.detail_en
    explained = CloseDispute(remarks="401拒不修复，已告知王秀英可向人民法院起诉")
    closed_state = step(state, domain.close, explained)
    assert (closed_state.status, closed_state.document["outcome"]) == ("closed", "resolved")


def test_a_transferred_case_closes_as_transferred_with_its_reason():
    state = step(transferred(), domain.close, CLOSE)
    assert state.document["outcome"] == "transferred"
    assert state.document["transfer"]["reason"] == "双方分歧大，社区调解未果"
    assert state.document["transfer"]["to"] == "street_centre"


def test_a_partys_refusal_ends_mediation_and_closes_the_case_at_once():
    state = refused()
    assert (state.status, state.document["outcome"]) == ("closed", "refused")
    assert state.document["refusal"]["party_id"] == "p2"
    for action, (decide, command) in ACTIONS.items():
        with pytest.raises(domain.IllegalTransition):
            decide(state, "d1", MIANZHOU, command)


def test_a_refusal_must_name_a_party_of_the_case():
    with pytest.raises(domain.NotOfThisCase) as refused:
        domain.refuse(accepted(), "d1", MIANZHOU, RefuseMediation(party_id="p3"))
    assert refused.value.code == "validation_failed" and "p3" in refused.value.detail_en


def test_an_agreement_clause_must_bind_a_party_of_the_case_and_fall_due_after_it_took_effect():
    stranger = AGREEMENT.model_copy(update={"clauses": [AGREEMENT.clauses[0].model_copy(update={"party_id": "p7"})]})
    with pytest.raises(domain.NotOfThisCase) as refused:
        domain.agree(in_mediation(), "d1", MIANZHOU, stranger)
    assert "p7" in refused.value.detail_zh and "clause 1" in refused.value.detail_en
    early = AGREEMENT.model_copy(update={"clauses": [AGREEMENT.clauses[0].model_copy(update={"due_on": date(2026, 11, 1)})]})
    with pytest.raises(domain.NotOfThisCase):
        domain.agree(in_mediation(), "d1", MIANZHOU, early)


def test_a_follow_up_may_only_mark_clauses_the_agreement_has():
    with pytest.raises(domain.NotOfThisCase) as refused:
        domain.follow_up(agreed(), "d1", MIANZHOU, FOLLOW_UP_ALL.model_copy(update={"fulfilled_clauses": [1, 3]}))
    assert "第 3 条" in refused.value.detail_zh


def test_a_case_of_another_community_or_none_at_all_is_not_found():
    with pytest.raises(domain.DisputeNotFound):
        domain.accept(registered(), "d1", "c-dongjin", ACCEPT)
    with pytest.raises(domain.DisputeNotFound):
        domain.accept(domain.Dispute(), "d1", MIANZHOU, ACCEPT)


def test_the_document_ignores_events_it_does_not_know():
    document = registered().document
    stray = Envelope(event_id=uuid4(), type="mediation.SomethingNew", stream_id="dispute-d1", version=2, position=2,
                     community_id=MIANZHOU, occurred_at=AT, actor="x", correlation_id="c", data={})
    assert dispute_document(document, stray) == document
