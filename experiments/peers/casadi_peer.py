"""CasADi behind the peer interface: SX expression graphs, wrapped in ``casadi.Function``s.

The workload is built once on SX symbols (an n-vector argument becomes an n x 1 symbol, a float a
scalar one); derivatives are CasADi's own AD on that graph, expanded into new SX Functions at
set-up: the gradient by ``casadi.gradient`` (reverse mode); the Jacobian by ``Function.jacobian``
with the mode forced through the option ``ad_weight`` (0: forward, 1: reverse); the JVP from
``Function.forward(1)``. Timed calls evaluate the Function from Python on ``casadi.DM`` inputs and
return ``DM``s. No checkpointing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import casadi as ca
import numpy as np

from .base import Mode, Peer
from .workloads import Namespace, Workload


def _sum(x: Any) -> Any:
    return ca.sum1(ca.vec(x))


class CasadiPeer(Peer):
    name = "casadi"
    tool = "casadi"

    def __init__(self) -> None:
        self.ns = Namespace(tanh=ca.tanh, sum=_sum, asarray=ca.DM)

    def details(self) -> str:
        return "SX graphs and Functions built at set-up, evaluated from Python (DM in, DM out)"

    def to_numpy(self, leaf: Any) -> np.ndarray:
        if isinstance(leaf, (ca.DM, ca.SX)):
            return np.asarray(ca.DM(leaf).full(), dtype=np.float64)
        return np.asarray(leaf, dtype=np.float64)

    def graph(self, w: Workload) -> tuple[list[Any], Any, Any]:
        """(symbols, output expression, Function f) of the workload."""
        syms = [ca.SX.sym(f"x{i}") if isinstance(a, float) else ca.SX.sym(f"x{i}", np.size(a))
                for i, a in enumerate(w.args)]
        expr = w.build(self.ns)(*syms)
        return syms, expr, ca.Function("f", syms, [expr])

    def value(self, w: Workload) -> Callable[..., Any]:
        return self.graph(w)[2]

    def gradient(self, w: Workload) -> Callable[..., Any]:
        syms, expr, _ = self.graph(w)
        g = ca.gradient(expr, ca.vertcat(*syms))
        parts = ca.vertsplit(g, list(np.cumsum([0] + [s.numel() for s in syms])))
        return ca.Function("grad", syms, parts)

    def jacobian(self, w: Workload, mode: Mode) -> Callable[[Any], Any]:
        weight = {"forward": 0.0, "reverse": 1.0}[mode]  # CasADi: 0 forces forward, 1 reverse
        (x,), y, _ = self.graph(w)
        f = ca.Function("f", [x], [y], {"ad_weight": weight, "ad_weight_sp": weight})
        return ca.Function(f"jac_{mode}", [x], [f.jacobian()(x, y)])

    def residual_bytes(self, w: Workload, gradient: Callable[..., Any]) -> int | None:
        """The gradient Function's work vector (``sz_w`` doubles), allocated once with the Function."""
        return 8 * int(gradient.sz_w()) if isinstance(gradient, ca.Function) else None

    def jvp(self, w: Workload) -> Callable[[Any, Any], tuple[Any, Any]]:
        (x,), y, f = self.graph(w)
        v = ca.SX.sym("v", x.shape[0])
        return ca.Function("jvp", [x, v], [y, f.forward(1)(x, y, v)])
