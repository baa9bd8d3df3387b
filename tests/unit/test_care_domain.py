"""Visits and contacts decide and evolve without I/O: the next deadline, one overdue per due
time, a late visit or contact resolving it, and what the deadlines table makes of each event."""

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from services.intake import deadlines as intake_deadlines
from services.intake.domain import care as domain
from services.intake.domain.households import HouseholdNotFound
from services.intake.domain.residents import ResidentGone
from shared.contracts.intake_care import (
    CONTACT_STEP,
    REVISIT_STEP,
    RecordContact,
    RecordHouseholdVisit,
    start_of,
)
from shared.deadlines import Met, Missed, Opened
from shared.events import Envelope

REGISTERED_AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
YEAR, MONTH = timedelta(days=365), timedelta(days=30)
TODAY = date(2026, 12, 4)
VISIT = RecordHouseholdVisit(visited_by="李敏", visited_on=TODAY, note="王秀英家一切安好")
CALL = RecordContact(how="phone", contacted_by="李敏", contacted_on=TODAY, note="身体好，不缺什么")


def envelope(event_type, data, version, stream="household-h1", at=REGISTERED_AT):
    return Envelope(
        event_id=uuid4(), type=event_type, stream_id=stream, version=version, position=version,
        community_id="c-mianzhou", occurred_at=at, actor="u-limin", correlation_id="c", data=data,
    )


def applied(state, events, evolve, stream):
    for event in events:
        state = evolve(state, envelope(event.event_type, event.model_dump(mode="json"), state.version + 1, stream))
    return state


def a_household(due_at=REGISTERED_AT + YEAR):
    registered = envelope("intake.HouseholdRegistered", {"household_id": "h1", "revisit_due_at": due_at.isoformat()}, 1)
    return domain.evolve_household(domain.HouseholdCare(), registered)


def an_elderly_resident(due_at=REGISTERED_AT + MONTH):
    state = domain.evolve_resident(domain.ResidentCare(), envelope("intake.ResidentRegistered", {}, 1, "resident-wang"))
    labelled = {"label": "elderly_alone", "contact_due_at": due_at.isoformat()}
    return domain.evolve_resident(state, envelope("intake.ResidentLabelled", labelled, 2, "resident-wang"))


def test_a_visit_makes_the_next_one_due_a_year_after_that_day():
    events = domain.visit(a_household(), "h1", "c-mianzhou", VISIT, TODAY, YEAR)
    assert [e.event_type for e in events] == ["intake.HouseholdVisited"]
    assert events[0].next_visit_due_at == start_of(TODAY) + YEAR


def test_an_older_visit_typed_in_late_does_not_pull_the_deadline_back():
    visited = applied(a_household(), domain.visit(a_household(), "h1", "c-mianzhou", VISIT, TODAY, YEAR),
                      domain.evolve_household, "household-h1")
    older = RecordHouseholdVisit(visited_by="李敏", visited_on=date(2026, 6, 1))
    assert domain.visit(visited, "h1", "c-mianzhou", older, TODAY, YEAR)[0].next_visit_due_at == start_of(TODAY) + YEAR


def test_a_visit_in_the_future_or_to_another_communitys_household_is_refused():
    with pytest.raises(domain.DateInTheFuture):
        domain.visit(a_household(), "h1", "c-mianzhou", VISIT.model_copy(update={"visited_on": TODAY + timedelta(1)}), TODAY, YEAR)
    with pytest.raises(HouseholdNotFound):
        domain.visit(a_household(), "h1", "c-dongjin", VISIT, TODAY, YEAR)


def test_the_revisit_goes_overdue_once_per_due_time_and_a_late_visit_resolves_it():
    due = REGISTERED_AT + YEAR
    assert domain.revisit_overdue(a_household(), "h1", due, due - timedelta(seconds=1)) == []
    missed = domain.revisit_overdue(a_household(), "h1", due, due)
    assert [(e.event_type, e.due_at) for e in missed] == [("intake.HouseholdRevisitOverdue", due)]
    overdue = applied(a_household(), missed, domain.evolve_household, "household-h1")
    assert domain.revisit_overdue(overdue, "h1", due, due + YEAR) == []

    late = domain.visit(overdue, "h1", "c-mianzhou", VISIT, TODAY, YEAR)
    assert [e.event_type for e in late] == ["intake.HouseholdVisited", "intake.HouseholdRevisitOverdueResolved"]
    visited = applied(overdue, late, domain.evolve_household, "household-h1")
    assert domain.revisit_overdue(visited, "h1", due, due + YEAR) == []  # a deadline the visit replaced


