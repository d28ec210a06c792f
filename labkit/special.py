"""``labkit.special`` (~ ``torch.special``): special functions under PyTorch's names.

Most are other labkit ops under their SciPy-style names (``expit`` is ``sigmoid``, ``gammaln``
is ``lgamma`` ...); the primitives (gamma family, Bessel, Airy, erfcx) live in
``labkit/ops/special.py``.
"""
import math

import numpy as np

from .ops import extra as _X
from .ops import special as _S
from .ops._common import to_float as _to_float
from .ops._registry import with_out as _with_out
from .tensor import Tensor as _Tensor, _make

__all__ = ["digamma", "psi", "polygamma", "gammaln", "multigammaln", "erf", "erfc", "erfinv",
           "expit", "logit", "exp2", "expm1", "log1p", "sinc", "round", "softmax",
           "log_softmax", "logsumexp", "xlogy", "xlog1py", "entr", "ndtr", "ndtri", "log_ndtr",
           "i0", "i0e", "i1", "i1e", "modified_bessel_i0", "modified_bessel_i1", "zeta",
           "spherical_bessel_j0", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
           "chebyshev_polynomial_v", "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
           "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
           "laguerre_polynomial_l", "legendre_polynomial_p", "bessel_j0", "bessel_j1",
           "bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "airy_ai", "erfcx", "gammainc",
           "gammaincc"]


def _lk():
    import labkit
    return labkit


digamma = psi = _S.digamma
polygamma = _S.polygamma
gammaln = _S.lgamma
multigammaln = _S.mvlgamma
erfinv = _S.erfinv
i0 = modified_bessel_i0 = _S.i0
i0e, i1, i1e, zeta = _S.i0e, _S.i1, _S.i1e, _S.zeta
gammainc, gammaincc = _S.igamma, _S.igammac              # out= added below, with the rest
modified_bessel_i1 = _S.i1
xlogy, sinc, erfc = _X.xlogy, _X.sinc, _X.erfc
bessel_j0, bessel_j1, bessel_y0, bessel_y1 = _S.bessel_j0, _S.bessel_j1, _S.bessel_y0, _S.bessel_y1
modified_bessel_k0, modified_bessel_k1 = _S.modified_bessel_k0, _S.modified_bessel_k1
scaled_modified_bessel_k0 = _S.scaled_modified_bessel_k0
scaled_modified_bessel_k1 = _S.scaled_modified_bessel_k1
airy_ai, erfcx = _S.airy_ai, _S.erfcx


def erf(input):
    return _lk().erf(input)


def expit(input):
    return _lk().sigmoid(_to_float(input))


def logit(input, eps=None):
    return _lk().logit(input, eps)


def exp2(input):
    return _lk().exp2(input)


def expm1(input):
    return _lk().expm1(input)


def log1p(input):
    return _lk().log1p(input)


def round(input, *, decimals=0):  # noqa: A001  (torch's name)
    return _lk().round(input, decimals=decimals)


def softmax(input, dim, *, dtype=None):
    return _lk().softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    return _lk().log_softmax(input, dim, dtype=dtype)


def logsumexp(input, dim, keepdim=False):
    return _lk().logsumexp(input, dim, keepdim)


def xlog1py(input, other):
    """``x * log1p(y)``, and 0 where x == 0 (unless y is NaN)."""
    x, y = _X._as_operands(input, other)
    return _lk().where((x == 0) & ~y.isnan(), 0.0, x * y.log1p())


def entr(input):
    """``-x log x`` (0 at 0, -inf for x < 0)."""
    lk = _lk()
    x = _to_float(input)
    safe = lk.where(x > 0, x, 1.0)
    out = lk.where(x > 0, -safe * safe.log(), 0.0)
    out = lk.where(x < 0, -math.inf, out)
    return lk.where(x.isnan(), x, out)


def ndtr(input):
    """The standard normal CDF."""
    x = _to_float(input)
    return 0.5 * (1 + _lk().erf(x * (1 / math.sqrt(2))))


def ndtri(input):
    """The inverse of ``ndtr``."""
    p = _to_float(input)
    return math.sqrt(2) * erfinv(2 * p - 1)


_LOG_NDTR_SPLIT = -5.5


