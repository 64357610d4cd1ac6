"""particle and saddle (nested AD): the inner derivatives and one outer derivative against finite
differences in all four mode combinations, and the full descents against the eval's values; the
compiled methods' value and outer gradient against the interpreted ones, at the traced point and
replayed at other points of the descent, and their descents against the eval's values."""

import numpy as np
import pytest

from compiled_check import RTOL
from experiments.adbench import compiled, gd, particle, saddle
from experiments.gradbench.protocol import method_used

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


@pytest.mark.parametrize("variant", particle.COMPILED)
def test_particle_compiled_outer_gradient_replays(variant):
    """The compiled value and outer gradient (branch-free landing) against the interpreted
    reference landing, at the traced w and, replayed, at others landing in the same block."""
    particle.PROGRAMS.clear()
    method = compiled.compiled(variant)
    program = particle._program(variant, 0.15)
    for w in (0.15, 0.1, 0.2):
        value, grad = program(np.array([w]))
        assert float(value) == pytest.approx(particle.landing(w, particle.MODE[variant[1]]), rel=RTOL)
        assert float(grad[0]) == pytest.approx(particle.outer_gradient(w, variant), rel=RTOL)
        assert particle.outer_gradient(w, method) == pytest.approx(float(grad[0]), rel=RTOL)
    assert (program.retraces, program.fallbacks) == (0, 0)
    assert particle.build(0.15, method) is True and particle.build(0.15, variant) is False
    # the full descent, from a start whose first step is already below the tolerance
    assert particle.solve(0.207, method) == particle.solve(0.207, variant) == 0.207


def test_particle_blocks_are_the_reference_landing():
    for w in (0.0, 0.05, 0.3):
        for inner in ("forward", "reverse"):
            assert particle.landing_blocks(w, inner) == pytest.approx(particle.landing(w, inner),
                                                                      rel=1e-14)


@pytest.mark.parametrize("variant", VARIANTS)
def test_saddle_compiled_descents_and_replays(variant):
    saddle.PROGRAMS.clear()
    start = np.array([1.0, 1.0])
    method = compiled.compiled(variant)
    assert saddle.build(start, method) is True and saddle.build(start, variant) is False
    # the interpreted descents' answer (test_saddle_solve_matches_eval checks them against it)
    np.testing.assert_allclose(saddle.solve(start, method), [8.246324826140356e-06] * 4, rtol=RTOL)
    F = saddle._programs(variant, start)[0]
    inner = gd.gradient(saddle.MODE[variant[1]])
    for p1 in (np.array([0.7, 0.9]), np.array([-0.3, 0.2])):  # other points of the outer descent
        objective = lambda p: gd.maximum(inner, lambda p2: saddle.f(p, p2), start)  # noqa: E731
        value, grad = F(p1, start)
        assert float(value) == pytest.approx(objective(p1), rel=RTOL)
        want = saddle.modes.grad(objective, mode=saddle.MODE[variant[0]])(p1)
        np.testing.assert_allclose(grad, want, rtol=RTOL)
    assert all((p.retraces, p.fallbacks) == (0, 0) for p in saddle._programs(variant, start))


@pytest.mark.parametrize("module", [particle, saddle])
def test_variant_methods(module):
    """A variant's function runs its best method under a tool mode, the method a method-name mode
    names when it is one of the variant's, else the variant itself."""
    for variant in module.VARIANTS:
        fn = module.FUNCTIONS[variant]
        for mode in ("forward", "reverse", "auto"):
            assert method_used(module, variant, fn, mode) == module.BEST[variant]
        for other in module.METHODS:
            want = other if compiled.base(other) == variant else variant
            assert method_used(module, variant, fn, other) == want
