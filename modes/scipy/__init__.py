"""Drop-in replacements for scipy functions that scipy implements in Python (so numpy dispatch never
reaches them): the same signatures, differentiable in both modes. Needs the ``scipy`` extra.

* ``modes.scipy.special``: ``logsumexp softmax log_softmax polygamma multigammaln`` and every
  scipy.special ufunc modes has rules for;
* ``modes.scipy.stats``: ``norm t gamma beta poisson`` (log-densities, densities, ``norm``'s
  distribution functions), parameters traced too;
* ``modes.scipy.linalg``: ``solve_triangular cho_factor cho_solve expm``.
"""
