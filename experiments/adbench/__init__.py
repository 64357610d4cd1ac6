"""The ADBench / GradBench problems in plain numpy, each derivative computed by ``modes`` in both modes.

One module per GradBench eval (``MODULES``), each following ``experiments.adbench.spec``: the
functions the eval calls, how to read their JSON input and write their JSON output, the derivative
methods (forward, reverse, and structure-exploiting ones where the problem has structure) and a
generator of inputs in the eval's format. Written from the evals' published specifications.
"""

from __future__ import annotations

from types import ModuleType

from . import ba, det, gmm, hello, ht, kmeans, llsq, lse, lstm, ode, particle, saddle

MODULES: dict[str, ModuleType] = {
    mod.NAME: mod for mod in (hello, lse, llsq, det, ode, gmm, lstm, ht, ba, kmeans, particle, saddle)
}
