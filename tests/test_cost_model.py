"""The cost model behind jacobian(mode="auto") and the default chunk size."""

import pytest

from modes import cost_model


@pytest.mark.parametrize("n,m,mode", [
    (1, 1, "forward"), (64, 1, "forward"), (1024, 1, "reverse"), (100, 100, "forward"),
    (1024, 256, "reverse"), (256, 1024, "forward"), (10**6, 1, "reverse"),
])
def test_choose_mode(n, m, mode):
    assert cost_model.choose_mode(n, m) == mode


def test_choice_is_monotonic():
    # More inputs never switch reverse back to forward; more outputs never switch forward to reverse.
    for m in (1, 4, 16, 64, 256, 1024):
        choices = [cost_model.choose_mode(n, m) for n in (1, 4, 16, 64, 256, 1024, 4096)]
        assert choices == sorted(choices)  # "forward" < "reverse": forwards first, then reverses


def test_default_chunk():
    assert cost_model.default_chunk(3, 1) == 3
    assert cost_model.default_chunk(10**6, 10**6) == cost_model.CHUNK_ELEMENTS // 10**6
    assert cost_model.default_chunk(5, 10**9) == 1
    assert cost_model.passes(10, 3) == 4
