"""Colourings of sparsity patterns: distance-1 column and row colourings, star colourings of
symmetric patterns, their validity checks and lower bounds. Hand-counted colourings of banded,
arrow and star-graph patterns, random patterns checked by the validity checks, and the checks
themselves shown to reject invalid colourings (so they cannot let everything pass)."""

from __future__ import annotations

import numpy as np
import pytest

from modes import colouring as C

sp = pytest.importorskip("scipy.sparse")


def banded(n: int, half: int) -> np.ndarray:
    i, j = np.indices((n, n))
    return np.abs(i - j) <= half


def arrowhead(n: int) -> np.ndarray:
    a = np.eye(n, dtype=bool)
    a[0, :] = a[:, 0] = True
    return a


def column_arrow(n: int) -> np.ndarray:
    """Every row reads x_0 and its own x_i: a dense first column."""
    a = np.eye(n, dtype=bool)
    a[:, 0] = True
    return a


def random_pattern(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    return rng.random((m, n)) < rng.uniform(0.02, 0.4)


# ---- hand-counted colourings ---------------------------------------------------------------------------------
def test_tridiagonal_in_natural_order_cycles_three_colours() -> None:
    c = C.column_colouring(banded(7, 1), order="natural")
    assert c.tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert C.row_colouring(banded(7, 1), order="natural").tolist() == [0, 1, 2, 0, 1, 2, 0]


@pytest.mark.parametrize("half", [1, 2, 3])
def test_banded_meets_the_lower_bound(half: int) -> None:
    a = banded(40, half)
    assert C.column_lower_bound(a) == C.row_lower_bound(a) == 2 * half + 1
    for order in ("best", "natural", "largest_first"):
        c = C.column_colouring(a, order=order)
        assert C.is_column_colouring(a, c)
        assert C.n_colours(c) == 2 * half + 1


def test_arrows_need_one_direction_or_the_other() -> None:
    a = column_arrow(9)  # column 0 shares a row with every other column, which share none
    assert C.column_colouring(a).tolist() == [0] + [1] * 8
    assert C.n_colours(C.row_colouring(a)) == 9 == C.row_lower_bound(a)
    assert C.column_lower_bound(a) == 2
    at = a.T  # one dense row: rows colour with 2, columns need 9
    assert C.n_colours(C.row_colouring(at)) == 2
    assert C.n_colours(C.column_colouring(at)) == 9
    full = arrowhead(9)  # dense row and column: no saving either way
    assert C.n_colours(C.column_colouring(full)) == C.n_colours(C.row_colouring(full)) == 9


def test_empty_columns_get_no_colour() -> None:
    a = np.zeros((3, 4), dtype=bool)
    a[0, 1] = a[2, 3] = True
    c = C.column_colouring(a)
    assert c.tolist() == [-1, 0, -1, 0]
    assert C.n_colours(c) == 1
    assert C.n_colours(C.column_colouring(np.zeros((2, 2)))) == 0
    assert C.is_column_colouring(a, c)


def test_scipy_and_dense_patterns_colour_alike() -> None:
    rng = np.random.default_rng(1)
    a = random_pattern(rng, 30, 20)
    for fmt in (sp.csr_array, sp.csc_array, sp.coo_array, sp.csr_matrix):
        assert np.array_equal(C.column_colouring(fmt(a)), C.column_colouring(a))
        assert np.array_equal(C.row_colouring(fmt(a)), C.row_colouring(a))


def test_explicit_zeros_count_as_structure() -> None:
    a = sp.csr_array((np.zeros(2), ([0, 0], [0, 1])), shape=(1, 2))  # two stored zeros in a row
    assert C.n_colours(C.column_colouring(a)) == 2


def test_unknown_order_is_named() -> None:
    with pytest.raises(ValueError, match="order='random'.*natural"):
        C.column_colouring(banded(4, 1), order="random")


# ---- random patterns ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(40))
def test_random_colourings_are_valid_and_above_the_bound(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    a = random_pattern(rng, m, n)
    for order in ("best", "natural", "largest_first"):
        c = C.column_colouring(a, order=order)
        r = C.row_colouring(a, order=order)
        assert C.is_column_colouring(a, c) and C.is_row_colouring(a, r)
        assert C.n_colours(c) >= C.column_lower_bound(a)
        assert C.n_colours(r) >= C.row_lower_bound(a)
        assert C.n_colours(c) <= n and C.n_colours(r) <= m
    # best is never worse than either order alone
    assert C.n_colours(C.column_colouring(a)) <= min(
        C.n_colours(C.column_colouring(a, order=o)) for o in ("natural", "largest_first"))


def test_the_checks_reject_invalid_colourings() -> None:
    a = banded(6, 1)
    assert not C.is_column_colouring(a, np.zeros(6, dtype=int))          # neighbours share a colour
    assert not C.is_column_colouring(a, [0, 1, 0, 1, 0, 1])              # columns 0 and 2 share row 1
    assert not C.is_column_colouring(a, [0, 1, 2])                       # wrong length
    assert not C.is_column_colouring(a, [-1, 1, 2, 0, 1, 2])             # a nonzero column uncoloured
    assert C.is_column_colouring(a, [0, 1, 2, 0, 1, 2])
    lower = np.tril(np.ones((3, 3), dtype=bool))
    assert C.is_column_colouring(lower.T, [0, 1, 2]) and not C.is_row_colouring(lower, [0, 0, 1])


def test_colouring_a_large_arrow_is_quick_enough_to_run() -> None:
    n = 3000
    a = sp.lil_array((n, n), dtype=bool)
    a.setdiag(True)
    a[0, :] = True
    c = C.column_colouring(a.tocsr())
    assert C.n_colours(c) == n and C.n_colours(C.row_colouring(a.tocsr())) == 2


# ---- star colourings --------------------------------------------------------------------------------------------
def path(n: int) -> np.ndarray:
    return banded(n, 1)


def test_star_colouring_of_a_path_uses_three_colours() -> None:
    c = C.star_colouring(path(8))
    assert C.is_star_colouring(path(8), c)
    assert C.n_colours(c) == 3


def test_two_colours_on_a_path_of_four_are_not_a_star_colouring() -> None:
    assert not C.is_star_colouring(path(4), [0, 1, 0, 1])  # distance-1 valid, a bicoloured P4
    assert not C.is_star_colouring(path(4), [0, 0, 1, 2])  # neighbours share a colour
    assert C.is_star_colouring(path(4), [0, 1, 0, 2])
    assert not C.is_star_colouring(path(4), [0, 1, 0])     # wrong length
    cycle = path(4) | np.roll(np.eye(4, dtype=bool), 3, axis=1) | np.roll(np.eye(4, dtype=bool), 1, axis=1)
    assert not C.is_star_colouring(cycle, [0, 1, 0, 1])   # a bicoloured cycle


def test_star_colouring_of_an_arrowhead_beats_columns() -> None:
    a = arrowhead(12)  # the Hessian of x_0 * sum(x) + sum(x**2): a star graph
    c = C.star_colouring(a)
    assert C.is_star_colouring(a, c)
    assert C.n_colours(c) == 2
    assert C.n_colours(C.column_colouring(a)) == 12


@pytest.mark.parametrize("seed", range(60))
def test_random_star_colourings_are_valid(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 30))
    a = rng.random((n, n)) < rng.uniform(0.05, 0.4)
    a = a | a.T
    c = C.star_colouring(a)
    assert C.is_star_colouring(a, c)
    off = a & ~np.eye(n, dtype=bool)
    assert not np.any(off & (c[:, None] == c[None, :]))  # neighbours differ (distance-1)


def test_star_colouring_needs_a_square_pattern() -> None:
    with pytest.raises(ValueError, match="square"):
        C.star_colouring(np.ones((2, 3), dtype=bool))
