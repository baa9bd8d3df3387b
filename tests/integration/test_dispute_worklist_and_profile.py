"""Mediation's worklist items and part of the resident profile, on SQLite and PostgreSQL: cases
written by mediation's own handlers and scheduler, projected by the gateway's views. The due
times the gateway computes are the ones mediation's worker watches; a resident's cases are
found through the party index, which a rebuild from scratch fills again."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.gateway import scorecard
from services.gateway.profile_mediation import mediation_part
from services.gateway.views import all_views, views_metadata
from services.gateway.views.disputes import disputes
from services.gateway.worklist_mediation import JUDICIAL_CONFIRMATION, items, open_cases_steps
from services.mediation import deadlines as mediation_deadlines
from services.mediation.domain import dispute_changes as changes
from services.mediation.domain import disputes as domain
from services.mediation.domain.dispute_rules import Actor
from services.mediation.handlers import disputes as handlers
from shared.contracts.mediation import dispute_stream
from shared.contracts.mediation_deadlines import REMINDER_STEP, clause_step
from shared.contracts.mediation_requests import (
    AcceptDispute,
    AmendDispute,
    AssignBackDispute,
    RecordAgreement,
    RecordInvestigation,
    RecordSession,
    RegisterDispute,
    TakeOverDispute,
    TransferDispute,
)
from shared.db import schema_change, write_transaction
from shared.deadlines import CHINA, DeadlineTracker, ManualClock, deadlines
from shared.events import CommandContext, utc_now
from shared.eventstore import START
from shared.identity import COMMUNITY_WORKER, Identity
from tests.support.kernel import PatientScheduler, close_store, open_store, until_all_visible

MIANZHOU, DONGJIN = "c-mianzhou", "c-dongjin"
TODAY = utc_now().astimezone(CHINA).date()
POLICY = mediation_deadlines.policy({})
WANG, ZHANG = {"side": "a", "resident_id": "r-wangxiuying", "name": "王秀英"}, {"side": "b", "name": "张建华"}


def worker(*communities: str) -> Identity:
    return Identity(subject="u-limin", username="limin", roles=(COMMUNITY_WORKER,), district_id="d-fucheng",
                    street_ids=(), community_ids=communities)


def dispute(cause: str, *parties: dict) -> RegisterDispute:
    return RegisterDispute.model_validate({
        "source": "party_applied", "category": "02", "dispute_cause": cause, "parties": list(parties or (WANG, ZHANG)),
        "place": {"compound": "幸福楼院", "building": "3栋"},
    })


@pytest.fixture
async def store(database_url):
    store = await open_store(database_url)
    await DeadlineTracker(store, mediation_deadlines.RULES).setup()
    async with schema_change(store.engine) as conn:
        await conn.run_sync(views_metadata.create_all)
    yield store
    await close_store(store)


async def register(store, dispute_id: str, command: RegisterDispute, community: str = MIANZHOU) -> None:
    await handlers.register_dispute(store, dispute_id, command, CommandContext.new(community, "u-limin"))


async def do(store, dispute_id: str, decide, command, community: str = MIANZHOU, by=domain.COMMUNITY_ACTOR) -> None:
    version = await store.stream_version(dispute_stream(dispute_id))
    await handlers.act(store, dispute_id, version, lambda state: decide(state, dispute_id, community, command, by),
                       CommandContext.new(community, "u-zhaodeming"))


async def handed_over(store, dispute_id: str, decide, command) -> None:
    """Accepted, transferred, then taken over or assigned back by the street centre."""
    await register(store, dispute_id, dispute("相邻通道"))
    await do(store, dispute_id, domain.accept, AcceptDispute(mediators=["赵德明"]))
    await do(store, dispute_id, domain.transfer, TransferDispute(reason="调解未果"))
    await do(store, dispute_id, decide, command, by=Actor("street", "张志强"))


async def agreed(store, dispute_id: str, clauses: list[tuple[str, str, int]]) -> None:
    """Accepted, investigated, mediated and agreed today; each clause (party, what, due in days)."""
    await do(store, dispute_id, domain.accept, AcceptDispute(mediators=["赵德明"]))
    await do(store, dispute_id, domain.investigate, RecordInvestigation(
        investigated_on=TODAY, investigators=["赵德明"], findings="401卫生间防水层老化"))
    await do(store, dispute_id, domain.hold_session, RecordSession(
        held_at=utc_now() - timedelta(minutes=5), place="调解工作室", mediators=["赵德明"], account="双方同意修复"))
    await do(store, dispute_id, domain.agree, RecordAgreement.model_validate({
        "form": "written", "reached_on": TODAY.isoformat(), "terms": "401修复防水，赔偿800元",
        "clauses": [{"party_id": party, "obligation": what, "due_on": (TODAY + timedelta(days=days)).isoformat()}
                    for party, what, days in clauses],
    }))


async def project(store) -> None:
    await until_all_visible(store)
    views = all_views()
    async with write_transaction(store.engine) as conn:
        await views.apply_batch(conn, [stored.envelope for stored in await store.read_all(START, 10_000)])


async def test_the_due_times_on_the_worklist_are_those_mediation_watches(store):
    await register(store, "d-new", dispute("楼上漏水"))
    await register(store, "d-mediating", dispute("楼道堆物"))
    await do(store, "d-mediating", domain.accept, AcceptDispute(mediators=["赵德明"]))
    await register(store, "d-agreed", dispute("装修噪音"))
    await agreed(store, "d-agreed", [("p2", "修复防水", 5), ("p2", "赔偿800元", 40)])
    await handed_over(store, "d-taken-over", changes.take_over, TakeOverDispute())
    await handed_over(store, "d-assigned-back", changes.assign_back, AssignBackDispute(instructions="请社区再调解"))
    await project(store)
    tracker = DeadlineTracker(store, mediation_deadlines.RULES)
    await until_all_visible(store)
    await tracker.catch_up()
    async with store.engine.connect() as conn:
        watched = {(row.stream_id, row.step): row.due_at for row in (await conn.execute(
            select(deadlines).where(deadlines.c.met_at.is_(None), deadlines.c.overdue_at.is_(None))
        )).all()}
        documents = list((await conn.scalars(select(disputes.c.document))).all())

    steps = await open_cases_steps(store.engine, documents, POLICY, utc_now())
    computed = {
        (dispute_stream(case_id), clause_step(step["clause"]["clause_no"]) if step["clause"] else step["step"]):
        step["due_at"]
        for case_id, case_steps in steps.items() for step in case_steps if step["step"] != JUDICIAL_CONFIRMATION
    }
    watched = {key: _utc(due_at) for key, due_at in watched.items() if key[1] != REMINDER_STEP}
    assert computed == watched
    assert {step for (stream, step) in computed if stream == dispute_stream("d-taken-over")} == {
        "dispute.first_session", "dispute.resolution"}
    assert {step for (stream, step) in computed if stream == dispute_stream("d-assigned-back")} == {"dispute.accept"}
    assert {step for _, step in computed} == {"dispute.accept", "dispute.first_session", "dispute.resolution",
                                              "dispute.first_follow_up", "dispute.clause.1", "dispute.clause.2"}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def test_an_overdue_accept_and_a_clause_due_soon_are_items_by_name_and_a_transferred_case_is_not(store):
    await register(store, "d-late", dispute("楼上漏水"))
    await register(store, "d-agreed", dispute("装修噪音", {"side": "a", "name": "孙丽"}, {"side": "b", "name": "钱伟"}))
    await agreed(store, "d-agreed", [("p2", "赔偿800元", 5), ("p2", "修复墙面", 40)])
    await register(store, "d-transferred", dispute("停车位"))
    await do(store, "d-transferred", domain.accept, AcceptDispute(mediators=["赵德明"]))
    await do(store, "d-transferred", domain.transfer, TransferDispute(reason="调解未果"))
    await register(store, "d-elsewhere", dispute("噪音"), community=DONGJIN)
    later = utc_now() + timedelta(days=4)
    rules = mediation_deadlines.rules(POLICY)
    await PatientScheduler(DeadlineTracker(store, rules), ManualClock(later),
                           mediation_deadlines.overdue_handlers(store)).run_once()
    await project(store)

    listed = await items(store.engine, MIANZHOU, later, later + timedelta(days=7), POLICY)
    assert sorted((item["id"], item["kind"]) for item in listed) == [
        ("d-agreed", "dispute_clause"), ("d-late", "dispute_accept")]
    late = next(item for item in listed if item["kind"] == "dispute_accept")
    overdue_event = (await store.load(dispute_stream("d-late")))[-1]
    assert overdue_event.type == "mediation.DisputeDeadlineOverdue"
    assert (late["parties"], late["category_label"], late["mediators"]) == (["王秀英", "张建华"], "邻里纠纷", [])
    assert (late["overdue"], late["overdue_days"], late["step_label"]) == (True, 1, "登记后 3 日内受理")
    assert datetime.fromisoformat(late["due_at"]) == datetime.fromisoformat(overdue_event.data["due_at"])
    clause = next(item for item in listed if item["kind"] == "dispute_clause")
    assert (clause["clause_no"], clause["obligation"], clause["party"], clause["overdue"]) == (1, "赔偿800元", "钱伟", False)
    assert (clause["parties"], clause["mediators"]) == (["孙丽", "钱伟"], ["赵德明"])

    coming = await scorecard.worklist(store.engine, MIANZHOU, later, timedelta(days=40), POLICY)
    assert [(item["kind"], item.get("clause_no")) for item in coming if item["id"] == "d-agreed"] == [
        ("dispute_clause", 1), ("dispute_first_follow_up", None), ("dispute_judicial_confirmation", None),
        ("dispute_clause", 2)]  # earliest due first
    window_closed = await items(store.engine, MIANZHOU, later + timedelta(days=31), later + timedelta(days=38), POLICY)
    assert sorted((item["kind"], item["overdue"]) for item in window_closed if item["id"] == "d-agreed") == [
        ("dispute_clause", False), ("dispute_clause", True), ("dispute_first_follow_up", True)]  # no art. 33 window: it has closed


async def test_a_residents_cases_come_from_the_party_index_and_a_rebuild_fills_it_again(store):
    await register(store, "d-old", dispute("去年漏水"))
    await register(store, "d-merged", dispute("噪音扰民", {"side": "a", "name": "孙丽"},
                                              {"side": "b", "resident_id": "r-duplicate", "name": "王秀英"}))
    await agreed(store, "d-merged", [("p2", "晚十点后不再装修", 5), ("p1", "撤回投诉", 3)])
    await register(store, "d-stranger", dispute("停车位", {"side": "a", "name": "孙丽"}, {"side": "b", "name": "钱伟"}))
    await register(store, "d-elsewhere", dispute("东津的纠纷"), community=DONGJIN)
    await project(store)

    async def shown() -> list[dict]:
        part = await mediation_part(store.engine, worker(MIANZHOU), ["r-wangxiuying", "r-duplicate"], POLICY, utc_now())
        return part["cases"]

    cases = await shown()
    assert [case["id"] for case in cases] == ["d-merged", "d-old"]  # newest first; not another community's
    merged, old = cases
    assert (merged["side"], merged["other_parties"], merged["status"]) == ("b", [{"side": "a", "name": "孙丽"}], "agreed")
    assert [(c["clause_no"], c["obligation"], c["fulfilled"]) for c in merged["clauses_owed"]] == [(1, "晚十点后不再装修", False)]
    assert (old["side"], old["category_label"], old["status_label"], old["outcome"]) == ("a", "邻里纠纷", "已登记", None)
    assert old["escalation_risk"] is False and old["overdue_steps"] == []
    everywhere = await mediation_part(store.engine, worker(MIANZHOU, DONGJIN), ["r-wangxiuying"], POLICY, utc_now())
    assert {case["id"] for case in everywhere["cases"]} == {"d-old", "d-elsewhere"}
    later = await mediation_part(store.engine, worker(MIANZHOU), ["r-wangxiuying"], POLICY, utc_now() + timedelta(days=4))
    assert [step["step_label"] for step in later["cases"][0]["overdue_steps"]] == ["登记后 3 日内受理"]

    async with schema_change(store.engine) as conn:
        await conn.run_sync(views_metadata.drop_all)
        await conn.run_sync(views_metadata.create_all)
    await project(store)
    assert await shown() == cases


async def test_a_resident_named_by_an_amendment_finds_the_case_in_their_profile(store):
    await register(store, "d-unnamed", dispute("夜间噪音", {"side": "a", "name": "孙丽"}, {"side": "b", "name": "待查明"}))
    await project(store)
    assert (await mediation_part(store.engine, worker(MIANZHOU), ["r-wangxiuying"], POLICY, utc_now()))["cases"] == []
    await do(store, "d-unnamed", changes.amend, AmendDispute.model_validate(
        {"parties": [{"party_id": "p1", "side": "a", "name": "孙丽"}, {"party_id": "p2", **WANG, "side": "b"}]}))
    await project(store)
    cases = (await mediation_part(store.engine, worker(MIANZHOU), ["r-wangxiuying"], POLICY, utc_now()))["cases"]
    assert [(case["id"], case["side"]) for case in cases] == [("d-unnamed", "b")]
