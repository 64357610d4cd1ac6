"""scipy.special ufuncs: elementwise partials, registered only when scipy is installed."""

from __future__ import annotations