def log_ndtr(input):
    """``log(ndtr(x))``; below x = -5.5 the asymptotic series of the Mills ratio (no
    underflow)."""
    lk = _lk()
    x0 = _to_float(input)
    x = x0.to(lk.float64)                        # float32 would cancel in 1 + erf(x)
    low = x < _LOG_NDTR_SPLIT
    hi = lk.where(low, 0.0, x)
    lo = lk.where(low, x, _LOG_NDTR_SPLIT - 1)
    direct = (0.5 * (1 + lk.erf(hi * (1 / math.sqrt(2))))).log()
    z = 1 / (lo * lo)
    series, term = 1.0, 1.0
    for k in range(1, 30):                       # 1 - 1/x^2 + 3/x^4 - 15/x^6 ...
        term = term * (-(2 * k - 1)) * z
        series = series + term
    asym = -0.5 * lo * lo - (-lo).log() - 0.5 * math.log(2 * math.pi) + series.log()
    return lk.where(low, asym, direct).to(x0.dtype)


def spherical_bessel_j0(input):
    """``sin(x) / x`` (1 at 0)."""
    lk = _lk()
    x = _to_float(input)
    zero = x == 0
    safe = lk.where(zero, 1.0, x)
    return lk.where(zero, 1.0, safe.sin() / safe)


# ------------------------------------------------------------------ orthogonal polynomials
def _poly(input, n, first, second, step):
    """Evaluate a three-term recurrence ``p_{k+1} = step(k, x, p_k, p_{k-1})`` at degree ``n``
    (a number or a tensor broadcasting with x); 0 for negative n.  No gradient, as PyTorch."""
    x = _to_float(input)._np if isinstance(input, _Tensor) or not isinstance(n, _Tensor) \
        else np.asarray(input, np.float64)
    nn = n._np if isinstance(n, _Tensor) else np.asarray(n)
    dt = np.result_type(x.dtype, nn.dtype) if nn.dtype.kind == "f" else x.dtype
    xb, nb = np.broadcast_arrays(x.astype(np.float64), np.trunc(nn).astype(np.int64))
    out = np.zeros(xb.shape)
    p0, p1 = first(xb), second(xb)
    top = int(np.max(nb)) if nb.size else 0
    out = np.where(nb == 0, p0, out)
    out = np.where(nb == 1, p1, out)
    for k in range(1, top):
        p0, p1 = p1, step(k, xb, p1, p0)
        out = np.where(nb == k + 1, p1, out)
    return _make(out.astype(dt if np.dtype(dt).kind == "f" else np.float32))


def chebyshev_polynomial_t(input, n):
    return _poly(input, n, np.ones_like, lambda x: x, lambda k, x, p, q: 2 * x * p - q)


def chebyshev_polynomial_u(input, n):
    return _poly(input, n, np.ones_like, lambda x: 2 * x, lambda k, x, p, q: 2 * x * p - q)


def chebyshev_polynomial_v(input, n):
    return _poly(input, n, np.ones_like, lambda x: 2 * x - 1, lambda k, x, p, q: 2 * x * p - q)


def chebyshev_polynomial_w(input, n):
    return _poly(input, n, np.ones_like, lambda x: 2 * x + 1, lambda k, x, p, q: 2 * x * p - q)


def _shifted(fn):
    def shifted(input, n):
        x = _to_float(input) if isinstance(input, _Tensor) else input
        return fn(2 * x - 1, n)
    shifted.__name__ = "shifted_" + fn.__name__
    return shifted


shifted_chebyshev_polynomial_t = _shifted(chebyshev_polynomial_t)
shifted_chebyshev_polynomial_u = _shifted(chebyshev_polynomial_u)
shifted_chebyshev_polynomial_v = _shifted(chebyshev_polynomial_v)
shifted_chebyshev_polynomial_w = _shifted(chebyshev_polynomial_w)


def hermite_polynomial_h(input, n):
    """Physicists' Hermite polynomials."""
    return _poly(input, n, np.ones_like, lambda x: 2 * x,
                 lambda k, x, p, q: 2 * x * p - 2 * k * q)


def hermite_polynomial_he(input, n):
    """Probabilists' Hermite polynomials."""
    return _poly(input, n, np.ones_like, lambda x: x, lambda k, x, p, q: x * p - k * q)


def laguerre_polynomial_l(input, n):
    return _poly(input, n, np.ones_like, lambda x: 1 - x,
                 lambda k, x, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1))


def legendre_polynomial_p(input, n):
    return _poly(input, n, np.ones_like, lambda x: x,
                 lambda k, x, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1))


def _add_out():
    """``out=`` on every function but softmax/log_softmax (PyTorch gives those none)."""
    g = globals()
    for name in __all__:
        if name not in ("softmax", "log_softmax"):
            g[name] = _with_out(g[name], "special." + name)


_add_out()
