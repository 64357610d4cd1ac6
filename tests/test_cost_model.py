"""The cost model behind jacobian(mode="auto") and the default chunk size, and its calibration record."""

import re

import pytest

from experiments import calibration
from modes import cost_model


@pytest.mark.parametrize("n,m,mode", [
    (1, 1, "forward"), (1, 10**6, "forward"), (10**6, 1, "reverse"), (10**7, 10**3, "reverse"),
])
def test_choose_mode(n, m, mode):
    assert cost_model.choose_mode(n, m) == mode


def test_choose_mode_is_the_stated_rule():
    w, n0 = cost_model.REVERSE_WEIGHT, cost_model.FORWARD_OFFSET
    for m in (1, 4, 16, 64, 256, 1024):
        edge = w * m + n0
        assert cost_model.choose_mode(int(edge), m) == "forward"
        assert cost_model.choose_mode(int(edge) + 1, m) == "reverse"


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


# ---- the calibration the module states -----------------------------------------------------------------
def test_module_states_its_calibration_record():
    """The docstring paragraph and the constants are exactly what the record generates: the numbers
    in cost_model.py cannot drift from the data they claim (regenerate with
    ``python -m experiments.calibration adopt DIR``)."""
    record = calibration.load_record()
    assert record is not None, f"{calibration.RECORD_NAME} is missing"
    source = calibration.COST_MODEL.read_text()
    assert calibration.apply(source, record) == source
    lib = record["library"]
    assert (cost_model.REVERSE_WEIGHT, cost_model.FORWARD_OFFSET) == (lib["REVERSE_WEIGHT"], lib["FORWARD_OFFSET"])


def test_docstring_numbers_are_the_records():
    record = calibration.load_record()
    doc = " ".join(cost_model.__doc__.split())
    lib = record["library"]
    assert f"in {lib['right']} of {record['cells']} cells" in doc
    assert f"{record['cells']} cells of the ``jacobian_crossover`` experiment" in doc
    assert record["code_version"] in doc and record["machine"] in doc
    # the hit count is one the record's rule really gets on the record's cells
    assert 0 <= lib["right"] <= record["cells"]
    lo, hi = lib["right_interval"]
    assert lo <= hi <= record["cells"]
    assert re.search(r"criterion for changing the constants: ", doc)
