"""``second_order``: Hessians and Hessian-vector products by the four compositions, over n.

Forward-over-forward, forward-over-reverse (modes' default), reverse-over-forward and
reverse-over-reverse (``modes.hessian(f, mode=...)``, ``modes.hvp(f, x, v, mode=...)``) on three
problems: extended Rosenbrock, a logistic regression loss (``problems.py``) and the squared error
of a one-hidden-layer network in its first-layer weights. For each (problem, n, kind) f and the four
compositions are timed interleaved in one process, and each result is checked against a Hessian
written by hand. Peak memory: the residual bytes the tapes hold (``modes.memory.track``, every cell)
and the peak RSS of one call in a fresh subprocess (the memory probe; quick profile: Rosenbrock at
its largest n only). Row layout: ``problem`` is ``"<problem>:<kind>"`` (kind ``hessian`` or
``hvp``), ``method`` and ``mode`` the composition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

import modes
from modes import cost_model
from modes.api import SECOND_ORDER_MODES

from ..memory_probe import ProbeTarget
from ..problems import LOGISTIC_ROWS, make_scalar, rel_err, rosenbrock
from ..runner import Budget, Context, Extras, Fns, Method, _skip_reason, memory_trial, timing_trial

NAME = "second_order"
TITLE = "Second order: the four Hessian compositions"
PROBLEMS = ("rosenbrock", "logistic", "mlp")
KINDS = ("hessian", "hvp")
MLP_HIDDEN = 10
MLP_ROWS = 32


# ---- the problems, with Hessians by hand ---------------------------------------------------------
def _rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    n = x.size
    h = np.zeros((n, n))
    i = np.arange(n - 1)
    h[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    h[i + 1, i + 1] += 200
    h[i, i + 1] = h[i + 1, i] = -400 * x[:-1]
    return h


class _Logistic:
    """Logistic regression's negative log-likelihood plus a ridge term, in its n coefficients."""

    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(3)
        self.a = rng.standard_normal((LOGISTIC_ROWS, n)) / np.sqrt(n)
        self.y = np.where(rng.random(LOGISTIC_ROWS) < 0.5, -1.0, 1.0)
        self.x0 = rng.uniform(-1.0, 1.5, n)

    def loss(self, x: Any) -> Any:
        return np.sum(np.log1p(np.exp(-self.y * (self.a @ x)))) + 0.5 * np.sum(x * x)

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """By hand: d2/dz2 log1p(exp(-y z)) = s (1 - s) with s = sigmoid(y z), as y^2 = 1."""
        s = 1.0 / (1.0 + np.exp(-self.y * (self.a @ x)))
        return (self.a.T * (s * (1 - s))) @ self.a + np.eye(x.size)