def test_a_contact_with_an_elderly_resident_makes_the_next_one_due_in_30_days():
    events = domain.contact(an_elderly_resident(), "wang", "c-mianzhou", CALL, TODAY, MONTH)
    assert events[0].next_contact_due_at == start_of(TODAY) + MONTH and events[0].how == "phone"


def test_a_contact_with_a_resident_off_the_elderly_ledger_starts_no_deadline():
    state = domain.evolve_resident(domain.ResidentCare(), envelope("intake.ResidentRegistered", {}, 1, "resident-li"))
    assert domain.contact(state, "li", "c-mianzhou", CALL, TODAY, MONTH)[0].next_contact_due_at is None


def test_the_contact_goes_overdue_once_and_a_late_contact_resolves_it():
    due = REGISTERED_AT + MONTH
    missed = domain.contact_overdue(an_elderly_resident(), "wang", due, due + timedelta(days=1))
    assert [e.event_type for e in missed] == ["intake.ElderlyContactOverdue"]
    overdue = applied(an_elderly_resident(), missed, domain.evolve_resident, "resident-wang")
    assert domain.contact_overdue(overdue, "wang", due, due + timedelta(days=2)) == []
    late = domain.contact(overdue, "wang", "c-mianzhou", CALL, TODAY, MONTH)
    assert [e.event_type for e in late] == ["intake.ResidentContacted", "intake.ElderlyContactOverdueResolved"]


@pytest.mark.parametrize("ending", [
    ("intake.ResidentLabelCleared", {"label": "elderly_alone", "on": "2026-02-01", "reason": "随子女同住"}),
    ("intake.ResidentErased", {"reason": "本人要求"}),
    ("intake.ResidentMergedInto", {"survivor_id": "wang-2"}),
])
def test_no_contact_goes_overdue_once_the_label_is_cleared_or_the_record_erased_or_merged(ending):
    state = domain.evolve_resident(an_elderly_resident(), envelope(*ending, 3, "resident-wang"))
    due = REGISTERED_AT + MONTH
    assert domain.contact_overdue(state, "wang", due, due + YEAR) == []


def test_contacting_an_erased_resident_is_refused():
    erased = domain.evolve_resident(an_elderly_resident(), envelope("intake.ResidentErased", {"reason": "本人要求"}, 3))
    with pytest.raises(ResidentGone):
        domain.contact(erased, "wang", "c-mianzhou", CALL, TODAY, MONTH)


def test_the_rules_open_meet_and_miss_the_care_steps():
    def rule(event_type, data):
        return intake_deadlines.RULES[event_type](envelope(event_type, data, 1))

    due = REGISTERED_AT + YEAR
    assert rule("intake.HouseholdRegistered", {"revisit_due_at": due.isoformat()}) == [Opened(REVISIT_STEP, due)]
    assert rule("intake.HouseholdRegistered", {}) == [Opened(REVISIT_STEP, REGISTERED_AT + YEAR)]  # older events
    assert rule("intake.HouseholdVisited", {"next_visit_due_at": due.isoformat()}) == [Opened(REVISIT_STEP, due)]
    assert rule("intake.HouseholdRevisitOverdue", {}) == [Missed(REVISIT_STEP)]
    assert rule("intake.ResidentLabelled", {"label": "elderly_alone"}) == [Opened(CONTACT_STEP, REGISTERED_AT + MONTH)]
    assert rule("intake.ResidentLabelled", {"label": "hardship"}) == []
    assert rule("intake.ResidentContacted", {"next_contact_due_at": None}) == []
    assert rule("intake.ResidentLabelCleared", {"label": "elderly_alone"}) == [Met(CONTACT_STEP)]
    assert rule("intake.ResidentErased", {}) == [Met(CONTACT_STEP)]
    assert rule("intake.ElderlyContactOverdue", {}) == [Missed(CONTACT_STEP)]
