"""Reductions and statistics: variance, averages, nan-aware reductions, differences, convolutions."""

from __future__ import annotations
