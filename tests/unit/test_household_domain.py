"""Households decide and evolve without I/O: registration, changes, idempotent retries."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.intake.domain import households as domain
from shared.contracts.intake_requests import ChangeHousehold, RegisterHousehold
from shared.events import Envelope

WANG_XIUYING = {
    "head": {
        "name": "王秀英",
        "sex": "2",
        "birth_month": "1958-03",
        "ethnicity": "01",
        "political_status": "01",
        "phone": "138 1234 5678",
    },
    "members": [{"name": "李强", "sex": "1", "birth_month": "1985-07", "ethnicity": "01", "relation": "20"}],
    "address": {"compound": "幸福楼院", "building": "3栋"},
    "needs": "老人助餐",
}


def stored(events, community_id="c-mianzhou", start_version=0):
    return [
        Envelope(
            event_id=uuid4(),
            type=event.event_type,
            stream_id="household-h1",
            version=start_version + offset,
            position=start_version + offset,
            community_id=community_id,
            occurred_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
            actor="u-worker",
            correlation_id="c",
            data=event.model_dump(mode="json"),
        )
        for offset, event in enumerate(events, start=1)
    ]


def registered_household():
    events = domain.register(domain.Household(), "h1", "c-mianzhou", RegisterHousehold.model_validate(WANG_XIUYING))
    return domain.replay(stored(events))


def test_a_registered_household_derives_its_size_and_keeps_every_ledger_column():
    household = registered_household()
    assert household.version == 1
    assert household.document["household_size"] == 2
    assert household.document["head"]["phone"] == "13812345678"
    assert household.document["members"][0]["relation"] == "20"
    assert household.document["needs"] == "老人助餐"


def test_retrying_the_same_registration_decides_nothing():
    household = registered_household()
    again = domain.register(household, "h1", "c-mianzhou", RegisterHousehold.model_validate(WANG_XIUYING))
    assert again == []


def test_the_same_household_id_with_other_content_is_refused():
    household = registered_household()
    other = {**WANG_XIUYING, "needs": "就业岗位"}
    with pytest.raises(domain.HouseholdAlreadyRegistered):
        domain.register(household, "h1", "c-mianzhou", RegisterHousehold.model_validate(other))


def test_a_change_records_only_the_sections_that_differ():
    household = registered_household()
    command = ChangeHousehold.model_validate({"needs": "就业岗位", "address": WANG_XIUYING["address"]})
    (changed,) = domain.change(household, "h1", "c-mianzhou", command)
    assert changed.changed == ["needs"]
    after = domain.replay(stored([*domain.register(domain.Household(), "h1", "c-mianzhou", RegisterHousehold.model_validate(WANG_XIUYING)), changed]))
    assert after.version == 2
    assert after.document["needs"] == "就业岗位"
    assert after.document["address"]["compound"] == "幸福楼院"


def test_a_change_that_changes_nothing_decides_nothing():
    household = registered_household()
    assert domain.change(household, "h1", "c-mianzhou", ChangeHousehold.model_validate({"needs": "老人助餐"})) == []


def test_replacing_the_members_recomputes_the_household_size():
    household = registered_household()
    (changed,) = domain.change(household, "h1", "c-mianzhou", ChangeHousehold.model_validate({"members": []}))
    after = domain.evolve(household, stored([changed], start_version=1)[0])
    assert after.document["household_size"] == 1


def test_a_household_of_another_community_cannot_be_changed():
    household = registered_household()
    with pytest.raises(domain.HouseholdNotFound):
        domain.change(household, "h1", "c-dongjin", ChangeHousehold.model_validate({"needs": "x"}))


def test_an_unregistered_household_cannot_be_changed():
    with pytest.raises(domain.HouseholdNotFound):
        domain.change(domain.Household(), "h1", "c-mianzhou", ChangeHousehold.model_validate({"needs": "x"}))
