"""Mediation's deadlines on SQLite and PostgreSQL alike, with a clock the test moves: each
step's `DisputeDeadlineOverdue` once, whether the scheduler restarts or runs twice at once;
its `…OverdueResolved` when met late; each clause by its due date; the art. 33 reminder;
per-community policy; a closed case watched no more."""

import asyncio
from datetime import datetime, timedelta

import pytest

from services.mediation import deadlines as mediation_deadlines
from services.mediation.domain import dispute_changes as changes
from services.mediation.domain import disputes as domain
from services.mediation.domain.dispute_rules import Actor
from services.mediation.handlers import disputes as handlers
from shared.contracts.mediation import dispute_stream
from shared.contracts.mediation_requests import (
    AcceptDispute,
    AssignBackDispute,
    CloseDispute,
    RecordAgreement,
    RecordFollowUp,
    RecordInvestigation,
    RecordSession,
    RefuseMediation,
    RegisterDispute,
    TakeOverDispute,
    TransferDispute,
)
from shared.deadlines import CHINA, DeadlineTracker, ManualClock, deadlines
from shared.events import CommandContext, utc_now
from tests.support.kernel import PatientScheduler, close_store, open_store, until_all_visible

MIANZHOU = "c-mianzhou"
LEAK = RegisterDispute.model_validate({
    "source": "party_applied", "category": "02", "dispute_cause": "楼上漏水，邻居不理",
    "parties": [{"side": "a", "resident_id": "r-wangxiuying", "name": "王秀英"}, {"side": "b", "name": "张建华"}],
    "place": {"compound": "幸福楼院", "building": "3栋"},
})
TODAY = utc_now().astimezone(CHINA).date()


@pytest.fixture
async def store(database_url):
    store = await open_store(database_url)
    await DeadlineTracker(store, mediation_deadlines.RULES).setup()
    yield store
    await close_store(store)


@pytest.fixture
def clock():
    return ManualClock(utc_now())


def a_scheduler(store, clock, overrides=None) -> PatientScheduler:
    """A scheduler as a (re)started worker builds it: nothing in memory but its settings."""
    rules = mediation_deadlines.rules(mediation_deadlines.policy(overrides or {}))
    return PatientScheduler(DeadlineTracker(store, rules), clock, mediation_deadlines.overdue_handlers(store))


def context() -> CommandContext:
    return CommandContext.new(MIANZHOU, "u-zhaodeming")


async def register(store, dispute_id="d-leak") -> str:
    await handlers.register_dispute(store, dispute_id, LEAK, context())
    await until_all_visible(store)
    return dispute_id


async def do(store, dispute_id: str, decide, command, by: Actor = domain.COMMUNITY_ACTOR) -> None:
    version = await store.stream_version(dispute_stream(dispute_id))
    await handlers.act(store, dispute_id, version, lambda state: decide(state, dispute_id, MIANZHOU, command, by), context())
    await until_all_visible(store)


OFFICER = Actor("street", "street_officer")


async def to_mediation(store, dispute_id="d-leak") -> None:
    await do(store, dispute_id, domain.accept, AcceptDispute(mediators=["赵德明"]))
    await do(store, dispute_id, domain.investigate, RecordInvestigation(
        investigated_on=TODAY, investigators=["赵德明"], findings="401卫生间防水层老化"))
    await do(store, dispute_id, domain.hold_session, RecordSession(
        held_at=utc_now() - timedelta(minutes=5), place="调解工作室", mediators=["赵德明"], account="双方同意修复"))


async def agree(store, dispute_id="d-leak", clause_days=(5, 9)) -> None:
    await do(store, dispute_id, domain.agree, RecordAgreement.model_validate({
        "form": "written", "reached_on": TODAY.isoformat(), "terms": "401修复防水，赔偿800元",
        "clauses": [{"party_id": "p2", "obligation": f"第{days}天前履行", "due_on": (TODAY + timedelta(days=days)).isoformat()}
                    for days in clause_days],
    }))


async def history(store, dispute_id="d-leak") -> list[tuple]:
    """The case's events after registration, the deadline ones with their step (and clause)."""
    shown = []
    for envelope in (await store.load(dispute_stream(dispute_id)))[1:]:
        kind = envelope.type.removeprefix("mediation.")
        if "step" in envelope.data:
            step = envelope.data["step"].removeprefix("dispute.")
            shown.append((kind, step))
        else:
            shown.append((kind,))
    return shown


