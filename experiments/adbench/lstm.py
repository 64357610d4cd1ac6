"""``lstm``: ADBench's LSTM loss (diagonal weights) over a character sequence, and its gradient.

main_params (2 l, 4 b): per layer a weight row and a bias row, each [forget, ingate, outgate,
change] blocks of b; extra_params (3, b): in_weight, out_weight, out_bias; state (2 l, b): per layer
hidden and cell; sequence (c, b). For t = 0 .. c-2 the model predicts from sequence[t] and scores
against sequence[t+1]::

    loss = -(1 / ((c - 1) b)) sum_t sequence[t+1] . (ypred_t - log(sum(exp(ypred_t)) + 2))

(ADBench's logsumexp adds 2 inside the log). Vectorised over the b hidden units; the time loop and
the layer loop are Python loops (l (c - 1) steps), as in the reference. The jacobian output is the
gradient of main_params then extra_params, each flattened row by row, concatenated.

``reverse-compiled`` (``experiments.adbench.compiled``): the reverse gradient compiled by
``modes.compile`` (nominal pass and generated sweep, about 80 lines per LSTM cell) once per input
shape and replayed: the loss has no value-dependent branch, so every input of those shapes replays.
``build`` compiles before the timed runs (GradBench's ``prepare`` timing): compiling costs 11 to 16
interpreted gradients at the eval's sizes (here 11 s at l = 2, c = 1024; 94 s at l = 4, c = 4096).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import modes

from .compiled import Programs, base, is_compiled, shapes
from .spec import Function, check_method

NAME = "lstm"
METHODS = ("forward", "reverse", "reverse-compiled")
BEST = {"forward": "forward", "reverse": "reverse-compiled", "auto": "reverse-compiled"}
PROGRAMS = Programs(size=2)  # a compiled lstm_l4_c4096 holds a program of ~1.3 million lines


@dataclass(frozen=True)
class Input:
    main_params: np.ndarray
    extra_params: np.ndarray
    state: np.ndarray
    sequence: np.ndarray


def sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


def objective(main_params: Any, extra_params: Any, state: np.ndarray, sequence: np.ndarray) -> Any:
    """The LSTM loss (scalar)."""
    layers = main_params.shape[0] // 2
    b = sequence.shape[1]
    c = sequence.shape[0]
    weights = [main_params[2 * i] for i in range(layers)]
    biases = [main_params[2 * i + 1] for i in range(layers)]
    w_parts = [[w[j * b:(j + 1) * b] for j in range(4)] for w in weights]
    b_parts = [[bb[j * b:(j + 1) * b] for j in range(4)] for bb in biases]
    in_w, out_w, out_b = extra_params[0], extra_params[1], extra_params[2]
    hidden = [state[2 * i] for i in range(layers)]
    cell = [state[2 * i + 1] for i in range(layers)]
    total = 0.0
    for t in range(c - 1):
        inp = sequence[t] * in_w
        for i in range(layers):
            (wf, wi, wo, wc), (bf, bi, bo, bc) = w_parts[i], b_parts[i]
            forget = sigmoid(inp * wf + bf)
            ingate = sigmoid(hidden[i] * wi + bi)
            outgate = sigmoid(inp * wo + bo)
            change = np.tanh(hidden[i] * wc + bc)
            cell[i] = cell[i] * forget + ingate * change
            hidden[i] = outgate * np.tanh(cell[i])
            inp = hidden[i]
        ypred = inp * out_w + out_b
        lse = np.log(np.sum(np.exp(ypred)) + 2.0)
        total = total + np.sum(sequence[t + 1] * (ypred - lse))
    return -total / ((c - 1) * b)


def value(inp: Input) -> Any:
    return objective(inp.main_params, inp.extra_params, inp.state, inp.sequence)


def _arrays(inp: Input) -> tuple[np.ndarray, ...]:
    return inp.main_params, inp.extra_params, inp.state, inp.sequence


def _program(inp: Input, method: str) -> Any:
    """The compiled gradient of ``method``'s mode for inputs of ``inp``'s shapes."""
    mode = base(method)
    return PROGRAMS.get((method, shapes(*_arrays(inp))), lambda: modes.compile(
        modes.grad(objective, argnum=(0, 1), mode=mode), *_arrays(inp)))


def build(inp: Input, method: str) -> bool:
    """Compile a compiled method for ``inp``'s shapes (before the timed runs)."""
    if not is_compiled(method):
        return False
    _program(inp, method)
    return True


def gradient(inp: Input, method: str) -> np.ndarray:
    """The flat gradient [d/d main_params (row by row), d/d extra_params] by ``modes``."""
    check_method(NAME, method, METHODS)
    if is_compiled(method):
        gm, ge = _program(inp, method)(*_arrays(inp))
    else:
        gm, ge = modes.grad(objective, argnum=(0, 1), mode=method)(*_arrays(inp))
    return np.concatenate([np.ravel(gm), np.ravel(ge)])


def prepare(raw: Mapping[str, Any]) -> Input:
    arrays = [np.asarray(raw[key], dtype=np.float64)
              for key in ("main_params", "extra_params", "state", "sequence")]
    mp, ep, st, seq = arrays
    layers, b = mp.shape[0] // 2, seq.shape[1]
    if mp.shape != (2 * layers, 4 * b) or ep.shape != (3, b) or st.shape != (2 * layers, b):
        raise ValueError(f"lstm: inconsistent shapes main_params {mp.shape}, extra_params "
                         f"{ep.shape}, state {st.shape}, sequence {seq.shape}")
    if seq.shape[0] < 2:
        raise ValueError("lstm: the sequence needs at least 2 characters")
    return Input(mp, ep, st, seq)


FUNCTIONS = {
    "objective": Function(prepare, lambda inp, method: value(inp), derivative=False),
    "jacobian": Function(prepare, gradient, build=build),
}


def generate(l: int, c: int, b: int = 14, seed: int = 31337) -> dict[str, Any]:  # noqa: E741
    """An input shaped like ADBench's lstm_l{l}_c{c} files (b = 14 character bits): parameters and
    state uniform in [-1, 1), the sequence one-hot characters."""
    rng = np.random.default_rng(seed)
    seq = np.zeros((c, b))
    seq[np.arange(c), rng.integers(0, b, size=c)] = 1.0
    return {
        "main_params": rng.uniform(-1, 1, size=(2 * l, 4 * b)).tolist(),
        "extra_params": rng.uniform(-1, 1, size=(3, b)).tolist(),
        "state": rng.uniform(-1, 1, size=(2 * l, b)).tolist(),
        "sequence": seq.tolist(),
    }
