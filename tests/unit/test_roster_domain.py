"""The rosters decide and evolve without I/O: register, change, remove, the checks on a
session's roster ids, and the number of mediations counted from sessions by id or by name."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.mediation.domain import rosters as domain
from shared.contracts.mediation_rosters import mediation_counts
from shared.events import Envelope

MIANZHOU = "c-mianzhou"
AT = datetime(2026, 11, 4, 9, 30, tzinfo=UTC)
ZHAO = {"name": "赵德明", "sex": "1", "work_unit": "社区居委会", "phone": "fz1.x.y", "phone_masked": "138****5678", "remarks": None}


def apply(state, events, community_id=MIANZHOU):
    for event in events:
        state = domain.evolve(state, Envelope(
            event_id=uuid4(), type=event.event_type, stream_id="mediator-m1", version=state.version + 1,
            position=state.version + 1, community_id=community_id, occurred_at=AT, actor="u-worker",
            correlation_id="c", data=event.model_dump(mode="json"),
        ))
    return state


def registered(community_id=MIANZHOU):
    return apply(domain.Entry(), domain.register(domain.Entry(), "mediator", "m1", ZHAO), community_id)


def test_a_registered_mediator_is_on_the_roster_with_its_fields():
    state = registered()
    assert (state.version, state.community_id, state.removed) == (1, MIANZHOU, False)
    assert (state.document["name"], state.document["phone_masked"], state.document["removed"]) == ("赵德明", "138****5678", None)


def test_registering_again_is_a_retry_and_decides_nothing():
    assert domain.register(registered(), "mediator", "m1", ZHAO) == []


def test_a_change_replaces_every_field():
    state = apply(registered(), domain.change(registered(), "mediator", "m1", MIANZHOU, {**ZHAO, "phone": None, "phone_masked": None}))
    assert (state.version, state.document["phone"], state.document["work_unit"]) == (2, None, "社区居委会")


def test_a_removed_entry_changes_no_more_and_a_session_cannot_name_it():
    state = apply(registered(), domain.remove(registered(), "mediator", "m1", MIANZHOU, "调离"))
    assert state.removed and state.document["removed"]["reason"] == "调离"
    with pytest.raises(domain.RosterEntryRemoved):
        domain.change(state, "mediator", "m1", MIANZHOU, ZHAO)
    with pytest.raises(domain.NotOnRoster):
        domain.check_on_roster(state, "mediator", "m1", MIANZHOU)


def test_an_entry_of_another_community_is_not_found_there_and_not_on_its_roster():
    state = registered("c-dongjin")
    with pytest.raises(domain.RosterEntryNotFound) as refused:
        domain.change(state, "mediator", "m1", MIANZHOU, ZHAO)
    assert (refused.value.code, "调解员" in refused.value.detail_zh) == ("not_found", True)
    with pytest.raises(domain.NotOnRoster):
        domain.check_on_roster(state, "unit", "m1", MIANZHOU)
    with pytest.raises(domain.NotOnRoster):
        domain.check_on_roster(domain.Entry(), "mediator", "m9", MIANZHOU)


MEDIATORS = [
    {"id": "m-zhao", "name": "赵德明", "removed": None},
    {"id": "m-liu", "name": "刘芳", "removed": None},
    {"id": "m-wang-1", "name": "王军", "removed": None},
    {"id": "m-wang-2", "name": "王军", "removed": None},
    {"id": "m-gone", "name": "周涛", "removed": {"reason": "调离"}},
]


def test_a_session_counts_once_for_each_mediator_named_by_id_or_by_a_name_on_the_roster():
    sessions = [
        {"mediators": ["赵德明", "刘芳"], "mediator_ids": ["m-zhao"], "unit_ids": ["u-police"]},
        {"mediators": ["赵德明"], "unit_ids": ["u-police", "u-police"]},
        {"mediators": ["刘芳", "陈外聘"]},
    ]
    mediators, units = mediation_counts(sessions, MEDIATORS)
    assert mediators == {"m-zhao": 2, "m-liu": 2}
    assert units == {"u-police": 2}


def test_an_ambiguous_or_removed_name_counts_for_nobody_but_an_id_still_counts():
    sessions = [{"mediators": ["王军", "周涛"]}, {"mediators": ["王军"], "mediator_ids": ["m-wang-2"]}]
    mediators, _units = mediation_counts(sessions, MEDIATORS)
    assert mediators == {"m-wang-2": 1}


def test_sessions_recorded_before_the_rosters_existed_still_count_by_name():
    old_session = {"mediators": ["赵德明"], "session_no": 1}  # no mediator_ids or unit_ids fields
    assert mediation_counts([old_session], MEDIATORS) == ({"m-zhao": 1}, {})
