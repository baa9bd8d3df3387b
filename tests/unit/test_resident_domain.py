"""Residents decide and evolve without I/O: labels with reasons and dates, merge, erase."""

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from services.intake.domain import residents as domain
from services.intake.domain.households import Household
from shared.contracts.intake import AddressRecord
from shared.contracts.intake_residents import ResidentRecord
from shared.events import Envelope

TODAY = date(2026, 12, 4)
WANG = ResidentRecord(name="王秀英", sex="2", birth_month="1948-03", ethnicity="01", phone="fz1.sealed")
HOME = AddressRecord(compound="幸福楼院", building="3栋")


def stored(state, events, community_id="c-mianzhou"):
    for offset, event in enumerate(events, start=1):
        state = domain.evolve(
            state,
            Envelope(
                event_id=uuid4(),
                type=event.event_type,
                stream_id=f"resident-{state.resident_id}",
                version=state.version + 1,
                position=state.version + offset,
                community_id=community_id,
                occurred_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
                actor="u-worker",
                correlation_id="c",
                data=event.model_dump(mode="json"),
            ),
        )
    return state


def resident(resident_id="wang"):
    return stored(domain.Resident(resident_id=resident_id), domain.register(resident_id, WANG, HOME, "h1", "02"))


def labelled(state, name="elderly_alone", until=None, since=date(2026, 1, 5)):
    events = domain.label(state, "c-mianzhou", name, since, "入户走访发现独居", {"has_income": True}, until, TODAY)
    return stored(state, events)


def test_a_label_is_active_from_its_date_until_cleared():
    wang = labelled(resident())
    assert wang.labels["elderly_alone"].active_on(TODAY)

    cleared = stored(wang, domain.clear_label(wang, "c-mianzhou", "elderly_alone", TODAY, "子女接回同住", TODAY))

    assert not cleared.labels["elderly_alone"].active_on(TODAY)
    assert cleared.labels["elderly_alone"].cleared_on == "2026-12-04"


def test_a_resident_can_carry_several_labels_at_once():
    wang = labelled(labelled(resident()), "hardship")
    assert {name for name, label in wang.labels.items() if label.active_on(TODAY)} == {"elderly_alone", "hardship"}


def test_the_same_label_twice_is_refused_with_the_reason():
    wang = labelled(resident())
    with pytest.raises(domain.LabelNotAllowed) as refused:
        labelled(wang)
    assert refused.value.code == "illegal_transition"
    assert "clear it first" in refused.value.detail_en


def test_a_reentry_label_lapses_at_the_end_of_its_support_period_unless_renewed():
    wang = labelled(resident(), "reentry", until=date(2026, 12, 31))
    assert wang.labels["reentry"].active_on(TODAY)
    assert not wang.labels["reentry"].active_on(date(2027, 1, 1))

    renewed = stored(wang, domain.renew_label(wang, "c-mianzhou", "reentry", date(2027, 12, 31), "延长帮教", TODAY))

    assert renewed.labels["reentry"].active_on(date(2027, 6, 1))


def test_a_lapsed_label_can_be_given_again():
    wang = labelled(resident(), "reentry", until=date(2026, 6, 30))
    again = labelled(wang, "reentry", until=date(2027, 6, 30), since=date(2026, 12, 1))
    assert again.labels["reentry"].since == "2026-12-01"


@pytest.mark.parametrize(
    ("name", "until"), [("elderly_alone", date(2027, 1, 1)), ("reentry", date(2026, 12, 1))], ids=["no-period", "not-later"]
)
def test_a_renewal_needs_a_support_period_and_a_later_end(name, until):
    wang = labelled(resident(), name, until=date(2026, 12, 20) if name == "reentry" else None)
    with pytest.raises(domain.LabelNotAllowed):
        domain.renew_label(wang, "c-mianzhou", name, until, "延长", TODAY)


