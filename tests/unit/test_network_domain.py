"""The information network decides and evolves without I/O: teams counted by their active
officers, party members placed only in their group's compound, meetings that name one
report per item, retries that change nothing, and every refusal with its reason."""

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from services.intake.domain import network as domain
from shared.contracts.intake_network import (
    FormInfoOfficerTeam,
    FormPartyGroup,
    HoldSentimentMeeting,
    InfoOfficerJoined,
    PlacePartyMember,
)
from shared.events import Envelope

MIANZHOU = "c-mianzhou"
TEAM = FormInfoOfficerTeam(name="幸福楼院信息员小组", compound="幸福楼院", leader="王秀英")


def apply(state, events, community_id=MIANZHOU):
    for event in events:
        state = domain.evolve(
            state,
            Envelope(
                event_id=uuid4(), type=event.event_type, stream_id="s", version=state.version + 1,
                position=state.version + 1, community_id=community_id, occurred_at=datetime(2026, 5, 4, tzinfo=UTC),
                actor="u-worker", correlation_id="c", data=event.model_dump(mode="json"),
            ),
        )
    return state


def joined(member_id="m1", resident_id="r-wang", name=None, role="party_member", on="2026-05-04"):
    person = {"resident_id": resident_id} if resident_id else {"name": name, "phone": "sealed", "phone_masked": "138****5678"}
    return InfoOfficerJoined(team_id="t1", member_id=member_id, role=role, joined_on=on, **person)


def team_with(*members):
    state = apply(domain.Record(), domain.form_team(domain.Record(), "t1", MIANZHOU, TEAM))
    for member in members:
        state = apply(state, domain.join_team(state, "t1", MIANZHOU, member))
    return state


def test_a_team_counts_its_officers_until_they_leave():
    state = team_with(joined("m1"), joined("m2", resident_id=None, name="张桂兰", role="property_manager"))
    assert (state.document["member_count"], state.document["members"][1]["role_label"]) == (2, "物业管理人员")
    state = apply(state, domain.leave_team(state, "t1", MIANZHOU, "m1", "2026-06-01", "搬离本楼院"))
    assert state.document["member_count"] == 1
    assert state.document["members"][0]["left_on"] == "2026-06-01"


def test_a_retried_team_or_join_writes_nothing():
    state = team_with(joined("m1"))
    assert domain.form_team(state, "t1", MIANZHOU, TEAM) == []
    assert domain.join_team(state, "t1", MIANZHOU, joined("m1")) == []


def test_a_key_reused_for_another_team_is_a_conflict():
    state = team_with()
    with pytest.raises(domain.AlreadyRecorded):
        domain.form_team(state, "t1", MIANZHOU, TEAM.model_copy(update={"name": "和平楼院信息员小组"}))


def test_joining_twice_is_refused_with_the_persons_name():
    state = team_with(joined("m1", resident_id=None, name="张桂兰"))
    with pytest.raises(domain.IllegalTransition, match="this person is already in the team") as refused:
        domain.join_team(state, "t1", MIANZHOU, joined("m2", resident_id=None, name="张桂兰"))
    assert "张桂兰" in refused.value.detail_zh


def test_someone_who_left_may_join_again():
    state = team_with(joined("m1"))
    state = apply(state, domain.leave_team(state, "t1", MIANZHOU, "m1", "2026-06-01", None))
    assert domain.join_team(state, "t1", MIANZHOU, joined("m2", on="2026-09-01"))


def test_leaving_twice_is_refused_with_the_date_left():
    state = team_with(joined("m1"))
    state = apply(state, domain.leave_team(state, "t1", MIANZHOU, "m1", "2026-06-01", None))
    with pytest.raises(domain.IllegalTransition, match="already left on 2026-06-01"):
        domain.leave_team(state, "t1", MIANZHOU, "m1", "2026-06-02", None)


def test_leaving_before_joining_is_refused():
    with pytest.raises(domain.IllegalTransition, match="before joining"):
        domain.leave_team(team_with(joined("m1")), "t1", MIANZHOU, "m1", "2026-01-01", None)