class _Mlp:
    """``loss(w) = mean((tanh(X W^T) v - t)^2)`` in the first-layer weights ``W`` (flattened)."""

    def __init__(self, n: int) -> None:
        self.d = max(1, n // MLP_HIDDEN)
        rng = np.random.default_rng(1)
        self.X = rng.standard_normal((MLP_ROWS, self.d))
        self.v = rng.standard_normal(MLP_HIDDEN)
        self.t = rng.standard_normal(MLP_ROWS)
        self.x0 = 0.3 * rng.standard_normal(MLP_HIDDEN * self.d)

    def loss(self, w: Any) -> Any:
        a = np.tanh(self.X @ np.reshape(w, (MLP_HIDDEN, self.d)).T)
        return np.mean((a @ self.v - self.t) ** 2)

    def hvp(self, w: np.ndarray, u: np.ndarray) -> np.ndarray:
        """By hand: differentiate dL/dZ = (2/N) (r v^T) * (1 - A^2) along Z' = X U^T."""
        W, U = w.reshape(MLP_HIDDEN, self.d), u.reshape(MLP_HIDDEN, self.d)
        a = np.tanh(self.X @ W.T)
        r = a @ self.v - self.t
        da = (1 - a * a) * (self.X @ U.T)
        dr = da @ self.v
        dgz = (2 / MLP_ROWS) * (np.outer(dr, self.v) * (1 - a * a) - np.outer(r, self.v) * 2 * a * da)
        return (dgz.T @ self.X).ravel()

    def hessian(self, w: np.ndarray) -> np.ndarray:
        return np.stack([self.hvp(w, e) for e in np.eye(w.size)], axis=1)


def problem(name: str, n: int) -> tuple[Callable[[Any], Any], np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """``(f, x0, exact_hessian)`` of a problem at size n (the MLP's n is rounded to a multiple of 10)."""
    if name == "rosenbrock":
        return rosenbrock, make_scalar("rosenbrock", n).x0, _rosenbrock_hessian
    p = _Mlp(n) if name == "mlp" else _Logistic(n)
    return p.loss, p.x0, p.hessian


def direction(n: int) -> np.ndarray:
    return np.random.default_rng(2).standard_normal(n)


def grid(profile: str) -> list[tuple[str, int]]:
    """(problem, n) pairs; every kind and composition is measured at each (within the budget)."""
    sizes = {"tiny": {"rosenbrock": (10, 30), "logistic": (10,), "mlp": (10,)},
             "quick": {"rosenbrock": (10, 100, 1000), "mlp": (100,)},
             "full": {p: (10, 30, 100, 300, 1000, 3000) for p in PROBLEMS}}[profile]
    return [(p, n) for p in PROBLEMS for n in sizes.get(p, ())]


def call_budget(ctx: Context) -> float:
    """Seconds one call may take before a composition stops growing n (quick: half a second)."""
    return min(ctx.profile.call_budget_s, 0.5) if ctx.profile.name == "quick" else ctx.profile.call_budget_s


def probe_cells(profile: str) -> list[tuple[str, int]]:
    """Cells whose peak RSS is measured in subprocesses (each composition, each kind)."""
    if profile == "full":
        return grid(profile)
    cells = grid(profile)
    return [max((c for c in cells if c[0] == "rosenbrock"), key=lambda c: c[1])]


def _derivative(kind: str, mode: str, f: Callable[[Any], Any], x: np.ndarray,
                v: np.ndarray) -> Callable[[], Any]:
    if kind == "hessian":
        h = modes.hessian(f, mode=mode)  # type: ignore[arg-type]
        return lambda: h(x)
    return lambda: modes.hvp(f, x, v, mode=mode)  # type: ignore[arg-type]


def _growth(mode: str, kind: str) -> float:
    """The exponent of a call's cost in n used to predict the next size (measured here from n = 100
    to 1000): a Hessian takes a pass or sweep per chunk of inputs (n^2), an hvp a few whole-array
    passes (n); an inner forward gradient pays a pass per input on top (one power more)."""
    return (1.0 if kind == "hvp" else 2.0) + (1.0 if mode.endswith("over-forward") else 0.0)


ALWAYS_RUN_N = 100  # sizes up to this are measured in every composition (each call under 0.1 s)


def _estimate_bytes(kind: str, mode: str, n: int) -> float:
    """Rough peak bytes of one call, fitted on Rosenbrock here: an inner forward gradient keeps
    (chunk, n) tangents, and the chunk caps (``cost_model.CHUNK_ELEMENTS`` per value, counting
    nested directions) bound them; rof at n = 300 peaks at 0.16 GB, about 5 capped values."""
    capped = 5.0 * min(float(n) ** 3, cost_model.CHUNK_ELEMENTS) if mode.endswith("over-forward") else 0.0
    if kind == "hessian":
        return 8.0 * (capped + 12 * n * n + 400 * n)
    return 8.0 * ((12 * n * n if mode.endswith("over-forward") else 0.0) + 400 * n)


# ---- the experiment --------------------------------------------------------------------------------
def run(ctx: Context) -> None:
    cells = [(p, n, kind) for p, n in grid(ctx.profile.name) for kind in KINDS]
    probe_kinds = ("hvp",) if ctx.profile.name == "tiny" else KINDS  # tiny (tests): the cheap ones
    probes = [(p, n, kind, mode) for p, n in probe_cells(ctx.profile.name) for kind in probe_kinds
              for mode in SECOND_ORDER_MODES]
    budgets = {(mode, kind): Budget(_growth(mode, kind)) for mode in SECOND_ORDER_MODES for kind in KINDS}
    status: dict[tuple[str, int, str, str], Any] = {}  # each composition's timing status per cell
    with ctx.progress(NAME, len(cells) + len(probes)) as bar:
        for name, n, kind in cells:
            bar.step(f"{name} {kind} n={n}")
            methods = [Method("f", "plain", estimate_bytes=8.0 * 20 * n)]
            for mode in SECOND_ORDER_MODES:
                skip = None if n <= ALWAYS_RUN_N else budgets[mode, kind].over(name, n, call_budget(ctx))
                methods.append(Method(mode, mode, estimate_bytes=_estimate_bytes(kind, mode, n), skip=skip))
            planned = [m.name for m in methods[1:] if m.skip is None and _skip_reason(ctx, m)[0] is None]
            rows = timing_trial(ctx, NAME, {"problem": f"{name}:{kind}", "n": n, "m": 1}, methods,
                                _setup(name, n, kind, planned), _check(name, n, kind))
            for row in rows:
                if (row.get("method"), kind) in budgets:
                    budgets[row["method"], kind].record(name, n, row)
                    status[name, n, kind, row["method"]] = row.get("status")
        probe_ctx = ctx if ctx.profile.name == "full" else dataclasses.replace(
            ctx, profile=dataclasses.replace(ctx.profile, mem_repeats=1))  # one subprocess each
        for name, n, kind, mode in probes:
            bar.step(f"{name} {kind} n={n} {mode} memory")
            timed = status.get((name, n, kind, mode))
            skip = None if timed == "ok" else f"its timing row is {timed or 'missing'}: not probed either"
            memory_trial(probe_ctx, NAME, {"problem": f"{name}:{kind}", "n": n, "m": 1},
                         Method(f"{mode} memory", mode, estimate_bytes=_estimate_bytes(kind, mode, n),
                                skip=skip),
                         f"{__name__}:target", {"name": name, "n": n, "kind": kind, "mode": mode})


def _setup(name: str, n: int, kind: str, planned: list[str]) -> Callable[[], tuple[Fns, Extras]]:
    def setup() -> tuple[Fns, Extras]:
        f, x, _ = problem(name, n)
        v = direction(x.size)
        fns: Fns = {"f": lambda: f(x)}
        extras: Extras = {"*": {"note": kind}}
        for mode in planned:
            fns[mode] = _derivative(kind, mode, f, x, v)
            with modes.memory.track() as meter:  # residual bytes of one call, outside the timing
                fns[mode]()
            extras[mode] = {"tape_bytes": meter.peak_bytes}
        return fns, extras

    return setup


def _check(name: str, n: int, kind: str) -> Callable[[dict[str, Any]], dict[str, float]]:
    def check(outputs: dict[str, Any]) -> dict[str, float]:
        f, x, exact = problem(name, n)
        h = exact(x)
        want = h if kind == "hessian" else h @ direction(x.size)
        errs = {m: rel_err(out, want) for m, out in outputs.items() if m != "f"}
        if "f" in outputs:
            errs["f"] = rel_err(outputs["f"], f(x))
        return errs

    return check


def target(name: str, n: int, kind: str, mode: str) -> ProbeTarget:
    """Memory probe target (runs in the trial subprocess): one Hessian or hvp call is measured."""
    f, x, exact = problem(name, n)
    v = direction(x.size)
    call = _derivative(kind, mode, f, x, v)
    out: dict[str, Any] = {}

    def compute() -> None:
        out["d"] = call()

    def after() -> dict[str, Any]:
        h = exact(x)
        want = h if kind == "hessian" else h @ v
        return {"check_err": rel_err(out["d"], want)}

    small = problem(name, 10)  # warm-up outside the measurement (imports, first-call caches)
    _derivative(kind, mode, small[0], small[1], direction(small[1].size))()
    return ProbeTarget(compute, after, {})
