"""The case read model's deadlines and early warning, on SQLite and PostgreSQL: mediation's
events (as its handlers and scheduler store them) projected by the gateway's views, as the
`gateway.views` consumer would, in batches of any size."""

from datetime import timedelta

import pytest

from services.gateway.views import all_views, views_metadata
from services.gateway.views.disputes import get_dispute
from services.mediation.domain import dispute_changes as changes
from services.mediation.domain import disputes as domain
from services.mediation.domain.dispute_rules import Actor
from shared.contracts.mediation import dispute_stream
from shared.contracts.mediation_deadlines import DisputeDeadlineOverdue, DisputeDeadlineOverdueResolved
from shared.contracts.mediation_requests import AcceptDispute, RegisterDispute, TakeOverDispute, TransferDispute
from shared.db import schema_change, write_transaction
from shared.events import CommandContext, utc_now
from shared.eventstore import START
from tests.support.kernel import close_store, open_store

MIANZHOU = "c-mianzhou"
NOW = utc_now()


def leak(parties=None, place=None, cause="楼上漏水") -> RegisterDispute:
    return RegisterDispute.model_validate({
        "source": "party_applied", "category": "02", "dispute_cause": cause,
        "parties": parties or [{"side": "a", "resident_id": "r-wangxiuying", "name": "王秀英"},
                               {"side": "b", "name": "张建华"}],
        "place": place if place is not None else {"compound": "幸福楼院", "building": "3栋"},
    })


@pytest.fixture
async def store(database_url):
    store = await open_store(database_url)
    async with schema_change(store.engine) as conn:
        await conn.run_sync(views_metadata.create_all)
    yield store
    await close_store(store)


async def register(store, dispute_id, command, days_ago=0, community=MIANZHOU):
    events = domain.register(domain.Dispute(), dispute_id, community, command)
    await store.append(dispute_stream(dispute_id), 0, events, CommandContext.new(community, "u-limin"),
                       occurred_at=NOW - timedelta(days=days_ago))


async def project(store, batch_size=1000) -> None:
    """Everything stored, in the store's order, through the gateway's views."""
    views = all_views()
    envelopes = [stored.envelope for stored in await store.read_all(START, 10_000)]
    for start in range(0, len(envelopes), batch_size):
        async with write_transaction(store.engine) as conn:
            await views.apply_batch(conn, envelopes[start:start + batch_size])


async def case(store, dispute_id, community=MIANZHOU):
    return await get_dispute(store.engine, community, dispute_id)


@pytest.mark.parametrize("batch_size", [1, 1000])
async def test_a_repeat_dispute_between_the_same_parties_within_12_months_is_flagged(store, batch_size):
    await register(store, "d-old", leak(cause="去年漏水"), days_ago=200)
    # The same two people, sides swapped, somewhere else.
    await register(store, "d-new", leak(parties=[{"side": "a", "name": "张建华"},
                                                 {"side": "b", "resident_id": "r-wangxiuying", "name": "王秀英"}],
                                        place={"compound": "滨江楼院"}))
    await project(store, batch_size)
    risk = (await case(store, "d-new"))["escalation_risk"]
    assert (risk["flagged"], risk["reasons"], risk["labels"]) == (True, ["same_parties"], ["同一当事人再次发生纠纷"])
    assert [(earlier["id"], earlier["dispute_cause"]) for earlier in risk["earlier_cases"]] == [("d-old", "去年漏水")]
    assert (await case(store, "d-old"))["escalation_risk"]["flagged"] is False


async def test_the_same_place_within_12_months_is_flagged_and_older_cases_or_other_communities_are_not(store):
    strangers = [{"side": "a", "name": "李四"}, {"side": "b", "name": "王五"}]
    others = [{"side": "a", "name": "赵六"}, {"side": "b", "name": "钱七"}]
    await register(store, "d-ancient", leak(), days_ago=400)
    await register(store, "d-elsewhere", leak(), days_ago=10, community="c-dongjin")
    await register(store, "d-same-compound-other-building", leak(parties=others, place={"compound": "幸福楼院", "building": "5栋"}), days_ago=5)
    await register(store, "d-new", leak(parties=strangers))
    await project(store)
    risk = (await case(store, "d-new"))["escalation_risk"]
    assert risk["flagged"] is False, risk
    await register(store, "d-again", leak(parties=[{"side": "a", "name": "孙八"}, {"side": "b", "name": "周九"}], place={"compound": "幸福楼院", "building": "3栋"}))
    await project(store)
    risk = (await case(store, "d-again"))["escalation_risk"]
    assert (risk["reasons"], [earlier["id"] for earlier in risk["earlier_cases"]]) == (["same_place"], ["d-new"])