def test_clearing_a_label_the_resident_does_not_have_is_refused():
    with pytest.raises(domain.LabelNotAllowed):
        domain.clear_label(resident(), "c-mianzhou", "hardship", TODAY, "脱困", TODAY)


def test_clearing_before_the_label_began_is_refused():
    wang = labelled(resident())
    with pytest.raises(domain.LabelNotAllowed):
        domain.clear_label(wang, "c-mianzhou", "elderly_alone", date(2025, 12, 31), "误录", TODAY)


def test_an_erased_resident_takes_no_label_and_erasing_again_changes_nothing():
    wang = resident()
    erased = stored(wang, domain.erase(wang, "c-mianzhou", "本人申请删除个人信息"))
    assert erased.erased
    with pytest.raises(domain.ResidentGone) as refused:
        labelled(erased)
    assert "erased" in refused.value.detail_en
    assert domain.erase(erased, "c-mianzhou", "再次申请") == []


def test_a_merge_links_both_records_and_the_duplicate_then_takes_nothing_more():
    survivor, duplicate = resident("wang"), resident("wang-2")

    for_survivor, for_duplicate = domain.merge(survivor, duplicate, "c-mianzhou")
    survivor, duplicate = stored(survivor, for_survivor), stored(duplicate, for_duplicate)

    assert survivor.absorbed == ("wang-2",)
    assert duplicate.merged_into == "wang"
    with pytest.raises(domain.ResidentGone):
        labelled(duplicate)
    with pytest.raises(domain.ResidentGone):
        domain.merge(survivor, duplicate, "c-mianzhou")


def test_a_resident_cannot_be_merged_with_itself_or_across_communities():
    wang = resident()
    with pytest.raises(domain.CannotMergeWithItself):
        domain.merge(wang, wang, "c-mianzhou")
    with pytest.raises(domain.ResidentNotFound):
        domain.merge(wang, resident("li"), "c-dongjin")


def test_an_unknown_resident_is_not_found():
    with pytest.raises(domain.ResidentNotFound):
        domain.erase(domain.Resident(resident_id="nobody"), "c-mianzhou", "申请删除")


def household(household_id, head_id, members=(), community_id="c-mianzhou"):
    document = {"id": household_id, "head": {"resident_id": head_id}, "members": [{"resident_id": m} for m in members]}
    return Household(version=1, community_id=community_id, document=document)


def test_a_member_moves_from_one_household_to_another_of_the_community():
    son = resident("li")  # registered into h1
    (moved,) = domain.move(son, "c-mianzhou", household("h1", "wang", ["li"]), household("h2", "yan"), "h2", "10", TODAY, "婚后迁入")
    assert (moved.from_household_id, moved.to_household_id, moved.relation) == ("h1", "h2", "10")
    assert stored(son, [moved]).household_id == "h2"


def test_a_head_cannot_move_out_and_a_household_elsewhere_is_not_found():
    wang = resident("wang")
    with pytest.raises(domain.MoveNotAllowed):
        domain.move(wang, "c-mianzhou", household("h1", "wang"), None, None, None, TODAY, "迁出")
    with pytest.raises(domain.HouseholdNotFound):
        domain.move(resident("li"), "c-mianzhou", household("h1", "wang", ["li"]), household("h9", "zhou", community_id="c-dongjin"), "h9", "10", TODAY, "迁入")


def test_moving_into_ones_own_household_is_refused():
    with pytest.raises(domain.MoveNotAllowed):
        domain.move(resident("li"), "c-mianzhou", household("h1", "wang", ["li"]), household("h1", "wang", ["li"]), "h1", "20", TODAY, "重复")


def test_dropped_from_the_member_list_a_resident_leaves_that_household_only_once():
    son = resident("li")  # registered into h1
    (left,) = domain.left_household(son, "h1", TODAY)
    gone = stored(son, [left])
    assert (left.from_household_id, left.to_household_id, gone.household_id) == ("h1", None, None)
    assert domain.left_household(gone, "h1", TODAY) == []
