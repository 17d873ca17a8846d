"""``common.memory.collection_paused``: the collector is off inside, back on after."""

from __future__ import annotations

import gc

import pytest

from common.memory import collection_paused


def test_the_collector_is_paused_inside_and_resumes_after() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_resumes_after_an_exception_and_nested_blocks_leave_it_to_the_outermost() -> None:
    with pytest.raises(RuntimeError), collection_paused():
        with collection_paused():
            pass
        assert not gc.isenabled()  # the inner block did not turn it back on
        raise RuntimeError
    assert gc.isenabled()


def test_as_a_decorator() -> None:
    @collection_paused()
    def inside() -> bool:
        return gc.isenabled()

    assert inside() is False and gc.isenabled()


def test_a_collector_already_off_stays_off() -> None:
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
