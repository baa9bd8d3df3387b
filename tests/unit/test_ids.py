import time
import uuid

from shared.ids import uuid7


def test_a_uuid7_is_an_rfc_9562_version_7_uuid():
    identifier = uuid7()

    assert identifier.version == 7
    assert identifier.variant == uuid.RFC_4122


def test_uuid7s_start_with_the_time_and_sort_by_it():
    before = time.time_ns() // 1_000_000
    first = uuid7()
    time.sleep(0.002)
    second = uuid7()
    after = time.time_ns() // 1_000_000

    assert before <= first.int >> 80 <= second.int >> 80 <= after
    assert first < second


def test_uuid7s_made_in_one_millisecond_still_differ():
    assert len({uuid7() for _ in range(10_000)}) == 10_000
