"""A layered layout for expression graphs, as drawn on a blackboard: inputs at the bottom, output on top.

The classic layered ("Sugiyama") recipe, small enough for graphs of a few dozen nodes:

1. layers by longest path from the inputs, so every edge points upward (the output on the top layer);
2. an edge spanning several layers gets one dummy point per layer it crosses;
3. the order within each layer by barycentres of the neighbours, sweeping up and down, keeping the
   order with the fewest crossings;
4. x coordinates as close to the neighbours' mean as a gap of 1 between neighbours allows (an
   isotonic regression per layer, pool-adjacent-violators), so long edges run straight.

Plain Python and numpy: no layout library is needed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass
class Layout:
    """Where each node and edge goes: ``x[v]``, ``y[v]`` (``y`` is the layer, 0 at the bottom);
    ``routes[e]`` the points of edge ``e`` from its source to its target (dummies in between);
    ``crossings`` the number of edge crossings left between adjacent layers."""

    layer: list[int]
    x: list[float]
    y: list[float]
    routes: list[list[tuple[float, float]]]
    crossings: int

    @property
    def n_layers(self) -> int:
        return max(self.layer, default=-1) + 1

    @property
    def width(self) -> float:
        """The horizontal extent of nodes and routes."""
        xs = list(self.x) + [p[0] for r in self.routes for p in r]
        return max(xs, default=0.0) - min(xs, default=0.0)


def layered(n: int, edges: list[tuple[int, int]], top: int | None = None, sweeps: int = 12) -> Layout:
    """Lay out nodes ``0..n-1`` with directed ``edges`` (source, target), an acyclic graph.

    Nodes without predecessors sit on layer 0; ``top`` (the output), if given, on the top layer.
    """
    layer = _longest_path_layers(n, edges)
    if top is not None and n:
        layer[top] = max(layer)

    # ---- dummy points: every edge joins adjacent layers -----------------------------------------------
    ids = n  # dummies are numbered from n
    layer_of = list(layer)
    chains: list[list[int]] = []  # per edge: source, dummies..., target
    for s, t in edges:
        chain = [s]
        for _ in range(layer[s] + 1, layer[t]):
            layer_of.append(len(chain) + layer[s])
            chain.append(ids)
            ids += 1
        chain.append(t)
        chains.append(chain)
    down: list[list[int]] = [[] for _ in range(ids)]  # neighbours one layer below
    up: list[list[int]] = [[] for _ in range(ids)]
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            up[a].append(b)
            down[b].append(a)

    # ---- order within layers: barycentre sweeps --------------------------------------------------------
    n_layers = max(layer_of, default=-1) + 1
    order: list[list[int]] = [[] for _ in range(n_layers)]
    for v in range(ids):  # Wengert order first; a dummy follows the nodes created before it
        order[layer_of[v]].append(v)
    best = [list(o) for o in order]
    best_cross = _crossings(order, up)
    for sweep in range(sweeps):
        rows = range(1, n_layers) if sweep % 2 == 0 else range(n_layers - 2, -1, -1)
        for li in rows:
            ref = order[li - 1] if sweep % 2 == 0 else order[li + 1]
            pos = {v: k for k, v in enumerate(ref)}
            here = {v: k for k, v in enumerate(order[li])}
            nbrs = down if sweep % 2 == 0 else up

            def barycentre(v: int) -> float:
                ps = [pos[u] for u in nbrs[v] if u in pos]
                return sum(ps) / len(ps) if ps else float(here[v])

            order[li] = sorted(order[li], key=barycentre)  # stable: ties keep their order
        cross = _crossings(order, up)
        if cross < best_cross:
            best, best_cross = [list(o) for o in order], cross
        if best_cross == 0:
            break
    order = best

    # ---- coordinates -----------------------------------------------------------------------------------
    x = np.zeros(ids)
    for row in order:
        x[row] = np.arange(len(row)) - (len(row) - 1) / 2
    for sweep in range(8):
        rows = range(n_layers) if sweep % 2 == 0 else range(n_layers - 1, -1, -1)
        for row in (order[li] for li in rows):
            want = [np.mean([x[u] for u in up[v] + down[v]]) if up[v] or down[v] else x[v] for v in row]
            x[row] = _spread(np.asarray(want, dtype=float))
    if ids:
        x -= x.min()
    routes = [[(float(x[v]), float(layer_of[v])) for v in chain] for chain in chains]
    return Layout(layer, [float(v) for v in x[:n]], [float(v) for v in layer], routes, best_cross)


def _longest_path_layers(n: int, edges: list[tuple[int, int]]) -> list[int]:
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for s, t in edges:
        preds[t].append(s)
        succs[s].append(t)
    indegree = [len(p) for p in preds]
    layer = [0] * n
    ready = deque(v for v in range(n) if indegree[v] == 0)
    seen = 0
    while ready:  # Kahn's topological order, iterative
        v = ready.popleft()
        seen += 1
        for t in succs[v]:
            layer[t] = max(layer[t], layer[v] + 1)
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
    if seen != n:
        raise ValueError("layered layout needs an acyclic graph; these edges have a cycle")
    return layer


def _crossings(order: list[list[int]], up: list[list[int]]) -> int:
    """Edge crossings between each pair of adjacent layers."""
    total = 0
    for lower, upper in zip(order, order[1:]):
        pos = {v: k for k, v in enumerate(upper)}
        ends = [pos[t] for v in lower for t in up[v] if t in pos]  # in order of their lower ends
        starts = [k for k, v in enumerate(lower) for t in up[v] if t in pos]
        for i in range(len(ends)):
            for j in range(i + 1, len(ends)):
                if starts[i] != starts[j] and ends[i] > ends[j]:
                    total += 1
    return total


def _spread(want: np.ndarray, gap: float = 1.0) -> np.ndarray:
    """The x closest to ``want`` (least squares) keeping the order with ``x[i+1] - x[i] >= gap``."""
    z = want - gap * np.arange(len(want))  # then z must be non-decreasing: isotonic regression
    blocks: list[list[float]] = []  # [mean, count]
    for v in z:
        blocks.append([float(v), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    fitted = np.concatenate([np.full(int(c), m) for m, c in blocks]) if blocks else z
    return fitted + gap * np.arange(len(want))