async def test_accepting_late_emits_the_overdue_once_then_its_resolution_with_the_acceptance(store, clock):
    await register(store)
    scheduler = a_scheduler(store, clock)
    clock.advance(timedelta(days=3) - timedelta(minutes=1))
    await scheduler.run_once()
    assert await history(store) == []

    clock.advance(timedelta(minutes=2))
    await scheduler.run_once()
    await scheduler.run_once()
    assert await history(store) == [("DisputeDeadlineOverdue", "accept")]

    await do(store, "d-leak", domain.accept, AcceptDispute(mediators=["赵德明"]))
    assert await history(store) == [
        ("DisputeDeadlineOverdue", "accept"), ("DisputeDeadlineOverdueResolved", "accept"), ("DisputeAccepted",),
    ]
    await scheduler.run_once()
    assert len(await history(store)) == 3


async def test_a_restarted_scheduler_emits_what_fell_due_while_it_was_down_and_repeats_nothing(store, clock):
    await register(store)
    await a_scheduler(store, clock).run_once()
    clock.advance(timedelta(days=5))

    await a_scheduler(store, clock).run_once()
    await a_scheduler(store, clock).run_once()
    assert await history(store) == [("DisputeDeadlineOverdue", "accept")]


async def test_two_schedulers_at_once_emit_each_overdue_once(store, clock):
    for number in range(5):
        await register(store, f"d-{number}")
    clock.advance(timedelta(days=4))
    await asyncio.gather(a_scheduler(store, clock).run_once(), a_scheduler(store, clock).run_once())
    await a_scheduler(store, clock).run_once()
    for number in range(5):
        assert await history(store, f"d-{number}") == [("DisputeDeadlineOverdue", "accept")]


async def test_no_first_session_within_10_days_and_no_resolution_within_30_are_each_overdue(store, clock):
    await register(store)
    await do(store, "d-leak", domain.accept, AcceptDispute(mediators=["赵德明"]))
    scheduler = a_scheduler(store, clock)
    clock.advance(timedelta(days=10, minutes=1))
    await scheduler.run_once()
    assert (await history(store))[1:] == [("DisputeDeadlineOverdue", "first_session")]

    clock.advance(timedelta(days=20))
    await scheduler.run_once()
    assert (await history(store))[2:] == [("DisputeDeadlineOverdue", "resolution")]

    await do(store, "d-leak", domain.transfer, TransferDispute(reason="双方分歧大"))
    # The transfer is the resolution step met (late); the first session is moot, not met.
    assert (await history(store))[3:] == [("DisputeDeadlineOverdueResolved", "resolution"), ("DisputeTransferred",)]
    clock.advance(timedelta(days=60))
    await scheduler.run_once()
    assert len(await history(store)) == 5


async def test_a_case_on_time_gets_no_overdue_at_all(store, clock):
    await register(store)
    await to_mediation(store)
    await agree(store)
    await do(store, "d-leak", domain.follow_up, RecordFollowUp(
        visited_on=TODAY, visited_by=["赵德明"], note="均已履行", fulfilled_clauses=[1, 2]))
    await do(store, "d-leak", domain.close, CloseDispute(archive_no="2026-调-001"))
    clock.advance(timedelta(days=400))
    await a_scheduler(store, clock).run_once()
    kinds = [entry[0] for entry in await history(store)]
    assert "DisputeDeadlineOverdue" not in kinds
    assert kinds[-1] == "JudicialConfirmationReminded"  # the art. 33 window is the parties', closed or not
    async with store.engine.connect() as conn:
        rows = (await conn.execute(deadlines.select())).all()
    assert all(row.met_at or row.overdue_at for row in rows)


