"""Households decide and evolve without I/O: registration, changes, idempotent retries."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.intake.domain import households as domain
from shared.contracts.intake import PersonRecord
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


def people_of(command: RegisterHousehold) -> list[PersonRecord]:
    """The people as recorded; the handler seals their data and gives them resident ids."""
    return [
        PersonRecord.model_validate({**person.model_dump(), "resident_id": f"r{slot}"})
        for slot, person in enumerate([command.head, *command.members])
    ]


def register(content=WANG_XIUYING, digest="d1"):
    command = RegisterHousehold.model_validate(content)
    return domain.register("h1", command, people_of(command), digest)


def registered_household():
    return domain.replay(stored(register()))


def plain(household):
    return household.document


def changes(household, change, community_id="c-mianzhou"):
    command = ChangeHousehold.model_validate(change)
    return domain.changes(household, "h1", community_id, command, plain(household))


def test_a_registered_household_derives_its_size_and_keeps_every_ledger_column():
    household = registered_household()
    assert household.version == 1
    assert household.document["household_size"] == 2
    assert household.document["head"]["phone"] == "13812345678"
    assert household.document["head"]["resident_id"] == "r0"
    assert household.document["members"][0]["relation"] == "20"
    assert household.document["needs"] == "老人助餐"


def test_the_same_request_again_is_a_retry():
    assert domain.is_retry(registered_household(), "h1", "c-mianzhou", "d1")
    assert not domain.is_retry(domain.Household(), "h1", "c-mianzhou", "d1")


def test_the_same_household_id_with_other_content_is_refused():
    with pytest.raises(domain.HouseholdAlreadyRegistered):
        domain.is_retry(registered_household(), "h1", "c-mianzhou", "another-request")


def test_a_change_records_only_the_sections_that_differ():
    household = registered_household()
    sections = changes(household, {"needs": "就业岗位", "address": WANG_XIUYING["address"]})
    assert list(sections) == ["needs"]
    (changed,) = domain.change("h1", sections)
    after = domain.replay(stored([*register(), changed]))
    assert after.version == 2
    assert after.document["needs"] == "就业岗位"
    assert after.document["address"]["compound"] == "幸福楼院"


def test_a_person_sent_unchanged_is_not_a_change_although_the_record_has_a_resident_id():
    household = registered_household()
    head = {**WANG_XIUYING["head"], "phone": "13812345678"}
    assert changes(household, {"head": head}) == {}


def test_a_change_that_changes_nothing_decides_nothing():
    household = registered_household()
    assert changes(household, {"needs": "老人助餐"}) == {}
    assert domain.change("h1", {}) == []


def test_replacing_the_members_recomputes_the_household_size():
    household = registered_household()
    (changed,) = domain.change("h1", changes(household, {"members": []}))
    after = domain.evolve(household, stored([changed], start_version=1)[0])
    assert after.document["household_size"] == 1


def test_a_household_of_another_community_cannot_be_changed():
    with pytest.raises(domain.HouseholdNotFound):
        changes(registered_household(), {"needs": "x"}, community_id="c-dongjin")


def test_an_unregistered_household_cannot_be_changed():
    with pytest.raises(domain.HouseholdNotFound):
        domain.changes(domain.Household(), "h1", "c-mianzhou", ChangeHousehold.model_validate({"needs": "x"}), {})
