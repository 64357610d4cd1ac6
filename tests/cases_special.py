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
    import modes.scipy.special as sp
    from modes.scipy.stats import beta, gamma, norm, poisson, t

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

    CASES = {
        # ---- logistic, error function, normal distribution ---------------------------------------
        S + "expit": [unary("sc.expit", sc.expit), unary("sp.expit", sp.expit)],
        S + "logit": [unary("sc.logit", sc.logit, PROB)],
        S + "log_expit": [unary("sc.log_expit", sc.log_expit, (-4.0, 4.0))],
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
        S + "gammainc": [unary("sc.gammainc(1.7,x)", lambda x: sc.gammainc(1.7, x), POS),
                         unary("sc.gammainc(0.6,x)", lambda x: sc.gammainc(0.6, x), POS)],
        S + "gammaincc": [unary("sc.gammaincc(2.5,x)", lambda x: sc.gammaincc(2.5, x), POS)],
        # ---- entropies ------------------------------------------------------------------------------
        S + "xlogy": [
            binary("sc.xlogy", sc.xlogy, REAL, POS),
            unary("sc.xlogy(x,x)", lambda x: sc.xlogy(x, x), POS),
            Case("gamma.logpdf", gamma.logpdf, ((None, None, None, None), ((5,), (5,), None, None),
                                                ((3, 4), (4,), (3, 1), None)),
                 ((1.0, 3.0), (0.5, 3.0), (-0.5, 0.5), (1.0, 2.0))),
            Case("poisson.logpmf(K,mu)", lambda mu: poisson.logpmf(K5, mu), ((None,), ((5,),)),
                 (POS,)),
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
                   unary("sc.jv(0,x)", lambda x: sc.jv(0, x))],
        S + "i0": [unary("sc.i0", sc.i0)],
        S + "i1": [unary("sc.i1", sc.i1), unary("sc.i1(near 0)", sc.i1, (-0.01, 0.01))],
        S + "i0e": [unary("sc.i0e", sc.i0e, NONZERO)],
        S + "i1e": [unary("sc.i1e", sc.i1e, NONZERO)],
        # ---- drop-ins, keyed by a primitive they reach -----------------------------------------------
        "log": [
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
            Case("t.logpdf", t.logpdf, ((None, None, None, None), ((5,), (5,), None, None),
                                        ((3, 4), (4,), (3, 1), None)),
                 (REAL, (1.0, 5.0), REAL, POS)),
        ],
    }
