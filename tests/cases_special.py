"""Registry cases for scipy.special's ufuncs and the drop-ins of modes.scipy (empty without scipy).

Ufunc cases call scipy directly (``scipy.special.erf(x)`` on a traced x): dispatch reaches the
registered primitive. Drop-in cases are keyed by a primitive they reach (logsumexp: ``log``,
softmax: ``exp``, norm.cdf: ``scipy.special.ndtr``, ...). Orders (polygamma's n, iv's v, ...) and
gammainc's a are constants.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from case_table import Case, binary, on, unary
from conftest import NONZERO, POS, REAL, UNIT

try:
    import scipy.special as sc
except ImportError:
    sc = None

CASES: dict[str, list[Case]] = {}

if sc is not None:
    import modes.scipy.linalg as sla
    import modes.scipy.special as sp
    from cases_linalg import SPD, SYM, WELL
    from modes.scipy.stats import (beta, cauchy, chi2, dirichlet, expon, gamma, laplace, logistic,
                                   multivariate_normal, norm, poisson, t, uniform)

    S = "scipy.special."
    PROB = (0.1, 0.9)
    K5 = np.array([0.0, 1.0, 2.0, 4.0, 7.0])
    # z = (x - loc) / scale stays inside (0, 1).
    BETA_SHAPES = ((None, None, None, None, None), ((5,), (5,), (5,), None, None),
                   ((3, 4), (4,), (3, 1), None, None))
    BETA_DOMAINS = ((0.3, 0.5), (0.5, 3.0), (0.5, 3.0), (-0.2, 0.2), (1.0, 1.1))

    def three(label: str, fn: Any, domains: tuple, argnums: tuple[int, ...] | None = None) -> Case:
        """A case with three arguments (x, loc or a shape parameter, scale), broadcast variously."""
        return Case(label, fn, ((None, None, None), ((5,), None, None), ((3, 4), (4,), (3, 1)),
                                ((5,), (5,), (5,))), domains, argnums)

    def four(label: str, fn: Any, domains: tuple, argnums: tuple[int, ...] | None = None) -> Case:
        """A case with four arguments (x, a shape parameter, loc, scale)."""
        return Case(label, fn, ((None, None, None, None), ((5,), None, None, None),
                                ((3, 4), (4,), (3, 1), None), ((5,), (5,), (5,), (5,))),
                    domains, argnums)

    def loc_scale(label: str, fn: Any, x: Any, loc: Any = (-0.5, 0.5), scale: Any = (1.0, 2.0)) -> Case:
        """A cdf with its shape parameters fixed: (x, loc, scale) broadcast variously."""
        return three(label, fn, (x, loc, scale))

    BETA_XLS = ((0.3, 0.5), (-0.2, 0.2), (1.0, 1.1))  # z = (x - loc) / scale inside (0, 1)

    def spd_batch(rng: np.random.Generator, shape: Any) -> np.ndarray:
        return SPD(rng, shape)

    def simplex_head(rng: np.random.Generator, shape: Any) -> np.ndarray:
        """The first K - 1 = 3 components of points inside the simplex: (3,) or (3, n)."""
        n = 1 if len(shape) == 1 else shape[1]
        full = rng.dirichlet([2.0, 3.0, 2.5, 4.0], size=n).T
        return full[:3, 0] if len(shape) == 1 else full[:3]

    ALPHA = np.array([1.5, 2.0, 0.8, 3.0])
    SYL_B = np.array([[2.0, 0.3], [-0.4, 1.5]])
    DEG = (-170.0, 170.0)

    CASES = {
        # ---- logistic, error function, normal distribution ---------------------------------------
        S + "expit": [unary("sc.expit", sc.expit), unary("sp.expit", sp.expit),
                      three("logistic.cdf", logistic.cdf, (REAL, REAL, POS)),
                      three("logistic.sf", logistic.sf, (REAL, REAL, POS))],
        S + "logit": [unary("sc.logit", sc.logit, PROB)],
        S + "log_expit": [unary("sc.log_expit", sc.log_expit, (-4.0, 4.0)),
                          three("logistic.logcdf", logistic.logcdf, (REAL, REAL, POS))],
        S + "erf": [unary("sc.erf", sc.erf)],
        S + "erfc": [unary("sc.erfc", sc.erfc)],
        S + "erfcx": [unary("sc.erfcx", sc.erfcx)],
        S + "erfinv": [unary("sc.erfinv", sc.erfinv, UNIT)],
        S + "erfcinv": [unary("sc.erfcinv", sc.erfcinv, (0.2, 1.8))],
        S + "ndtr": [
            unary("sc.ndtr", sc.ndtr),
            three("norm.cdf", norm.cdf, (REAL, REAL, POS)),
            three("norm.sf", norm.sf, (REAL, REAL, POS)),
        ],
        S + "log_ndtr": [
            unary("sc.log_ndtr", sc.log_ndtr, (-6.0, 3.0)),
            three("norm.logcdf", norm.logcdf, (REAL, REAL, POS)),
            three("norm.logsf", norm.logsf, (REAL, REAL, POS)),
        ],
        S + "ndtri": [
            unary("sc.ndtri", sc.ndtri, PROB),
            three("norm.ppf", norm.ppf, (PROB, REAL, POS), argnums=(0,)),
        ],
        # ---- gamma family ---------------------------------------------------------------------------
        S + "polygamma": [
            unary("sp.polygamma(0,x)", lambda x: sp.polygamma(0, x), POS),
            unary("sp.polygamma(1,x)", lambda x: sp.polygamma(1, x), POS),
            unary("sp.polygamma(3,x)", lambda x: sp.polygamma(3, x), POS),
            on("sp.polygamma([0,1,2,3],x)", lambda x: sp.polygamma(np.array([0, 1, 2, 3]), x),
               (4,), (3, 4), domain=POS),
        ],
        S + "digamma": [unary("sc.digamma", sc.digamma, POS), unary("sc.psi", sc.psi, POS),
                        unary("sc.digamma(x<0)", sc.digamma, (-1.8, -1.2))],
        S + "gammaln": [
            unary("sc.gammaln", sc.gammaln, POS),
            unary("sc.gammaln(x<0)", sc.gammaln, (-1.8, -1.2)),
            unary("sp.multigammaln(x,1)", lambda x: sp.multigammaln(x, 1), POS),
            unary("sp.multigammaln(x,3)", lambda x: sp.multigammaln(x, 3), (1.5, 3.0)),
        ],
        S + "loggamma": [unary("sc.loggamma", sc.loggamma, POS)],
        S + "gamma": [unary("sc.gamma", sc.gamma, (0.5, 3.0)),
                      unary("sc.gamma(x<0)", sc.gamma, (-1.8, -1.2))],
        S + "gammainc": [
            unary("sc.gammainc(1.7,x)", lambda x: sc.gammainc(1.7, x), POS),
            unary("sc.gammainc(0.6,x)", lambda x: sc.gammainc(0.6, x), POS),
            loc_scale("gamma.cdf(x,1.7,loc,scale)", lambda x, lo, s: gamma.cdf(x, 1.7, lo, s),
                      (1.0, 3.0)),
            loc_scale("chi2.cdf(x,3,loc,scale)", lambda x, lo, s: chi2.cdf(x, 3.0, lo, s),
                      (1.0, 3.0)),
            loc_scale("gamma.logcdf(x,0.8,loc,scale)",
                      lambda x, lo, s: gamma.logcdf(x, 0.8, lo, s), (1.0, 3.0)),
            Case("poisson.sf(K,mu)", lambda mu: poisson.sf(K5, mu), ((None,), ((5,),)), (POS,)),
        ],
        S + "gammaincc": [
            unary("sc.gammaincc(2.5,x)", lambda x: sc.gammaincc(2.5, x), POS),
            loc_scale("gamma.sf(x,2.5,loc,scale)", lambda x, lo, s: gamma.sf(x, 2.5, lo, s),
                      (1.0, 3.0)),
            loc_scale("chi2.sf(x,1,loc,scale)", lambda x, lo, s: chi2.sf(x, 1.0, lo, s),
                      (1.0, 3.0)),
            Case("poisson.cdf(K,mu)", lambda mu: poisson.cdf(K5 + 0.5, mu), ((None,), ((5,),)),
                 (POS,)),
        ],
        # ---- entropies ------------------------------------------------------------------------------
        S + "xlogy": [
            binary("sc.xlogy", sc.xlogy, REAL, POS),
            unary("sc.xlogy(x,x)", lambda x: sc.xlogy(x, x), POS),
            Case("gamma.logpdf", gamma.logpdf, ((None, None, None, None), ((5,), (5,), None, None),
                                                ((3, 4), (4,), (3, 1), None)),
                 ((1.0, 3.0), (0.5, 3.0), (-0.5, 0.5), (1.0, 2.0))),
            Case("poisson.logpmf(K,mu)", lambda mu: poisson.logpmf(K5, mu), ((None,), ((5,),)),
                 (POS,)),
            four("chi2.logpdf", chi2.logpdf, ((1.0, 3.0), (1.0, 5.0), (-0.5, 0.5), (1.0, 2.0))),
            Case("dirichlet.logpdf(x[:K-1],alpha)", lambda x: dirichlet.logpdf(x, ALPHA),
                 (((3,),), ((3, 4),)), (simplex_head,)),
            Case("dirichlet.logpdf(x,alpha) in alpha",
                 lambda a: dirichlet.logpdf(np.array([0.2, 0.3, 0.1, 0.4]), a), (((4,),),),
                 ((0.5, 3.0),)),
        ],
        S + "xlog1py": [
            binary("sc.xlog1py", sc.xlog1py, REAL, (-0.5, 2.0)),
            Case("beta.logpdf", beta.logpdf, BETA_SHAPES, BETA_DOMAINS, (0, 2, 3, 4)),
        ],
        S + "betaln": [binary("sc.betaln", sc.betaln, POS, POS),
                       Case("beta.logpdf", beta.logpdf, BETA_SHAPES, BETA_DOMAINS, (1,))],
        S + "entr": [unary("sc.entr", sc.entr, POS)],
        # ---- Bessel functions --------------------------------------------------------------------
        S + "iv": [unary("sc.iv(1.5,x)", lambda x: sc.iv(1.5, x), POS),
                   unary("sc.iv(2,x)", lambda x: sc.iv(2, x))],
        S + "ive": [unary("sc.ive(1.5,x)", lambda x: sc.ive(1.5, x), POS),
                    unary("sc.ive(0,x)", lambda x: sc.ive(0, x), NONZERO)],
        S + "jv": [unary("sc.jv(2.5,x)", lambda x: sc.jv(2.5, x), POS),
                   unary("sc.jv(0,x)", lambda x: sc.jv(0, x)),
                   unary("sc.jn(2,x)", lambda x: sc.jn(2, x), (-5.0, 5.0))],  # jn is jv
        S + "i0": [unary("sc.i0", sc.i0)],
        S + "i1": [unary("sc.i1", sc.i1), unary("sc.i1(near 0)", sc.i1, (-0.01, 0.01))],
        S + "i0e": [unary("sc.i0e", sc.i0e, NONZERO)],
        S + "i1e": [unary("sc.i1e", sc.i1e, NONZERO)],
        S + "j0": [unary("sc.j0", sc.j0, (-5.0, 5.0))],
        S + "j1": [unary("sc.j1", sc.j1, (-5.0, 5.0)), unary("sc.j1(near 0)", sc.j1, (-0.01, 0.01))],
        S + "y0": [unary("sc.y0", sc.y0, POS)],
        S + "y1": [unary("sc.y1", sc.y1, POS)],
        S + "yn": [unary("sc.yn(2,x)", lambda x: sc.yn(2, x), POS),
                   unary("sc.yn(1,x)", lambda x: sc.yn(1, x), (1.0, 5.0))],
        S + "kv": [unary("sc.kv(1.5,x)", lambda x: sc.kv(1.5, x), POS),
                   unary("sc.kv(0,x)", lambda x: sc.kv(0, x), POS)],
        # ---- more gamma family, error functions ---------------------------------------------------
        S + "rgamma": [unary("sc.rgamma", sc.rgamma, (0.5, 3.0)),
                       unary("sc.rgamma(x<0)", sc.rgamma, (-1.8, -1.2))],
        S + "beta": [binary("sc.beta", sc.beta, POS, POS)],
        S + "erfi": [unary("sc.erfi", sc.erfi)],
        S + "dawsn": [unary("sc.dawsn", sc.dawsn, (-4.0, 4.0))],
        # ---- distribution functions (and the stats cdfs built on them) ----------------------------
        S + "betainc": [
            unary("sc.betainc(2,3,x)", lambda x: sc.betainc(2.0, 3.0, x), PROB),
            unary("sc.betainc(0.7,1,x)", lambda x: sc.betainc(0.7, 1.0, x), PROB),
            three("beta.cdf(x,2,1.5,loc,scale)", lambda x, lo, s: beta.cdf(x, 2.0, 1.5, lo, s),
                  BETA_XLS),
        ],
        S + "betaincc": [
            unary("sc.betaincc(2,0.5,x)", lambda x: sc.betaincc(2.0, 0.5, x), PROB),
            three("beta.sf(x,0.8,3,loc,scale)", lambda x, lo, s: beta.sf(x, 0.8, 3.0, lo, s),
                  BETA_XLS),
        ],
        S + "stdtr": [
            unary("sc.stdtr(3.5,x)", lambda x: sc.stdtr(3.5, x)),
            loc_scale("t.cdf(x,2.5,loc,scale)", lambda x, lo, s: t.cdf(x, 2.5, lo, s), REAL),
            loc_scale("t.sf(x,4,loc,scale)", lambda x, lo, s: t.sf(x, 4.0, lo, s), REAL),
            loc_scale("t.logcdf(x,1.5,loc,scale)", lambda x, lo, s: t.logcdf(x, 1.5, lo, s), REAL),
        ],
        # ---- scipy's copies of numpy functions ----------------------------------------------------
        S + "expm1": [unary("sc.expm1", sc.expm1)],
        S + "log1p": [unary("sc.log1p", sc.log1p, (-0.5, 2.0))],
        S + "cbrt": [unary("sc.cbrt", sc.cbrt, NONZERO)],
        S + "exp2": [unary("sc.exp2", sc.exp2)],
        S + "exp10": [unary("sc.exp10", sc.exp10)],
        S + "sindg": [unary("sc.sindg", sc.sindg, DEG)],
        S + "cosdg": [unary("sc.cosdg", sc.cosdg, DEG)],
        S + "tandg": [unary("sc.tandg", sc.tandg, (-60.0, 60.0))],
        S + "cotdg": [unary("sc.cotdg", sc.cotdg, (20.0, 160.0))],
        S + "radian": [Case("sc.radian", sc.radian, ((None, None, None), ((5,), (5,), (5,)),
                                                     ((3, 4), (4,), (3, 1))), (DEG, DEG, DEG))],
        # ---- drop-ins, keyed by a primitive they reach -----------------------------------------------
        "log": [
            three("uniform.logpdf", uniform.logpdf, ((0.1, 0.9), (-0.05, 0.05), (1.0, 1.1)), (2,)),
            on("sp.logsumexp", sp.logsumexp, None, (5,), (3, 4)),
            on("sp.logsumexp(axis=0)", lambda x: sp.logsumexp(x, axis=0), (3, 4)),
            on("sp.logsumexp(axis=-1,keepdims)", lambda x: sp.logsumexp(x, axis=-1, keepdims=True),
               (3, 4), (2, 3, 4)),
            on("sp.logsumexp(axis=(0,2))", lambda x: sp.logsumexp(x, axis=(0, 2)), (2, 3, 4)),
            on("sp.logsumexp(x+800)", lambda x: sp.logsumexp(x + 800.0), (5,)),
            binary("sp.logsumexp(a,b=b)", lambda a, b: sp.logsumexp(a, b=b), REAL, POS,
                   shapes=(((5,), (5,)), ((3, 4), (4,)), ((3, 4), None))),
            binary("sp.logsumexp(a,axis=1,b=b)", lambda a, b: sp.logsumexp(a, axis=1, b=b), REAL,
                   POS, shapes=(((3, 4), (3, 4)), ((3, 4), (4,)))),
            binary("sp.logsumexp(return_sign)[0]",
                   lambda a, b: sp.logsumexp(a, b=b, return_sign=True)[0], REAL, POS,
                   shapes=(((5,), (5,)),)),
            on("sp.log_softmax", sp.log_softmax, (5,), (3, 4)),
            on("sp.log_softmax(axis=1)", lambda x: sp.log_softmax(x, axis=1), (3, 4)),
        ],
        "divide": [
            three("norm.logpdf", norm.logpdf, (REAL, REAL, POS)),
            three("norm.pdf", norm.pdf, (REAL, REAL, POS)),
        ],
        "add": [three("norm.ppf", norm.ppf, (PROB, REAL, POS))],
        "expm1": [three("expon.cdf", expon.cdf, ((0.5, 3.0), (-0.4, 0.4), POS))],
        "negative": [three("expon.logpdf", expon.logpdf, ((0.5, 3.0), (-0.4, 0.4), POS)),
                     three("expon.logsf", expon.logsf, ((0.5, 3.0), (-0.4, 0.4), POS)),
                     three("laplace.logpdf", laplace.logpdf, (REAL, REAL, POS))],
        "where": [three("laplace.cdf", laplace.cdf, (REAL, REAL, POS)),
                  three("laplace.sf", laplace.sf, (REAL, REAL, POS))],
        "arctan2": [three("cauchy.cdf", cauchy.cdf, (REAL, REAL, POS)),
                    three("cauchy.sf", cauchy.sf, (REAL, REAL, POS))],
        "clip": [three("uniform.cdf", uniform.cdf, ((0.1, 0.9), (-0.05, 0.05), (1.0, 1.1)))],
        # ---- linear algebra drop-ins ------------------------------------------------------------
        "slogdet": [
            Case("multivariate_normal.logpdf", multivariate_normal.logpdf,
                 (((3,), (3,), (3, 3)), ((4, 3), (3,), (3, 3))), (REAL, REAL, spd_batch), (2,)),
        ],
        "solve": [
            Case("multivariate_normal.logpdf", multivariate_normal.logpdf,
                 (((3,), (3,), (3, 3)), ((4, 3), (3,), (3, 3)), ((2, 4, 3), (3,), (3, 3))),
                 (REAL, REAL, spd_batch)),
            Case("multivariate_normal.logpdf(x,None,diag)",
                 lambda x, c: multivariate_normal.logpdf(x, np.zeros(2), c),
                 (((5, 2), (2,)),), (REAL, POS)),
            Case("sla.solve", sla.solve, (((3, 3), (3,)), ((3, 3), (3, 2))), (WELL, REAL)),
            Case("sla.solve(assume_a=pos)", lambda a, b: sla.solve(a, b, assume_a="pos"),
                 (((3, 3), (3, 2)),), (spd_batch, REAL)),
            Case("sla.solve(assume_a=sym,lower)",
                 lambda a, b: sla.solve(a, b, assume_a="sym", lower=True), (((3, 3), (3,)),),
                 (SYM, REAL)),
            Case("sla.solve(tridiagonal,transposed)",
                 lambda a, b: sla.solve(a, b, assume_a="tridiagonal", transposed=True),
                 (((4, 4), (4,)),), (WELL, REAL)),
            on("sla.inv", sla.inv, (3, 3), domain=WELL),
            on("sla.inv(assume_a=pos)", lambda a: sla.inv(a, assume_a="pos"), (3, 3),
               domain=spd_batch),
            Case("sla.solve_sylvester", lambda a, q: sla.solve_sylvester(a, SYL_B, q),
                 (((3, 3), (3, 2)),), (WELL, REAL)),
        ],
        "det": [on("sla.det", sla.det, (3, 3), domain=WELL)],
        "cholesky": [
            on("sla.cholesky", sla.cholesky, (3, 3), domain=spd_batch),
            on("sla.cholesky(lower)", lambda a: sla.cholesky(a, lower=True), (3, 3),
               domain=spd_batch),
        ],
        "eigvalsh": [
            on("sla.eigh(eigvals_only)", lambda a: sla.eigh(a, eigvals_only=True), (4, 4),
               domain=SYM),
            on("sla.eigh(lower=False,eigvals_only)",
               lambda a: sla.eigh(a, lower=False, eigvals_only=True), (4, 4), domain=SYM),
        ],
        "eigh": [
            # v * v: the eigenvectors' signs (numpy's and scipy's may differ) cancel; + 1 keeps
            # tiny entries from failing the relative comparison of scipy's and numpy's values.
            on("sla.eigh(a)[1]**2", lambda a: sla.eigh(a)[1] ** 2 + 1, (4, 4), domain=SYM),
            Case("sla.eigh(a,b)", lambda a, b: (lambda w, v: np.concatenate([w[None], v * v + 1]))(
                *sla.eigh(a, b)), (((3, 3), (3, 3)),), (SYM, spd_batch)),
        ],
        "svdvals": [on("sla.svd(compute_uv=False)", lambda a: sla.svd(a, compute_uv=False),
                       (3, 3), (4, 3), domain=REAL)],
        "l2norm": [on("sla.norm", sla.norm, (5,), (3, 4))],
        "sqrtm": [on("sla.sqrtm(spd)", sla.sqrtm, (3, 3), domain=spd_batch),
                  on("sla.sqrtm(general)", sla.sqrtm, (3, 3), domain=WELL)],
        "exp": [
            on("sp.softmax", sp.softmax, (5,), (3, 4)),
            on("sp.softmax(axis=0)", lambda x: sp.softmax(x, axis=0), (3, 4)),
            on("sp.softmax(axis=-1)", lambda x: sp.softmax(x, axis=-1), (2, 3, 4)),
            Case("gamma.pdf", gamma.pdf, ((None, None, None, None), ((5,), None, (5,), (5,))),
                 ((1.0, 3.0), (0.5, 3.0), (-0.5, 0.5), (1.0, 2.0))),
            Case("beta.pdf", beta.pdf, BETA_SHAPES[:1], BETA_DOMAINS),
            Case("poisson.pmf(K,mu)", lambda mu: poisson.pmf(K5, mu), (((5,),),), (POS,)),
            Case("t.pdf", t.pdf, ((None, None, None, None), ((5,), None, None, None)),
                 (REAL, (1.0, 5.0), REAL, POS)),
        ],
        "log1p": [
            three("cauchy.logpdf", cauchy.logpdf, (REAL, REAL, POS)),
            three("logistic.logpdf", logistic.logpdf, (REAL, REAL, POS)),
            Case("t.logpdf", t.logpdf, ((None, None, None, None), ((5,), (5,), None, None),
                                        ((3, 4), (4,), (3, 1), None)),
                 (REAL, (1.0, 5.0), REAL, POS)),
        ],
    }
