"""A problem about a sheet names each error's row and column beside its field and message."""

from services.intake.api.imports import _differing
from services.intake.domain.imports import HouseholdsDiffer
from shared.problems import problem_response


def test_households_that_differ_are_listed_by_row_in_the_conflict_problem():
    response = problem_response(_differing(HouseholdsDiffer([(7, "冯淑英")])), "en")

    assert response.status_code == 409
    [error] = response.content["errors"]
    assert (error["row"], error["column"], error["field"], error["code"]) == (7, "姓名", "head", "household_differs")
    assert error["message"].startswith("the household on row 7 (head 冯淑英)")
