"""particle and saddle (nested AD): the inner derivatives and one outer derivative against finite
differences in all four mode combinations, and the full descents against the eval's values."""

import numpy as np
import pytest

from experiments.adbench import gd, particle, saddle

VARIANTS = ("ff", "fr", "rf", "rr")
FD_STEP = 1e-6


def test_potential_gradient_closed_form():
    x0, x1, w = 1.0, 5.0, 0.3
    want = (-(x0 - 10) / ((x0 - 10) ** 2 + (x1 - 10 + w) ** 2) ** 1.5 - (x0 - 10) / ((x0 - 10) ** 2 + x1 ** 2) ** 1.5,
            -(x1 - 10 + w) / ((x0 - 10) ** 2 + (x1 - 10 + w) ** 2) ** 1.5 - x1 / ((x0 - 10) ** 2 + x1 ** 2) ** 1.5)
    for mode in ("forward", "reverse"):
        import modes
        got = modes.grad(lambda a, b: particle.potential(a, b, w), argnum=(0, 1), mode=mode)(x0, x1)
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_particle_outer_derivative_all_variants():
    w = 0.15
    fd = (particle.landing(w + FD_STEP, "reverse") - particle.landing(w - FD_STEP, "reverse")) / (2 * FD_STEP)
    got = {v: particle.outer_gradient(w, v) for v in VARIANTS}
    for v, g in got.items():
        assert g == pytest.approx(fd, rel=1e-5), v
        assert g == pytest.approx(got["rr"], rel=1e-10, abs=1e-12), v


def test_particle_solve_near_optimum_all_variants():
    # From w = 0.207 the descent's first step is already below its tolerance (a cheap, full run);
    # the eval's own start (w = 0) is run by the benchmarks experiment (about 6 s per variant).
    results = [particle.solve(0.207, v) for v in VARIANTS]
    assert results == [0.207] * 4
    assert particle.landing(0.2071918746486116, "forward") < 1e-7  # the eval's answer: x_0(t_f) ~ 0


def test_saddle_outer_derivative_all_variants():
    start = np.array([1.0, 1.0])
    for v in VARIANTS:
        np.testing.assert_allclose(saddle.outer_gradient(start, v), 2 * start, rtol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_saddle_solve_matches_eval(variant):
    got = saddle.solve(np.array([1.0, 1.0]), variant)
    np.testing.assert_allclose(got, [8.246324826140356e-06] * 4, rtol=1e-10)


def test_gd_on_a_quadratic_and_errors():
    x = gd.argmin(gd.gradient("reverse"), lambda v: np.sum((v - 3.0) ** 2), np.array([0.0]))
    assert abs(x[0] - 3.0) < 1e-4
    with pytest.raises(ValueError, match="mode"):
        gd.gradient("sideways")
    with pytest.raises(ValueError, match="unknown variant"):
        particle.solve(0.0, "fx")