async def test_one_common_party_alone_is_not_the_same_parties(store):
    await register(store, "d-old", leak(), days_ago=30)
    await register(store, "d-new", leak(parties=[{"side": "a", "resident_id": "r-wangxiuying"}, {"side": "b", "name": "陌生人"}],
                                        place={"compound": "滨江楼院"}))
    await project(store)
    assert (await case(store, "d-new"))["escalation_risk"]["flagged"] is False


@pytest.mark.parametrize("batch_size", [1, 1000])
async def test_an_overdue_and_its_resolution_show_on_the_case_and_its_version_follows_the_stream(store, batch_size):
    await register(store, "d-leak", leak())
    stream = dispute_stream("d-leak")
    context = CommandContext.new(MIANZHOU, "scheduler:mediation")
    await store.append(stream, 1, [DisputeDeadlineOverdue(dispute_id="d-leak", step="dispute.accept", due_at=NOW)], context)
    await project(store, batch_size)
    shown = await case(store, "d-leak")
    assert shown["version"] == 2
    assert shown["deadlines"]["overdue_now"] == ["登记后 3 日内受理"]
    assert shown["deadlines"]["overdue"][0]["resolved_at"] is None

    await store.append(stream, 2, [
        DisputeDeadlineOverdueResolved(dispute_id="d-leak", step="dispute.accept"),
        *domain.accept(domain.replay(await store.load(stream)), "d-leak", MIANZHOU, AcceptDispute(mediators=["赵德明"])),
    ], context)
    await project(store, batch_size)
    shown = await case(store, "d-leak")
    assert (shown["version"], shown["status"], shown["deadlines"]["overdue_now"]) == (4, "accepted", [])
    assert shown["deadlines"]["overdue"][0]["resolved_at"] is not None
    assert shown["escalation_risk"]["flagged"] is False


async def test_a_first_session_overdue_is_moot_once_the_case_is_transferred_and_may_be_missed_again_after_a_take_over(store):
    await register(store, "d-up", leak())
    stream = dispute_stream("d-up")
    context = CommandContext.new(MIANZHOU, "u-zhaodeming")
    state = domain.replay(await store.load(stream))
    await store.append(stream, 1, domain.accept(state, "d-up", MIANZHOU, AcceptDispute(mediators=["赵德明"])), context)
    await store.append(stream, 2, [DisputeDeadlineOverdue(dispute_id="d-up", step="dispute.first_session", due_at=NOW)],
                       context)
    await project(store)
    assert (await case(store, "d-up"))["deadlines"]["overdue_now"] == ["受理后 10 日内首次调解"]

    state = domain.replay(await store.load(stream))
    await store.append(stream, 3, domain.transfer(state, "d-up", MIANZHOU, TransferDispute(reason="调解未果")), context)
    await project(store)
    shown = (await case(store, "d-up"))["deadlines"]
    assert shown["overdue_now"] == [] and shown["overdue"][0]["moot_at"] and shown["overdue"][0]["resolved_at"] is None

    state = domain.replay(await store.load(stream))
    await store.append(stream, 4, changes.take_over(state, "d-up", MIANZHOU, TakeOverDispute(), Actor("street", "张志强")),
                       context)
    await store.append(stream, 5, [DisputeDeadlineOverdue(dispute_id="d-up", step="dispute.first_session", due_at=NOW)],
                       context)
    await project(store)
    shown = (await case(store, "d-up"))["deadlines"]
    assert shown["overdue_now"] == ["受理后 10 日内首次调解"] and len(shown["overdue"]) == 2
