"""Contractions (einsum, tensordot, kron) and building and slicing arrays: JVP and VJP side by side."""

from __future__ import annotations
