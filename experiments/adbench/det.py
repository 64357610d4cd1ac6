"""``det``: the determinant by expansion of minors (cmpad's ``det_by_minor``) and its gradient.

Expansion along the first row, recursively: det(M) = sum_j (-1)^j M[0, j] det(M without row 0 and
column j). Every minor met in that recursion is the block of the *last* r rows of A on some set S
of r columns, so the recursion only ever needs C(ell, r) distinct minors of size r. ``primal``
evaluates the same expansion bottom-up, each distinct minor once, one vectorised step per size r:

    D_S = sum_{t} (-1)^t A[ell - r, S_t] D_{S without S_t}          (S_t: the t-th column of S)

(ell 2^(ell-1) products instead of about e * ell!: the formula is the expansion by minors, the
shared sub-minors are not recomputed). ``primal_recursive`` is the literal recursion, for tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

import modes

from .spec import Function, check_method

NAME = "det"
METHODS = ("forward", "reverse")
BEST = {"forward": "forward", "reverse": "reverse", "auto": "reverse"}


@dataclass(frozen=True)
class Level:
    """Step r of the expansion: for each size-r column set (rows) and each position t (columns):
    the column index ``cols``, the sign, and the index of the size-(r-1) minor in the previous step."""

    cols: np.ndarray
    signs: np.ndarray
    sub: np.ndarray


@lru_cache(maxsize=32)
def levels(ell: int) -> tuple[Level, ...]:
    """The index tables of the bottom-up expansion of an ell x ell determinant (sizes 2..ell)."""
    out = []
    prev = {s: i for i, s in enumerate(itertools.combinations(range(ell), 1))}
    for r in range(2, ell + 1):
        sets = list(itertools.combinations(range(ell), r))
        cols = np.array(sets, dtype=np.intp)
        sub = np.array([[prev[s[:t] + s[t + 1:]] for t in range(r)] for s in sets], dtype=np.intp)
        signs = np.array([(-1.0) ** t for t in range(r)])
        out.append(Level(cols, signs, sub))
        prev = {s: i for i, s in enumerate(sets)}
    return tuple(out)


def primal(A: Any, ell: int) -> Any:
    """det of the ell x ell matrix stored row-major in ``A`` (length ell^2), by expansion of minors."""
    M = np.reshape(A, (ell, ell))
    D = M[ell - 1]  # minors of size 1: the last row, one per column
    for r, lev in enumerate(levels(ell), start=2):
        D = np.sum(lev.signs * M[ell - r][lev.cols] * D[lev.sub], axis=1)
    return D[0]


def primal_recursive(M: np.ndarray) -> float:
    """The literal recursive expansion along the first row (plain floats; O(ell!))."""
    n = M.shape[0]
    if n == 1:
        return float(M[0, 0])
    total = 0.0
    for j in range(n):
        minor = np.delete(M[1:], j, axis=1)
        total += (-1.0) ** j * M[0, j] * primal_recursive(minor)
    return total


def gradient(inp: tuple[np.ndarray, int], method: str) -> np.ndarray:
    """d det / dA, row-major like A, by ``modes`` in mode ``method``."""
    check_method(NAME, method, METHODS)
    A, ell = inp
    return modes.grad(primal, mode=method)(A, ell)


def prepare(raw: Mapping[str, Any]) -> tuple[np.ndarray, int]:
    A = np.asarray(raw["A"], dtype=np.float64)
    ell = int(raw["ell"])
    if A.size != ell * ell:
        raise ValueError(f"det: A has {A.size} entries, expected ell^2 = {ell * ell}")
    levels(ell)  # build the index tables outside the timed region
    return A, ell


FUNCTIONS = {
    "primal": Function(prepare, lambda inp, method: primal(*inp), derivative=False),
    "gradient": Function(prepare, gradient),
}


def generate(ell: int, seed: int = 31337) -> dict[str, Any]:
    """The eval's input: an ell x ell matrix of uniform numbers in [0, 1), row-major."""
    return {"A": np.random.default_rng(seed).random(ell * ell).tolist(), "ell": int(ell)}
