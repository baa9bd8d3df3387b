"""Report requests are shape-checked: closed code lists, text bounds, the three ways to name a
reporter, phones normalised; every error names its field in Chinese and English."""

import pytest
from pydantic import ValidationError

from services.gateway.views.reports import similarity
from shared.contracts.intake_reports import CHANNELS, ReportSentiment, TriageReport

LEAK = {"channel": "qq_group", "text": "楼上漏水，邻居不理", "place": {"compound": "幸福楼院", "building": "3栋"}}


def error_types(body, model=ReportSentiment):
    with pytest.raises(ValidationError) as failed:
        model.model_validate(body)
    return {(".".join(map(str, e["loc"])), e["type"]) for e in failed.value.errors()}


def test_every_channel_the_book_names_is_a_code_with_a_chinese_label():
    for code in ("qq_group", "forum", "sms", "mailbox", "party_member", "info_officer", "meeting", "questionnaire",
                 "visit", "residents_forum", "suggestion_box", "property_manager", "volunteer",
                 "local_organisation", "walk_in"):
        assert CHANNELS[code][0]
        assert ReportSentiment.model_validate({**LEAK, "channel": code}).channel == code


def test_an_anonymous_report_needs_no_reporter_and_a_resident_needs_only_an_id():
    assert ReportSentiment.model_validate(LEAK).reporter is None
    assert ReportSentiment.model_validate({**LEAK, "reporter": {"resident_id": "r-wang"}}).reporter.resident_id == "r-wang"


def test_a_named_reporter_needs_a_phone_which_is_normalised():
    report = ReportSentiment.model_validate({**LEAK, "reporter": {"name": "王秀英", "phone": "138 1234 5678"}})
    assert report.reporter.phone == "13812345678"
    assert error_types({**LEAK, "reporter": {"name": "王秀英"}}) == {("reporter", "reporter_form")}
    assert error_types({**LEAK, "reporter": {}}) == {("reporter", "reporter_form")}
    assert error_types({**LEAK, "reporter": {"resident_id": "r1", "name": "王秀英", "phone": "13812345678"}}) == {
        ("reporter", "reporter_form")
    }
    assert ("reporter.phone", "invalid_phone") in error_types({**LEAK, "reporter": {"name": "王", "phone": "12345"}})


def test_unknown_channels_and_categories_blank_or_overlong_text_are_refused():
    assert error_types({**LEAK, "channel": "wechat"}) == {("channel", "literal_error")}
    assert error_types({**LEAK, "text": ""}) == {("text", "string_too_short")}
    assert error_types({**LEAK, "text": "漏" * 2001}) == {("text", "string_too_long")}
    assert error_types({**LEAK, "place": {}}) == {("place.compound", "missing")}
    assert error_types({"category": "religion"}, TriageReport) == {("category", "literal_error")}


def test_two_phrasings_of_one_leak_are_similar_and_a_street_lamp_is_not():
    assert similarity("楼上漏水，邻居不理", "3栋楼上漏水好几天了，邻居不管") >= 0.3
    assert similarity("楼上漏水，邻居不理", "路灯坏了，晚上看不见") < 0.1
    assert similarity("", "路灯") == 0.0
