"""Checks for the compiled methods of the GradBench problems (``<method>-compiled``): a compiled
method returns what the interpreted method it replays returns (rtol 1e-10), at the input it was
traced at, again there (a replay), and at a second input of the same shapes: a replay where the
program has no guard on values, a re-trace where a rule reads values (then a replay there too)."""

import numpy as np

from experiments.adbench import compiled

RTOL = 1e-10


def assert_same(got, want):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=1e-12 * max(1.0, float(np.max(np.abs(w)))))


def compiled_methods(module):
    return [m for m in module.METHODS if compiled.is_compiled(m)]


def check(module, run, first, second, program, replays_second):
    """``run(inp, method)`` of every compiled method of ``module`` against its interpreted method,
    at ``first`` (trace, then replay) and ``second`` (same shapes); ``program(inp, method)`` is the
    compiled callable, whose re-traces and fallbacks are checked."""
    module.PROGRAMS.clear()
    methods = compiled_methods(module)
    assert methods
    for method in methods:
        interpreted = compiled.base(method)
        assert module.build(first, method) is True
        assert module.build(first, interpreted) is False
        prog = program(first, method)
        for inp in (first, first):
            assert_same(run(inp, method), run(inp, interpreted))
        assert (prog.retraces, prog.fallbacks) == (0, 0), method
        assert_same(run(second, method), run(second, interpreted))
        assert program(second, method) is prog  # same shapes: the same compiled callable
        assert prog.fallbacks == 0, method
        assert prog.retraces == (0 if replays_second else 1), method
        assert_same(run(second, method), run(second, interpreted))
        assert prog.retraces == (0 if replays_second else 1), method  # the second input replays