def test_a_team_or_member_unknown_or_of_another_community_is_not_found():
    with pytest.raises(domain.NotFound):
        domain.join_team(domain.Record(), "t1", MIANZHOU, joined())
    with pytest.raises(domain.NotFound):
        domain.join_team(team_with(), "t1", "c-dongjin", joined())
    with pytest.raises(domain.NotFound):
        domain.leave_team(team_with(), "t1", MIANZHOU, "m9", "2026-06-01", None)


def group():
    return apply(domain.Record(), domain.form_party_group(domain.Record(), "g1", MIANZHOU, FormPartyGroup(compound="幸福楼院")))


def place(resident_id="r-wang", building="3栋", compound=None):
    return PlacePartyMember(resident_id=resident_id, building=building, compound=compound, placed_on=date(2026, 5, 4))


def test_party_members_are_listed_by_building_and_placing_again_moves_them():
    state = group()
    for command in (place(), place("r-li", "1栋"), place("r-zhang", "3栋")):
        state = apply(state, domain.place_party_member(state, "g1", MIANZHOU, command))
    assert state.document["name"] == "幸福楼院党小组"
    assert state.document["by_building"] == {"1栋": ["r-li"], "3栋": ["r-wang", "r-zhang"]}
    assert domain.place_party_member(state, "g1", MIANZHOU, place()) == []
    state = apply(state, domain.place_party_member(state, "g1", MIANZHOU, place(building="5栋")))
    assert (state.document["by_building"]["5栋"], state.document["member_count"]) == (["r-wang"], 3)


def test_a_party_member_cannot_be_placed_in_a_compound_not_of_their_group():
    with pytest.raises(domain.IllegalTransition, match="not 和平楼院"):
        domain.place_party_member(group(), "g1", MIANZHOU, place(compound="和平楼院"))


def test_a_compound_has_one_party_group():
    state = group()
    assert domain.form_party_group(state, "g1", MIANZHOU, FormPartyGroup(compound="幸福楼院")) == []
    with pytest.raises(domain.IllegalTransition, match="already has a party group"):
        domain.form_party_group(state, "g1", MIANZHOU, FormPartyGroup(compound="幸福楼院", name="第二党小组"))


MEETING = HoldSentimentMeeting.model_validate({
    "held_on": "2026-05-04", "place": "社区会议室",
    "participants": {"resident_ids": ["r-wang"], "names": ["张桂兰"], "count": 12},
    "items": [
        {"text": "楼道灯坏了", "place": {"compound": "幸福楼院", "building": "3栋"}, "resident_id": "r-wang"},
        {"text": "希望增设老年助餐点", "place": {"compound": "和平楼院"}},
    ],
})


def test_a_meeting_links_each_item_to_its_report_and_a_retry_writes_nothing():
    events = domain.hold_meeting(domain.Record(), "mt1", MIANZHOU, MEETING, ["r1", "r2"])
    state = apply(domain.Record(), events)
    assert [(item["text"], item["report_id"]) for item in state.document["items"]] == [("楼道灯坏了", "r1"), ("希望增设老年助餐点", "r2")]
    assert state.document["participants"]["count"] == 12
    assert domain.hold_meeting(state, "mt1", MIANZHOU, MEETING, ["r1", "r2"]) == []


def test_a_meeting_without_items_or_with_fewer_people_than_named_is_refused_as_input():
    with pytest.raises(ValidationError, match="too_short|at least 1"):
        HoldSentimentMeeting.model_validate({**MEETING.model_dump(mode="json"), "items": []})
    with pytest.raises(ValidationError, match="below the 2 participants"):
        HoldSentimentMeeting.model_validate(
            {**MEETING.model_dump(mode="json"), "participants": {"resident_ids": ["r-wang"], "names": ["张桂兰"], "count": 1}}
        )


def test_the_participants_count_defaults_to_those_named():
    body = {**MEETING.model_dump(mode="json"), "participants": {"names": ["张桂兰", "李强"]}}
    state = apply(domain.Record(), domain.hold_meeting(domain.Record(), "mt1", MIANZHOU, HoldSentimentMeeting.model_validate(body), ["r1", "r2"]))
    assert state.document["participants"]["count"] == 2