async def test_each_clause_not_fulfilled_by_its_day_is_overdue_and_its_fulfilment_resolves_it(store, clock):
    await register(store)
    await to_mediation(store)
    await agree(store, clause_days=(5, 9))
    scheduler = a_scheduler(store, clock)
    await do(store, "d-leak", domain.follow_up, RecordFollowUp(
        visited_on=TODAY, visited_by=["赵德明"], note="第1条未履行", fulfilled_clauses=[]))
    start = len(await history(store))

    clock.advance(timedelta(days=7))  # past clause 1's day, not clause 2's
    await scheduler.run_once()
    assert (await history(store))[start:] == [("DisputeDeadlineOverdue", "clause.1")]
    overdue = (await store.load(dispute_stream("d-leak")))[-1]
    assert overdue.data["clause_no"] == 1
    due_at = datetime.fromisoformat(overdue.data["due_at"]).astimezone(CHINA)
    assert (due_at.date(), due_at.hour) == (TODAY + timedelta(days=6), 0)  # the day after its due date, in China

    await do(store, "d-leak", domain.follow_up, RecordFollowUp(
        visited_on=TODAY, visited_by=["赵德明"], note="第1条已履行", fulfilled_clauses=[1]))
    assert (await history(store))[start + 1:] == [("DisputeDeadlineOverdueResolved", "clause.1"), ("AgreementFollowedUp",)]

    clock.advance(timedelta(days=3))  # clause 2's day passed too
    await scheduler.run_once()
    await scheduler.run_once()
    assert (await history(store))[start + 3:] == [("DisputeDeadlineOverdue", "clause.2")]


async def test_no_follow_up_within_15_days_of_the_agreement_is_overdue_and_the_reminder_comes_on_day_23(store, clock):
    await register(store)
    await to_mediation(store)
    await agree(store, clause_days=(40,))
    start = len(await history(store))
    scheduler = a_scheduler(store, clock)
    clock.advance(timedelta(days=15, minutes=1))
    await scheduler.run_once()
    assert (await history(store))[start:] == [("DisputeDeadlineOverdue", "first_follow_up")]

    clock.advance(timedelta(days=9))
    await scheduler.run_once()
    await a_scheduler(store, clock).run_once()
    events = await store.load(dispute_stream("d-leak"))
    assert events[-1].type == "mediation.JudicialConfirmationReminded"
    assert events[-1].data["confirm_by"] == (TODAY + timedelta(days=30)).isoformat()
    assert [event.type for event in events].count("mediation.JudicialConfirmationReminded") == 1


async def test_a_community_policy_shortens_a_step_for_that_community_only(store, clock):
    await register(store)
    scheduler = a_scheduler(store, clock, {MIANZHOU: {"dispute.accept": timedelta(days=1)}, "c-other": {}})
    clock.advance(timedelta(days=1, minutes=1))
    await scheduler.run_once()
    assert await history(store) == [("DisputeDeadlineOverdue", "accept")]


async def test_a_refused_case_is_watched_no_more(store, clock):
    await register(store)
    await do(store, "d-leak", domain.refuse, RefuseMediation(party_id="p2", reason="不愿调解"))
    clock.advance(timedelta(days=90))
    await a_scheduler(store, clock).run_once()
    assert await history(store) == [("MediationRefused",), ("DisputeClosed",)]


async def transferred(store, scheduler, clock) -> None:
    await register(store)
    clock.advance(timedelta(days=3, minutes=1))
    await scheduler.run_once()  # accepted late: the accept step was overdue once already
    await do(store, "d-leak", domain.accept, AcceptDispute(mediators=["赵德明"]))
    await do(store, "d-leak", domain.transfer, TransferDispute(reason="双方分歧大"))


async def test_a_case_assigned_back_must_be_accepted_again_within_3_days(store, clock):
    scheduler = a_scheduler(store, clock)
    await transferred(store, scheduler, clock)
    await do(store, "d-leak", changes.assign_back, AssignBackDispute(instructions="请社区再次调解"), OFFICER)
    clock.advance(timedelta(days=3))
    await scheduler.run_once()
    await scheduler.run_once()
    assert (await history(store))[-2:] == [("DisputeAssignedBack",), ("DisputeDeadlineOverdue", "accept")]


async def test_a_case_the_street_took_over_has_its_first_session_due_within_10_days_of_the_take_over(store, clock):
    scheduler = a_scheduler(store, clock)
    await transferred(store, scheduler, clock)
    await do(store, "d-leak", changes.take_over, TakeOverDispute(), OFFICER)
    clock.advance(timedelta(days=10, minutes=1))
    await scheduler.run_once()
    assert (await history(store))[-2:] == [("DisputeTakenOver",), ("DisputeDeadlineOverdue", "first_session")]
