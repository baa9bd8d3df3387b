"""Care deadlines on SQLite and PostgreSQL alike, with a clock the test moves: a household's
yearly revisit and an elderly resident's 30-day contact pass in milliseconds; each overdue is
emitted once however the scheduler restarts, a late visit or contact resolves it and starts
the next period, and clearing the label ends the watch."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.intake import deadlines as intake_deadlines
from services.intake.handlers import Intake
from services.intake.handlers import care as care_handlers
from services.intake.handlers import households as household_handlers
from services.intake.handlers import residents as resident_handlers
from services.intake.registry import registry_metadata
from shared.contracts.intake import household_stream
from shared.contracts.intake_care import RecordContact, RecordHouseholdVisit
from shared.contracts.intake_requests import ClearLabel, LabelResident, RegisterHousehold
from shared.contracts.intake_residents import resident_stream
from shared.db import create_tables
from shared.deadlines import DeadlineScheduler, DeadlineTracker, ManualClock
from shared.events import CommandContext
from shared.sealing import Sealer
from tests.support.kernel import SECRET, PatientScheduler, close_store, open_store

MIANZHOU = "c-mianzhou"
MONDAY_9AM = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WANG_XIUYING = RegisterHousehold.model_validate({
    "head": {"name": "王秀英", "sex": "2", "birth_month": "1948-03", "ethnicity": "01", "political_status": "13"},
    "members": [],
    "address": {"compound": "幸福楼院", "building": "3栋"},
})
AS_WORKER = CommandContext.new(MIANZHOU, "u-limin")


@pytest.fixture
async def store(database_url):
    store = await open_store(database_url)
    yield store
    await close_store(store)


@pytest.fixture
def clock():
    return ManualClock(MONDAY_9AM)


async def an_intake(store, clock, overrides=None) -> Intake:
    sealer = Sealer(store.engine, SECRET, "intake")
    await sealer.setup()
    await create_tables(store.engine, registry_metadata)
    await DeadlineTracker(store, intake_deadlines.RULES).setup()
    return Intake(store, sealer, b"k" * 32, clock, intake_deadlines.policy(overrides or {}))


def a_scheduler(store, clock) -> DeadlineScheduler:
    """A scheduler as a (re)started worker builds it: nothing in memory but its settings."""
    return PatientScheduler(DeadlineTracker(store, intake_deadlines.RULES), clock, intake_deadlines.overdue_handlers(store))


async def wang_registered(intake) -> tuple[str, str]:
    """王秀英's household and her resident id."""
    state, _, _ = await household_handlers.register_household(intake, "h-wang", WANG_XIUYING, AS_WORKER)
    return "h-wang", state.document["head"]["resident_id"]


async def wang_living_alone(intake) -> str:
    _, resident_id = await wang_registered(intake)
    label = LabelResident.model_validate(
        {"label": "elderly_alone", "since": "2026-01-05", "reason": "入户走访发现独居", "has_income": True}
    )
    await resident_handlers.label_resident(intake, resident_id, label.root, AS_WORKER)
    return resident_id


async def care_events(store, stream: str) -> list[str]:
    kinds = ("Visited", "Contacted", "Overdue", "Resolved")
    return [e.type.removeprefix("intake.") for e in await store.load(stream) if e.type.endswith(kinds)]


async def test_a_30_day_contact_deadline_passes_in_milliseconds_and_emits_overdue_once(store, clock):
    resident_id = await wang_living_alone(await an_intake(store, clock))
    scheduler = a_scheduler(store, clock)
    clock.advance(timedelta(days=30) - timedelta(minutes=1))
    await scheduler.run_once()
    assert await care_events(store, resident_stream(resident_id)) == []

    clock.advance(timedelta(minutes=1))
    await scheduler.run_once()
    await scheduler.run_once()
    assert await care_events(store, resident_stream(resident_id)) == ["ElderlyContactOverdue"]


async def test_a_restarted_scheduler_emits_the_revisit_that_fell_due_while_it_was_down_and_repeats_nothing(store, clock):
    household_id, _ = await wang_registered(await an_intake(store, clock))
    await a_scheduler(store, clock).run_once()  # ran, then the worker stopped
    clock.advance(timedelta(days=400))

    await a_scheduler(store, clock).run_once()
    assert await care_events(store, household_stream(household_id)) == ["HouseholdRevisitOverdue"]
    await a_scheduler(store, clock).run_once()
    assert await care_events(store, household_stream(household_id)) == ["HouseholdRevisitOverdue"]


async def test_a_late_visit_resolves_the_overdue_and_the_next_revisit_is_due_a_year_later(store, clock):
    intake = await an_intake(store, clock)
    household_id, _ = await wang_registered(intake)
    clock.advance(timedelta(days=366))
    await a_scheduler(store, clock).run_once()

    visit = RecordHouseholdVisit(visited_by="李敏", note="王秀英家一切安好")
    await care_handlers.record_visit(intake, household_id, visit, AS_WORKER)
    assert await care_events(store, household_stream(household_id)) == [
        "HouseholdRevisitOverdue", "HouseholdVisited", "HouseholdRevisitOverdueResolved"
    ]
    clock.advance(timedelta(days=364))
    await a_scheduler(store, clock).run_once()
    assert len(await care_events(store, household_stream(household_id))) == 3
    clock.advance(timedelta(days=2))
    await a_scheduler(store, clock).run_once()
    assert (await care_events(store, household_stream(household_id)))[-1] == "HouseholdRevisitOverdue"


async def test_a_late_contact_resolves_the_overdue_and_starts_the_next_30_days(store, clock):
    intake = await an_intake(store, clock)
    resident_id = await wang_living_alone(intake)
    clock.advance(timedelta(days=31))
    await a_scheduler(store, clock).run_once()

    call = RecordContact(how="phone", contacted_by="李敏", note="身体好")
    await care_handlers.record_contact(intake, resident_id, call, AS_WORKER)
    clock.advance(timedelta(days=31))
    await a_scheduler(store, clock).run_once()
    assert await care_events(store, resident_stream(resident_id)) == [
        "ElderlyContactOverdue", "ResidentContacted", "ElderlyContactOverdueResolved", "ElderlyContactOverdue"
    ]


async def test_clearing_the_elderly_label_ends_the_contact_deadline(store, clock):
    intake = await an_intake(store, clock)
    resident_id = await wang_living_alone(intake)
    cleared = ClearLabel(on=date(2026, 2, 1), reason="随子女同住")
    await resident_handlers.clear_label(intake, resident_id, "elderly_alone", cleared, AS_WORKER)
    clock.advance(timedelta(days=90))
    await a_scheduler(store, clock).run_once()
    assert await care_events(store, resident_stream(resident_id)) == []


async def test_a_community_policy_shortens_the_revisit_for_that_community(store, clock):
    intake = await an_intake(store, clock, {MIANZHOU: {"household.revisit": timedelta(days=90)}})
    household_id, _ = await wang_registered(intake)
    clock.advance(timedelta(days=91))
    await a_scheduler(store, clock).run_once()
    assert await care_events(store, household_stream(household_id)) == ["HouseholdRevisitOverdue"]
