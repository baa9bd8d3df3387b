"""Search keys find a name by its characters, its pinyin and its pinyin initials."""

import pytest

from shared.pinyin import MAX_KEY_LENGTH, MAX_NAME_LENGTH, normalise_query, search_keys


def finds(name: str, query: str) -> bool:
    return normalise_query(query) in search_keys(name)


@pytest.mark.parametrize("query", ["王秀英", "王秀", "秀英", "英"])
def test_a_name_is_found_by_its_characters(query):
    assert finds("王秀英", query)


@pytest.mark.parametrize("query", ["wangxiuying", "Wang Xiuying", "WANGXIUYING", "wang xiu ying", "xiuying", "wang"])
def test_a_name_is_found_by_its_full_pinyin_in_any_case_and_spacing(query):
    assert finds("王秀英", query)


@pytest.mark.parametrize("query", ["wxy", "wx", "WXY", "w x y", "xy"])
def test_a_name_is_found_by_its_pinyin_initials_and_their_prefixes(query):
    assert finds("王秀英", query)


@pytest.mark.parametrize("query", ["wxl", "李秀英", "wangxiulan", "yang"])
def test_a_name_is_not_found_by_another_names_characters_or_pinyin(query):
    assert not finds("王秀英", query)


def test_a_query_never_matches_across_the_parts_of_a_key():
    # "英w" would join the characters to the pinyin; "gw" the pinyin to the initials.
    assert not finds("王秀英", "英w") and not finds("王秀英", "yingwxy")


def test_full_width_letters_are_folded_to_half_width():
    assert normalise_query("ＷＡＮＧ Ｘｉｕｙｉｎｇ") == "wangxiuying"
    assert finds("王秀英", "ＷＸＹ")


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("单田芳", "shantianfang", "stf"),
        ("曾国藩", "zengguofan", "zgf"),
        ("区志坚", "ouzhijian", "ozj"),
        ("朴槿惠", "piaojinhui", "pjh"),
        ("尉迟恭", "yuchigong", "ycg"),
        ("长孙无忌", "zhangsunwuji", "zswj"),
    ],
)
def test_a_polyphonic_surname_is_read_as_a_surname(name, full, initials):
    assert finds(name, full) and finds(name, initials)


@pytest.mark.parametrize(
    ("name", "common_reading", "other_reading"),
    [
        ("乐嘉", "yuejia", "lejia"),
        ("覃玉兰", "qinyulan", "tanyulan"),
        ("解缙", "xiejin", "jiejin"),
        ("仇英", "qiuying", "chouying"),
        ("查良镛", "zhaliangyong", "chaliangyong"),
    ],
)
def test_a_surname_said_two_ways_is_found_by_both(name, common_reading, other_reading):
    assert finds(name, common_reading) and finds(name, other_reading)


@pytest.mark.parametrize(("name", "wrong_reading"), [("单田芳", "dantianfang"), ("曾国藩", "cengguofan")])
def test_a_surname_is_not_given_its_everyday_reading(name, wrong_reading):
    assert not finds(name, wrong_reading)


def test_a_character_keeps_its_everyday_reading_after_the_surname():
    assert finds("李长江", "lichangjiang") and not finds("李长江", "lizhangjiang")


def test_the_middle_dot_of_a_minority_name_is_optional_in_the_query():
    name = "阿依古丽·买买提"
    for query in ["阿依古丽·买买提", "阿依古丽买买提", "买买提", "ayigulimaimaiti", "maimaiti", "ayglmmt"]:
        assert finds(name, query), query


def test_a_transliterated_name_is_not_read_with_a_surname_reading():
    # 乐 at the start of a transliterated name is just a sound, read as pypinyin reads it.
    assert finds("乐乐·买买提", "lelemaimaiti") and not finds("乐乐·买买提", "yuele")


def test_a_mixed_latin_name_is_found_by_its_words_and_its_pinyin():
    assert finds("Tom李", "tom") and finds("Tom李", "tomli") and finds("Tom李", "tl")
    assert finds("David Smith", "David Smith") and finds("David Smith", "ds")


def test_u_umlaut_is_typed_v_as_on_a_pinyin_keyboard():
    assert finds("吕小军", "lvxiaojun") and finds("吕小军", "lüxiaojun")


def test_like_wildcards_and_punctuation_are_dropped_from_a_query():
    assert normalise_query("王%秀_英!") == "王秀英"


def test_a_blank_query_normalises_to_nothing():
    assert normalise_query("  · ") == ""


def test_the_key_of_the_longest_name_stays_bounded():
    for char in "乐壮":  # 乐: two surname readings; 壮 zhuang: the longest syllable
        assert len(search_keys(char * MAX_NAME_LENGTH)) <= MAX_KEY_LENGTH


def test_a_character_pypinyin_does_not_know_is_kept_as_it_is():
    assert finds("𠮷野家", "𠮷野") and finds("𠮷野家", "yejia")
