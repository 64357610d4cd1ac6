"""Every error path says what was wrong and what to do."""

import numpy as np
import pytest

import modes


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_grad_of_non_scalar_output(mode):
    with pytest.raises(ValueError, match="must return a scalar|returns a scalar"):
        modes.grad(lambda x: x * 2.0, mode=mode)(np.ones(3))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_unregistered_numpy_function_is_named(mode):
    f = lambda x: np.sum(np.linalg.eigvals(np.outer(x, x)))  # noqa: E731
    with pytest.raises(modes.UnsupportedFunctionError, match=r"np\.linalg\.eigvals.*modes\.primitive"):
        modes.grad(f, mode=mode)(np.ones(3))


def test_unregistered_ufunc_is_named():
    with pytest.raises(modes.UnsupportedFunctionError, match=r"np\.gcd"):
        modes.grad(lambda x: np.sum(np.gcd(x, x)))(np.ones(2))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_in_place_mutation_is_refused(mode):
    def f(x):
        x[0] = 1.0
        return np.sum(x)

    with pytest.raises(modes.MutationError, match="in-place"):
        modes.grad(f, mode=mode)(np.ones(3))


def test_out_argument_is_refused():
    def f(x):
        buf = np.empty(3)
        np.sin(x, out=buf)
        return np.sum(buf)

    with pytest.raises(modes.MutationError, match="out="):
        modes.grad(f)(np.ones(3))


def test_storing_traced_value_in_plain_array_is_refused():
    def f(x):
        buf = np.zeros(3)
        buf[0] = x[0] * 2.0
        return np.sum(buf)

    # numpy reports its own ValueError for a 0-d element; ours is in the chain with the advice.
    with pytest.raises((modes.ModesError, ValueError)) as info:
        modes.grad(f)(np.ones(3))
    chain = [info.value, info.value.__context__, info.value.__cause__]
    assert any(isinstance(e, modes.TracedConversionError) for e in chain)
    assert any("modes.plain" in str(e) or "np.stack" in str(e) for e in chain if e is not None)


def test_float_conversion_is_refused():
    with pytest.raises(modes.TracedConversionError, match="float"):
        modes.grad(lambda x: float(x) * 2.0)(1.0)


@pytest.mark.parametrize("bad", [1j, np.array([1 + 2j, 3.0])])
def test_complex_input_is_rejected(bad):
    with pytest.raises(TypeError, match="complex"):
        modes.grad(lambda x: np.sum(x * x))(bad)


def test_non_numeric_input_is_rejected():
    with pytest.raises(TypeError, match="dtype"):
        modes.grad(lambda x: x)(np.array(["a"]))


def test_bad_mode_and_argnum_and_chunk():
    with pytest.raises(ValueError, match="mode='sideways'"):
        modes.grad(lambda x: x, mode="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="argnum=3 is out of range"):
        modes.grad(lambda x: x, argnum=3)(1.0)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        modes.jacobian(lambda x: x, chunk_size=0)


def test_jvp_shape_mismatch():
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(2,\) but primal 0 has shape \(3,\)"):
        modes.jvp(lambda x: x, (np.ones(3),), (np.ones(2),))
    with pytest.raises(ValueError, match="one tangent per primal"):
        modes.jvp(lambda x: x, (np.ones(3),), ())


def test_vjp_cotangent_shape_mismatch():
    _, pullback = modes.vjp(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(ValueError, match=r"cotangent has shape \(2,\) but the output has shape \(3,\)"):
        pullback(np.ones(2))


def test_tuple_output_is_explained():
    with pytest.raises(TypeError, match="returned a tuple.*has_aux=True"):
        modes.grad(lambda x: (x, x))(1.0)


def test_primitive_registration_errors():
    with pytest.raises(modes.RuleError, match="needs partials"):
        modes.primitive(np.sin, name="mysin")
    with pytest.raises(modes.RuleError, match="not both"):
        modes.primitive(np.sin, name="mysin", partials=(None,), jvp=(None,), vjp=(None,))
    with pytest.raises(modes.RuleError, match="jvp has 1 rules but vjp has 2"):
        modes.primitive(np.add, name="myadd", jvp=(None,), vjp=(None, None))


def test_missing_rule_for_an_argument_is_zero_not_silent_garbage():
    # A partial given as None means: no derivative with respect to that argument.
    scale = modes.primitive(lambda x, k: x * k, name="scale",
                            partials=(lambda ans, x, k: k, None))
    assert modes.grad(lambda k: scale(2.0, k))(3.0) == 0.0
    assert modes.grad(lambda x: scale(x, 3.0))(2.0) == 3.0


def test_leaked_tracer_is_reported():
    leaked = []

    def f(x):
        leaked.append(x)
        return x * 2.0

    modes.grad(f)(1.0)

    def g(y):
        return y * leaked[0]

    # The leaked value belongs to a finished trace at the same level: it must not be silently mixed.
    with pytest.raises(modes.ModesError, match="leaked"):
        modes.grad(g)(1.0)
