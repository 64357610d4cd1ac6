"""Registry cases for contractions (einsum, tensordot, kron) and building/slicing arrays.

Building and slicing functions add no rule of their own: their cases are keyed by the primitive
they reach (``getitem`` for gathers and slices, ``concatenate``, ``where``, ``broadcast_to``, ...).
Functions returning lists (split) are joined back with weights, so a piece in the wrong place shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from case_table import Case, binary, on
from conftest import REAL

C3 = np.array([True, False, True])
C34 = np.array([[True, False, False, True], [False, True, True, False], [True, True, False, False]])
D34 = np.array([[False, True, False, True], [True, True, False, False], [False, False, True, False]])
A23 = np.arange(6.0).reshape(2, 3) / 4 - 0.5


def ternary(label: str, fn: Any, *shapes: tuple) -> Case:
    return Case(label, fn, tuple(shapes), (REAL, REAL, REAL))


def joined(parts: Any, axis: int = 0) -> Any:
    """The pieces of a split put back in order, piece k scaled by k + 1."""
    return np.concatenate([(k + 1.0) * p for k, p in enumerate(parts)], axis=axis)


CASES: dict[str, list[Case]] = {
    # ---- einsum ---------------------------------------------------------------------------------
    "einsum": [
        binary("einsum('ij,jk->ik')", lambda a, b: np.einsum("ij,jk->ik", a, b),
               shapes=(((2, 3), (3, 2)),)),
        binary("einsum('ij,jk')", lambda a, b: np.einsum("ij,jk", a, b), shapes=(((2, 3), (3, 2)),)),
        binary("einsum('i,i')", lambda a, b: np.einsum("i,i", a, b), shapes=(((4,), (4,)),)),
        binary("einsum('i,j->ij')", lambda a, b: np.einsum("i,j->ij", a, b),
               shapes=(((3,), (2,)),)),
        binary("einsum('j,i')", lambda a, b: np.einsum("j,i", a, b), shapes=(((3,), (2,)),)),
        binary("einsum('ij,ij->ij') broadcast", lambda a, b: np.einsum("ij,ij->ij", a, b),
               shapes=(((1, 3), (4, 3)), ((2, 3), (2, 1)))),
        binary("einsum('ijk,jl->il')", lambda a, b: np.einsum("ijk,jl->il", a, b),
               shapes=(((2, 3, 2), (3, 2)),)),
        binary("einsum('iij,j->ij')", lambda a, b: np.einsum("iij,j->ij", a, b),
               shapes=(((2, 2, 3), (3,)),)),
        binary("einsum('...ij,...jk->...ik')", lambda a, b: np.einsum("...ij,...jk->...ik", a, b),
               shapes=(((2, 2, 3), (2, 3, 2)), ((1, 2, 3), (2, 3, 2)), ((2, 3), (2, 3, 2)))),
        binary("einsum('...ij,...jk')", lambda a, b: np.einsum("...ij,...jk", a, b),
               shapes=(((2, 2, 3), (3, 2)),)),
        binary("einsum('i...,i...->...')", lambda a, b: np.einsum("i...,i...->...", a, b),
               shapes=(((2, 3), (2, 3)), ((2, 3, 2), (2, 2)))),
        binary("einsum(',i->i')", lambda a, b: np.einsum(",i->i", a, b), shapes=((None, (3,)),)),
        binary("einsum(a,[0,1],b,[1,2],[0,2])", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]),
               shapes=(((2, 3), (3, 2)),)),
        binary("einsum(a,[...,0],b,[0])", lambda a, b: np.einsum(a, [Ellipsis, 0], b, [0]),
               shapes=(((2, 3), (3,)),)),
        on("einsum('ii->i')", lambda a: np.einsum("ii->i", a), (3, 3)),
        on("einsum('ii')", lambda a: np.einsum("ii", a), (3, 3)),
        on("einsum('iii->')", lambda a: np.einsum("iii->", a), (2, 2, 2)),
        on("einsum('ij->')", lambda a: np.einsum("ij->", a), (3, 4)),
        on("einsum('ij->j')", lambda a: np.einsum("ij->j", a), (3, 4)),
        on("einsum('ji')", lambda a: np.einsum("ji", a), (3, 4)),
        on("einsum('...ii->...i')", lambda a: np.einsum("...ii->...i", a), (2, 2, 2), (3, 3)),
        on("einsum('ij,jk',A,x) plain A", lambda x: np.einsum("ij,jk", A23, x), (3, 2)),
        on("einsum('ij,i->j',x,1-d const)", lambda x: np.einsum("ij,i->j", x, np.ones(2)), (2, 3)),
        on("einsum('ij,ij->',x,x)", lambda x: np.einsum("ij,ij->", x, x), (2, 3)),
        ternary("einsum('ij,jk,kl->il')", lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c),
                ((2, 3), (3, 2), (2, 2))),
        ternary("einsum('ij,jk,kl->il',optimize='greedy')",
                lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c, optimize="greedy"),
                ((2, 3), (3, 2), (2, 2))),
        ternary("einsum('i,i,i')", lambda a, b, c: np.einsum("i,i,i", a, b, c), ((3,), (3,), (3,))),
        ternary("einsum('i,j,k->kji')", lambda a, b, c: np.einsum("i,j,k->kji", a, b, c),
                ((2,), (3,), (2,))),
    ],
    # ---- tensordot: transpose, reshape, one matmul, as numpy does it -----------------------------
    "matmul": [
        binary("tensordot(a,b)", lambda a, b: np.tensordot(a, b),
               shapes=(((2, 3, 2), (3, 2)), ((3, 2), (3, 2)))),
        binary("tensordot(a,b,1)", lambda a, b: np.tensordot(a, b, 1),
               shapes=(((2, 3), (3, 2)), ((3,), (3, 2)))),
        binary("tensordot(a,b,0)", lambda a, b: np.tensordot(a, b, 0), shapes=(((2,), (3,)),)),
        binary("tensordot(a,b,([1,0],[0,1]))", lambda a, b: np.tensordot(a, b, ([1, 0], [0, 1])),
               shapes=(((3, 2), (2, 3)), ((3, 2, 2), (2, 3)))),
        binary("tensordot(a,b,(0,-1))", lambda a, b: np.tensordot(a, b, (0, -1)),
               shapes=(((3, 2), (2, 3)),)),
        on("tensordot(x,A,(0,0)) plain A", lambda x: np.tensordot(x, A23, (0, 0)), (2, 2)),
        binary("tensordot(a,b,[[0],[0]])", lambda a, b: np.tensordot(a, b, [[0], [0]]),
               shapes=(((3,), (3, 2)),)),
    ],
    # ---- kron: an outer product with interleaved axes --------------------------------------------
    "multiply": [
        binary("np.kron", np.kron,
               shapes=(((2, 2), (2, 3)), ((3,), (2,)), ((2,), (2, 2)), ((2, 2), (3,)), (None, (3,)))),
        on("np.kron(A,x) plain A", lambda x: np.kron(A23, x), (2, 2)),
    ],
    # ---- gathers and slices ------------------------------------------------------------------------
    "getitem": [
        on("np.roll(x,2)", lambda x: np.roll(x, 2), (5,), (3, 4)),
        on("np.roll(x,1,axis=0)", lambda x: np.roll(x, 1, axis=0), (3, 4)),
        on("np.roll(x,-1,axis=-1)", lambda x: np.roll(x, -1, axis=-1), (3, 4)),
        on("np.roll(x,(1,-2),axis=(0,1))", lambda x: np.roll(x, (1, -2), axis=(0, 1)), (3, 4)),
        on("np.flip", np.flip, (5,), (3, 4)),
        on("np.flip(x,0)", lambda x: np.flip(x, 0), (3, 4)),
        on("np.flip(x,(0,-1))", lambda x: np.flip(x, (0, -1)), (2, 3, 2)),
        on("np.fliplr", np.fliplr, (3, 4)),
        on("np.flipud", np.flipud, (5,), (3, 4)),
        on("np.rot90", np.rot90, (3, 4)),
        on("np.rot90(x,2)", lambda x: np.rot90(x, 2), (3, 4)),
        on("np.rot90(x,-1,axes=(1,0))", lambda x: np.rot90(x, -1, axes=(1, 0)), (3, 4)),
        on("np.rot90(x,1,axes=(0,2))", lambda x: np.rot90(x, 1, axes=(0, 2)), (2, 3, 2)),
        on("np.take(x,[0,2,2])", lambda x: np.take(x, [0, 2, 2]), (5,), (3, 4)),
        on("np.take(x,[[0,1],[2,0]],axis=1)", lambda x: np.take(x, [[0, 1], [2, 0]], axis=1), (3, 4)),
        on("np.take(x,[1,7],mode='wrap')", lambda x: np.take(x, [1, 7], mode="wrap"), (5,)),
        on("np.take(x,[-3,9],mode='clip')", lambda x: np.take(x, [-3, 9], mode="clip"), (5,)),
        on("np.take(x,2,axis=0)", lambda x: np.take(x, 2, axis=0), (3, 4)),
        on("np.repeat(x,2)", lambda x: np.repeat(x, 2), None, (3,), (2, 2)),
        on("np.repeat(x,[1,0,2],axis=0)", lambda x: np.repeat(x, [1, 0, 2], axis=0), (3, 4)),
        on("np.repeat(x,2,axis=-1)", lambda x: np.repeat(x, 2, axis=-1), (2, 3)),
        on("np.tile(x,2)", lambda x: np.tile(x, 2), None, (3,), (2, 2)),
        on("np.tile(x,(2,1))", lambda x: np.tile(x, (2, 1)), (3,), (2, 3)),
        on("np.tile(x,(2,1,2))", lambda x: np.tile(x, (2, 1, 2)), (2, 2)),
        on("np.diag", np.diag, (3,), (3, 4)),
        on("np.diag(x,1)", lambda x: np.diag(x, 1), (3,), (3, 4)),
        on("np.diag(x,-2)", lambda x: np.diag(x, -2), (2,), (3, 4)),
        on("np.diagonal", np.diagonal, (3, 4), (2, 3, 2)),
        on("np.diagonal(x,1)", lambda x: np.diagonal(x, 1), (3, 4)),
        on("np.diagonal(x,-1,1,2)", lambda x: np.diagonal(x, -1, 1, 2), (2, 3, 2)),
        on("np.diagflat", np.diagflat, (3,), (2, 2)),
        on("np.diagflat(x,-1)", lambda x: np.diagflat(x, -1), (3,)),
        on("np.pad(x,1)", lambda x: np.pad(x, 1), (3,), (2, 3)),
        on("np.pad(x,((1,0),(0,2)))", lambda x: np.pad(x, ((1, 0), (0, 2))), (2, 3)),
        on("np.pad(x,2,constant_values=1.5)", lambda x: np.pad(x, 2, constant_values=1.5), (3,)),
        on("np.pad(x,1,constant_values=((1,2),(3,4)))",
           lambda x: np.pad(x, 1, constant_values=((1, 2), (3, 4))), (2, 3)),
        on("np.pad(x,(1,2),'edge')", lambda x: np.pad(x, (1, 2), "edge"), (3,), (2, 3)),
        on("np.pad(x,(2,1),'reflect')", lambda x: np.pad(x, (2, 1), mode="reflect"), (4,), (3, 3)),
        on("np.pad(x,4,'reflect')", lambda x: np.pad(x, 4, mode="reflect"), (3,)),
        on("np.pad(x,((0,1),(2,0)),'symmetric')",
           lambda x: np.pad(x, ((0, 1), (2, 0)), mode="symmetric"), (2, 3)),
        on("np.pad(x,3,'wrap')", lambda x: np.pad(x, 3, mode="wrap"), (2,), (2, 2)),
        binary("np.insert(x,1,y)", lambda x, y: np.insert(x, 1, y),
               shapes=(((4,), None), ((4,), (2,)), ((2, 2), (3,)))),
        binary("np.insert(x,[1,3],y)", lambda x, y: np.insert(x, [1, 3], y),
               shapes=(((4,), (2,)), ((4,), None))),
        binary("np.insert(x,1,y,axis=0)", lambda x, y: np.insert(x, 1, y, axis=0),
               shapes=(((2, 3), (3,)), ((2, 3), None), ((2, 3), (2, 3)))),
        binary("np.insert(x,2,y,axis=1)", lambda x, y: np.insert(x, 2, y, axis=1),
               shapes=(((2, 3), (2,)), ((2, 3), (2, 1)))),
        binary("np.insert(x,[0,0],y,axis=-1)", lambda x, y: np.insert(x, [0, 0], y, axis=-1),
               shapes=(((2, 3), (2, 2)),)),
        on("np.insert(x,slice(0,3,2),7.0)", lambda x: np.insert(x, slice(0, 3, 2), 7.0), (4,)),
        on("np.split(x,3)", lambda x: joined(np.split(x, 3)), (6,), (3, 2)),
        on("np.split(x,[1,3])", lambda x: joined(np.split(x, [1, 3])), (5,)),
        on("np.split(x,[2,9])", lambda x: joined(np.split(x, [2, 9])), (5,)),
        on("np.split(x,2,axis=1)", lambda x: joined(np.split(x, 2, axis=1), 1), (2, 4)),
        on("np.array_split(x,3)", lambda x: joined(np.array_split(x, 3)), (5,), (4, 2)),
        on("np.array_split(x,2,axis=-1)", lambda x: joined(np.array_split(x, 2, axis=-1), -1),
           (2, 3)),
        on("np.hsplit(x,2)", lambda x: joined(np.hsplit(x, 2), min(1, np.ndim(x) - 1)),
           (4,), (2, 4)),
        on("np.vsplit(x,[1])", lambda x: joined(np.vsplit(x, [1])), (3, 2)),
        on("np.dsplit(x,2)", lambda x: joined(np.dsplit(x, 2), 2), (2, 1, 4)),
    ],
    # ---- joining --------------------------------------------------------------------------------
    "concatenate": [
        binary("np.append(x,y)", np.append, shapes=(((3,), (2,)), ((2, 2), (3,)), ((2,), None))),
        binary("np.append(x,y,axis=0)", lambda x, y: np.append(x, y, axis=0),
               shapes=(((2, 3), (1, 3)),)),
        binary("np.append(x,y,axis=1)", lambda x, y: np.append(x, y, axis=1),
               shapes=(((2, 2), (2, 1)),)),
        on("np.append(x,[1.0,2.0])", lambda x: np.append(x, [1.0, 2.0]), (3,), (2, 2)),
        on("np.append([1.0],x)", lambda x: np.append([1.0], x), (3,)),
    ],
    # ---- masks ----------------------------------------------------------------------------------
    "where": [
        on("np.tril", np.tril, (3,), (3, 3), (3, 4), (2, 2, 3)),
        on("np.tril(x,1)", lambda x: np.tril(x, 1), (3, 4)),
        on("np.tril(x,-1)", lambda x: np.tril(x, -1), (3, 3)),
        on("np.triu", np.triu, (3, 3), (3, 4), (2, 2, 3)),
        on("np.triu(x,-1)", lambda x: np.triu(x, -1), (3, 4)),
        on("np.triu(x,2)", lambda x: np.triu(x, 2), (3, 4)),
        binary("np.select([C,D],[x,y],0.5)", lambda x, y: np.select([C34, D34], [x, y], 0.5),
               shapes=(((3, 4), (3, 4)), ((3, 4), (4,)), (None, (3, 4)), ((3, 1), None))),
        # numpy dispatches np.select on condlist and choicelist only: the default stays plain here
        # (tests/test_contractions.py checks a traced default)
        Case("np.select([C],[x],y)", lambda x, y: np.select([C3], [x], y),
             (((3,), (3,)), ((3,), None), ((2, 3), (3,))), (REAL, REAL), (0,)),
        on("np.select([x>1,x<-1],[x,2x])", lambda x: np.select([x > 1, x < -1], [x, 2 * x]),
           (5,), (3, 4)),
    ],
    # ---- grids ----------------------------------------------------------------------------------
    "broadcast_to": [
        binary("np.stack(np.meshgrid(x,y))", lambda x, y: np.stack(np.meshgrid(x, y)),
               shapes=(((3,), (2,)), ((2, 2), (3,)))),
        binary("np.stack(np.meshgrid(x,y,indexing='ij'))",
               lambda x, y: np.stack(np.meshgrid(x, y, indexing="ij")), shapes=(((3,), (2,)),)),
        ternary("np.stack(np.meshgrid(x,y,z))", lambda x, y, z: np.stack(np.meshgrid(x, y, z)),
                ((2,), (3,), (2,))),
        on("np.stack(np.meshgrid(x,C))", lambda x: np.stack(np.meshgrid(x, np.arange(2.0))), (3,)),
    ],
    "reshape": [
        binary("np.meshgrid(x,y,sparse=True) product",
               lambda x, y: np.multiply(*np.meshgrid(x, y, sparse=True)), shapes=(((3,), (2,)),)),
        ternary("np.meshgrid(x,y,z,sparse=True,indexing='ij') sum",
                lambda x, y, z: sum(np.meshgrid(x, y, z, sparse=True, indexing="ij")),
                ((2,), (3,), (2,))),
    ],
}
