"""Mediation's deadlines and early warning with the real processes: a repeat dispute between
the same parties is flagged on the case; moving every process's clock past the 3-day
acceptance deadline makes mediation's worker emit the overdue, which the gateway shows on
the case and on the scorecard (community and street) by name, and accepting late resolves it.

Moves the shared platform's clock ahead like test_zero_blind_spots_flow, so it runs after it
(the file names sort so) and looks only at its own cases."""

import pytest

from tests.e2e.test_mediation_flow import act, cases, registered
from tests.e2e.test_zero_blind_spots_flow import eventually, move_clock, scorecard

pytestmark = pytest.mark.e2e

NEIGHBOURS = [{"side": "a", "name": "孟凡一"}, {"side": "b", "name": "孟凡二", "remarks": "隔壁"}]


def read(platform, case: dict) -> dict:
    answer = platform.gateway.get(cases(case["community_id"], case["id"]), headers=platform.login("mediator"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_repeat_dispute_is_flagged_and_a_late_acceptance_is_overdue_until_accepted(platform):
    first = registered(platform, dispute_cause="围墙界址争议", parties=NEIGHBOURS, place={"compound": "东风楼院", "building": "7栋"})
    again = registered(platform, dispute_cause="围墙又起争执", parties=NEIGHBOURS[::-1], place={"compound": "东风楼院"})
    risk = eventually(lambda: read(platform, again).get("escalation_risk"))
    assert (risk["flagged"], risk["reasons"]) == (True, ["same_parties"])
    assert [earlier["id"] for earlier in risk["earlier_cases"]] == [first["id"]]
    assert read(platform, first)["escalation_risk"]["flagged"] is False

    move_clock(platform, 3.1)
    overdue = eventually(lambda: (case := read(platform, first)).get("deadlines") and case)
    assert overdue["deadlines"]["overdue_now"] == ["登记后 3 日内受理"]
    assert overdue["version"] == first["version"] + 1

    card = scorecard(platform)["zero_escalation"]
    late = next(case for case in card["breaches"]["cases_past_deadline"] if case["dispute_id"] == first["id"])
    assert (late["parties"], late["overdue"]) == (["孟凡一", "孟凡二"], ["登记后 3 日内受理"])
    # (not `repeat_disputes`: those of the last 12 months, and earlier files moved the clock a year ahead)
    street = platform.gateway.get("/api/v1/streets/s-chengjiao/scorecard", headers=platform.login("street_officer"))
    assert street.status_code == 200, street.text
    assert street.json()["totals"]["zero_escalation"]["cases_past_deadline"] >= card["cases_past_deadline"] >= 1

    stale = act(platform, "mediator", first, "accept", {"mediators": ["赵德明"]})
    assert stale.status_code == 412, stale.text  # the overdue moved the case on: reload first
    accepted = act(platform, "mediator", overdue, "accept", {"mediators": ["赵德明"]})
    assert accepted.status_code == 200, accepted.text
    shown = accepted.json()
    assert (shown["status"], shown["version"]) == ("accepted", overdue["version"] + 2)
    shown = eventually(lambda: (case := read(platform, first))["deadlines"]["overdue"][0]["resolved_at"] and case)
    assert shown["deadlines"]["overdue_now"] == []
    late = scorecard(platform)["zero_escalation"]["breaches"]["cases_past_deadline"]
    assert first["id"] not in [case["dispute_id"] for case in late]
