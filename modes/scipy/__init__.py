"""Drop-in replacements for scipy functions that scipy implements in Python (so numpy dispatch never
reaches them): the same signatures, differentiable in both modes. Needs the ``scipy`` extra.

* ``modes.scipy.special``: ``logsumexp softmax log_softmax polygamma multigammaln`` and every
  scipy.special ufunc modes has rules for;
* ``modes.scipy.stats``: ``norm t gamma beta chi2 poisson expon laplace cauchy logistic uniform
  multivariate_normal dirichlet`` (log-densities, densities, distribution functions), parameters
  traced too (a cdf's shape parameter only where its derivative is available, else an error);
* ``modes.scipy.linalg``: ``inv det solve cholesky cho_factor cho_solve solve_triangular eigh svd
  norm sqrtm solve_sylvester expm``.

On plain inputs every drop-in returns what scipy returns.
"""
