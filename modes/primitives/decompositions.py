"""Linear algebra beyond matmul: solves, inverses, determinants, decompositions and norms; JVP and VJP side by side."""

from __future__ import annotations
