"""hello, lse, llsq, det, ode: objectives against independent computations, derivatives against
central finite differences and across modes."""

import math

import numpy as np
import pytest

from conftest import assert_close_fd, assert_modes_agree, numerical_jacobian
from experiments.adbench import det, hello, llsq, lse, ode
from experiments.adbench.spec import method_for

MODES = ("forward", "reverse")


def test_hello_values():
    assert hello.square(3.0) == 9.0
    assert [hello.double(3.0, m) for m in MODES] == [6.0, 6.0]
    assert hello.FUNCTIONS["double"].run(hello.prepare(-2.5), "reverse") == -5.0


def test_lse_value_and_gradient():
    x = lse.prepare(lse.generate(50, seed=1))
    assert lse.primal(x) == pytest.approx(math.log(sum(math.exp(v) for v in x)), rel=1e-14)
    big = np.array([1000.0, 1000.0])  # the max shift keeps it finite
    assert lse.primal(big) == pytest.approx(1000.0 + math.log(2.0))
    softmax = np.exp(x) / np.sum(np.exp(x))
    for m in MODES:
        np.testing.assert_allclose(lse.gradient(x, m), softmax, rtol=1e-12)


def test_llsq_value_by_direct_sum_and_gradient():
    inp = llsq.prepare(llsq.generate(n=7, m=4, seed=2))
    t = [-1 + i * 2 / 6 for i in range(7)]
    sign = [(ti > 0) - (ti < 0) for ti in t]
    want = 0.5 * sum((si - sum(inp.x[j] * ti ** j for j in range(4))) ** 2 for si, ti in zip(sign, t))
    assert llsq.primal(inp) == pytest.approx(want, rel=1e-13)
    fd = numerical_jacobian(lambda x: llsq.objective(x, inp.T, inp.s), [inp.x])
    grads = [llsq.gradient(inp, m) for m in MODES]
    assert_close_fd(grads[1], fd)
    assert_modes_agree(grads[0], grads[1])
    with pytest.raises(ValueError, match="n >= 2"):
        llsq.design(1, 3)


@pytest.mark.parametrize("ell", [1, 2, 3, 4, 6])
def test_det_matches_recursion_and_numpy(ell):
    raw = det.generate(ell, seed=ell)
    A, n = det.prepare(raw)
    M = A.reshape(ell, ell)
    assert det.primal(A, n) == pytest.approx(det.primal_recursive(M), rel=1e-12, abs=1e-14)
    assert det.primal(A, n) == pytest.approx(np.linalg.det(M), rel=1e-9, abs=1e-14)


def test_det_hand_value_and_gradient():
    A = np.array([2.0, 1.0, 0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 4.0])  # det = 2(12-1) - 1(4) = 18
    assert det.primal(A, 3) == pytest.approx(18.0)
    M = A.reshape(3, 3)
    cofactors = (np.linalg.det(M) * np.linalg.inv(M).T).ravel()  # d det / dA = cofactor matrix
    grads = [det.gradient((A, 3), m) for m in MODES]
    np.testing.assert_allclose(grads[1], cofactors, rtol=1e-12, atol=1e-12)
    assert_modes_agree(grads[0], grads[1])
    A5, _ = det.prepare(det.generate(5, seed=9))
    assert_close_fd(det.gradient((A5, 5), "reverse"), numerical_jacobian(lambda a: det.primal(a, 5), [A5]))


def test_ode_closed_form_and_gradient():
    # With x = (a, b, ...): y_0 = a t exactly; y_1' = b a t gives y_1 = a b t^2 / 2 (RK4 is exact
    # for these polynomial right-hand sides of low degree).
    x = np.array([0.7, 1.3, 0.4])
    y = ode.solve(x, 4)
    assert y[0] == pytest.approx(0.7 * 2.0, rel=1e-14)
    assert y[1] == pytest.approx(0.7 * 1.3 * 2.0 ** 2 / 2, rel=1e-13)
    assert y[2] == pytest.approx(0.7 * 1.3 * 0.4 * 2.0 ** 3 / 6, rel=1e-13)
    inp = ode.prepare(ode.generate(6, 3, seed=3))
    fd = numerical_jacobian(lambda v: ode.last(v, inp.s), [inp.x])
    grads = [ode.gradient(inp, m) for m in MODES]
    assert_close_fd(grads[1], fd)
    assert_modes_agree(grads[0], grads[1])


def test_best_methods_are_methods():
    from experiments.adbench import MODULES
    for mod in MODULES.values():
        for mode in ("forward", "reverse", "auto"):
            assert method_for(mod, mode) in mod.METHODS
        # modules whose functions name their variant (particle, saddle) also give each one's method
        assert set(mod.BEST) == {"forward", "reverse", "auto"} | set(getattr(mod, "VARIANTS", ()))
        assert all(method in mod.METHODS for method in mod.BEST.values())
    with pytest.raises(ValueError, match="no method"):
        method_for(lse, "sideways")
