"""The scorecard's "zero escalation" figures from the case read model, each breach by case,
per community and summed for the street: open cases past a deadline, transferred versus
resolved locally, agreements awaiting follow-up, repeat-dispute flags."""

from datetime import timedelta

import pytest

from services.gateway.scorecard import community_scorecard, rolled_up
from services.gateway.views import views_metadata
from services.mediation.domain import disputes as domain
from shared.contracts.mediation import dispute_stream
from shared.contracts.mediation_deadlines import DisputeDeadlineOverdue
from shared.contracts.mediation_requests import (
    AcceptDispute,
    CloseDispute,
    RecordAgreement,
    RecordFollowUp,
    RecordInvestigation,
    RecordSession,
    TransferDispute,
)
from shared.db import schema_change
from shared.events import CommandContext, utc_now
from tests.integration.test_dispute_watch import MIANZHOU, NOW, leak, project, register
from tests.support.kernel import close_store, open_store

TODAY = NOW.date() - timedelta(days=1)


@pytest.fixture
async def store(database_url):
    store = await open_store(database_url)
    async with schema_change(store.engine) as conn:
        await conn.run_sync(views_metadata.create_all)
    yield store
    await close_store(store)


async def act(store, dispute_id, decide, command, community=MIANZHOU):
    stream = dispute_stream(dispute_id)
    state = domain.replay(await store.load(stream))
    await store.append(stream, state.version, decide(state, dispute_id, community, command),
                       CommandContext.new(community, "u-zhaodeming"))


async def mediated(store, dispute_id, community=MIANZHOU):
    await act(store, dispute_id, domain.accept, AcceptDispute(mediators=["赵德明"]), community)
    await act(store, dispute_id, domain.investigate, RecordInvestigation(
        investigated_on=TODAY, investigators=["赵德明"], findings="查明情况"), community)
    await act(store, dispute_id, domain.hold_session, RecordSession(
        held_at=utc_now() - timedelta(hours=1), place="调解室", mediators=["赵德明"], account="调解"), community)


def agreement(days=5) -> RecordAgreement:
    return RecordAgreement.model_validate({
        "form": "oral", "reached_on": TODAY.isoformat(), "terms": "赔偿",
        "clauses": [{"party_id": "p2", "obligation": "赔偿", "due_on": (TODAY + timedelta(days=days)).isoformat()}]})


async def test_zero_escalation_figures_and_breaches_per_community_and_for_the_street(store):
    other = [{"side": "a", "name": "李四"}, {"side": "b", "name": "王五"}]
    elsewhere = {"compound": "滨江楼院"}
    await register(store, "d-late", leak(parties=other, place=elsewhere, cause="停车位被占，双方争吵不休，已多次报告物业仍未解决，邻里关系紧张，担心升级为冲突"))
    await store.append(dispute_stream("d-late"), 1, [
        DisputeDeadlineOverdue(dispute_id="d-late", step="dispute.accept", due_at=NOW)], CommandContext.new(MIANZHOU, "scheduler"))

    await register(store, "d-agreed", leak(), days_ago=40)
    await mediated(store, "d-agreed")
    await act(store, "d-agreed", domain.agree, agreement())

    await register(store, "d-resolved", leak(parties=[{"side": "a", "name": "赵六"}, {"side": "b", "name": "钱七"}],
                                             place={"compound": "东风楼院"}))
    await mediated(store, "d-resolved")
    await act(store, "d-resolved", domain.agree, agreement())
    await act(store, "d-resolved", domain.follow_up, RecordFollowUp(
        visited_on=TODAY, visited_by=["赵德明"], note="已履行", fulfilled_clauses=[1]))
    await act(store, "d-resolved", domain.close, CloseDispute())

    await register(store, "d-repeat", leak())  # 王秀英 and 张建华 again, at 幸福楼院 3栋 again
    await register(store, "d-up", leak(parties=other, place=elsewhere), community="c-dongjin")
    await act(store, "d-up", domain.accept, AcceptDispute(mediators=["孙八"]), "c-dongjin")
    await act(store, "d-up", domain.transfer, TransferDispute(reason="调解未果"), "c-dongjin")
    await project(store)

    now = utc_now()
    mianzhou = await community_scorecard(store.engine, MIANZHOU, now)
    card = mianzhou["zero_escalation"]
    assert {figure: card[figure] for figure in card if figure != "breaches"} == {
        "open_cases": 3, "cases_past_deadline": 1, "resolved_locally": 1, "transferred": 0,
        "agreements_awaiting_follow_up": 1, "repeat_dispute_flags": 1,
    }
    late = card["breaches"]["cases_past_deadline"]
    assert [(case["dispute_id"], case["parties"], case["overdue"]) for case in late] == [
        ("d-late", ["李四", "王五"], ["登记后 3 日内受理"])]
    assert late[0]["cause_excerpt"].endswith("…") and len(late[0]["cause_excerpt"]) == 31
    awaiting = card["breaches"]["agreements_awaiting_follow_up"]
    assert [(case["dispute_id"], case["follow_ups"], case["unfulfilled_clauses"]) for case in awaiting] == [("d-agreed", 0, [1])]
    repeats = card["breaches"]["repeat_disputes"]
    assert [(case["dispute_id"], case["reasons"], case["earlier_cases"]) for case in repeats] == [
        ("d-repeat", ["同一当事人再次发生纠纷", "同一地点再次发生纠纷"], ["d-agreed"])]

    dongjin = await community_scorecard(store.engine, "c-dongjin", now)
    assert (dongjin["zero_escalation"]["transferred"], dongjin["zero_escalation"]["open_cases"]) == (1, 1)
    assert dongjin["zero_escalation"]["repeat_dispute_flags"] == 0  # another community's case is not a repeat

    street = rolled_up([mianzhou, dongjin], {MIANZHOU: "绵州社区", "c-dongjin": "东津社区"}, now)
    assert street["totals"]["zero_escalation"] == {
        "open_cases": 4, "cases_past_deadline": 1, "resolved_locally": 1, "transferred": 1,
        "agreements_awaiting_follow_up": 1, "repeat_dispute_flags": 1,
    }
    assert "breaches" not in street["communities"][0]["zero_escalation"]


async def test_an_empty_community_has_zero_escalation_figures_of_zero(store):
    card = (await community_scorecard(store.engine, MIANZHOU, utc_now()))["zero_escalation"]
    assert card["open_cases"] == card["repeat_dispute_flags"] == 0 and card["breaches"]["cases_past_deadline"] == []
