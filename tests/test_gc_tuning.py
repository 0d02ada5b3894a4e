import gc

import pytest

from tracker.gc_tuning import YOUNG_THRESHOLD, settle_heap


@pytest.fixture
def restored_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_start_up_objects_are_frozen_and_the_young_generation_may_grow(restored_gc):
    built_at_start = [{"cache": i} for i in range(1_000)]
    settle_heap()
    assert gc.get_freeze_count() >= len(built_at_start)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert gc.get_count()[0] < 100  # collected just now


def test_the_tracker_settles_its_heap_once_started(client, restored_gc):
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
