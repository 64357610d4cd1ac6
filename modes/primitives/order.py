"""Derivatives through an order: sort, partition and everything built on them (a gather by the permutation)."""

from __future__ import annotations
