"""Numba kernels (float32, flat contiguous data, cached on disk).

Rules kept here (see shared/docs/performance.md):
- every kernel is a module-level ``@njit(cache=True)`` function: nothing built in closures, so the
  compiled code is reused by every later process;
- kernels take 1-D contiguous float32 arrays (or 2-D for row-wise ops) plus a preallocated ``out``,
  so each has one signature; ``labkit.kernels`` flattens, allocates and dispatches;
- ``exp`` is computed by ``_exp32`` below (range reduction + polynomial, <= 1 ulp measured): Numba's
  libm ``exp`` does not vectorise without SVML and is ~5x slower than NumPy, ``_exp32`` is ~2x faster;
- ``error_model='numpy'`` removes Python's ZeroDivisionError checks, which block vectorisation;
- fastmath without ``nnan``/``ninf`` so NaN and Inf still propagate (anomaly detection relies on it).

Scalar helpers (``_exp32``, ``_tanh32``, ...) are compiled with ``FM_HELPER``, which leaves out
``reassoc``, and are *not* inlined by Numba (``inline="always"`` would give them the caller's flags):
LLVM still inlines and vectorises them, but keeps their flags, so it cannot rewrite
``(p * 2**n1) * 2**n2`` into ``p * 2**128`` (measured: that turned exp(88.4) into inf) or undo the
Cody-Waite split of ``n * ln2``.  Kernels use ``FM`` (with ``reassoc``) so their sums vectorise.

Helpers start with ``_``; every public dispatcher is a kernel with an entry in ``WARMUP`` (tiny
example arguments, used by ``labkit.warmup`` to compile or load it ahead of time).
"""
import math

import numpy as np
from numba import njit

FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
FM_HELPER = {"nsz", "arcp", "contract", "afn"}
_opts = dict(cache=True, fastmath=FM, error_model="numpy", nogil=True)
_hopts = dict(cache=True, fastmath=FM_HELPER, error_model="numpy", nogil=True)

f32 = np.float32
LOG2E = f32(1.4426950408889634)
LN2_HI = f32(0.693359375)          # ln 2 = LN2_HI + LN2_LO; n * LN2_HI is exact for |n| < 2**15
LN2_LO = f32(-2.12194440e-4)
SQRT1_2 = f32(0.7071067811865476)
INV_SQRT_2PI = f32(0.3989422804014327)


@njit(**_hopts)
def _exp32(x):
    """exp(x) in float32, <= 1 ulp (normal results), correct subnormals, inf above 88.72, NaN kept."""
    xc = min(max(x, f32(-104.0)), f32(88.8))
    n = np.floor(xc * LOG2E + f32(0.5))
    r = xc - n * LN2_HI
    r = r - n * LN2_LO                                  # |r| <= ln2 / 2
    p = f32(1.9875691500e-4)                            # Cephes expf minimax polynomial
    p = p * r + f32(1.3981999507e-3)
    p = p * r + f32(8.3334519073e-3)
    p = p * r + f32(4.1665795894e-2)
    p = p * r + f32(1.6666665459e-1)
    p = p * r + f32(5.0000001201e-1)
    p = p * (r * r) + r + f32(1.0)
    # 2**n as two normal factors: n is in [-150, 128], one factor would over/underflow
    ni = np.int32(n)
    n1 = ni >> np.int32(1)
    n2 = ni - n1
    s1 = np.int32((n1 + np.int32(127)) << np.int32(23)).view(np.float32)
    s2 = np.int32((n2 + np.int32(127)) << np.int32(23)).view(np.float32)
    y = (p * s1) * s2
    return y if x == x else x


@njit(**_hopts)
def _sigmoid32(x):
    # e/(1+e) on the negative side keeps relative accuracy where 1/(1+exp(-x)) would lose it
    e = _exp32(-abs(x))
    s = f32(1.0) / (f32(1.0) + e)
    return s if x >= f32(0.0) else e * s


@njit(**_hopts)
def _tanh32(x):
    """tanh(x) in float32, <= 5 ulp measured: Eigen's [13/6] rational minimax approximation on
    [-9, 9] (one division; 2x faster than exp-based forms here, 1.4x faster than np.tanh)."""
    c = min(max(x, f32(-9.0)), f32(9.0))
    x2 = c * c
    p = f32(-2.76076847742355e-16)
    p = x2 * p + f32(2.00018790482477e-13)
    p = x2 * p + f32(-8.60467152213735e-11)
    p = x2 * p + f32(5.12229709037114e-08)
    p = x2 * p + f32(1.48572235717979e-05)
    p = x2 * p + f32(6.37261928875436e-04)
    p = x2 * p + f32(4.89352455891786e-03)
    q = f32(1.19825839466702e-06)
    q = x2 * q + f32(1.18534705686654e-04)
    q = x2 * q + f32(2.26843463243900e-03)
    q = x2 * q + f32(4.89352518554385e-03)
    y = min(max(c * p / q, f32(-1.0)), f32(1.0))
    y = x if abs(x) < f32(4e-4) else y               # tanh(x) == x to < 0.5 ulp; keeps subnormals
    return y if x == x else x


@njit(**_hopts)
def _ndtr32(v):
    """Standard normal CDF Phi(v) = (1 + erf(v / sqrt 2)) / 2, relative error ~1e-7 on both tails.

    erfc(a) = t * exp(-a^2 + P(t)), t = 1 / (1 + a/2) (Numerical Recipes ``erfcc``: fractional
    error < 1.2e-7 for all a >= 0); Phi(-|v|) = erfc(|v|/sqrt 2) / 2 has no cancellation.
    """
    a = abs(v) * SQRT1_2
    t = f32(1.0) / (f32(1.0) + f32(0.5) * a)
    p = f32(0.17087277)
    p = p * t + f32(-0.82215223)
    p = p * t + f32(1.48851587)
    p = p * t + f32(-1.13520398)
    p = p * t + f32(0.27886807)
    p = p * t + f32(-0.18628806)
    p = p * t + f32(0.09678418)
    p = p * t + f32(0.37409196)
    p = p * t + f32(1.00002368)
    p = p * t + f32(-1.26551223)
    q = f32(0.5) * t * _exp32(p - a * a)              # Phi(-|v|)
    return q if v < f32(0.0) else f32(1.0) - q


# ------------------------------------------------------------------------------ unary: (x, out)
@njit(**_opts)
def relu(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = v if (v > f32(0.0)) | (v != v) else f32(0.0)     # np.maximum(x, 0) exactly


@njit(**_opts)
def exp(x, out):
    for i in range(x.size):
        out[i] = _exp32(x[i])


@njit(**_opts)
def erf(x, out):
    for i in range(x.size):
        out[i] = math.erf(x[i])                 # libm's erf: < 1 ulp


@njit(**_opts)
def sigmoid(x, out):
    for i in range(x.size):
        out[i] = _sigmoid32(x[i])


@njit(**_opts)
def tanh(x, out):
    for i in range(x.size):
        out[i] = _tanh32(x[i])


@njit(**_opts)
def gelu(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = v * _ndtr32(v)


@njit(**_opts)
def silu(x, out):
    for i in range(x.size):
        out[i] = x[i] * _sigmoid32(x[i])


# ------------------------------------------------------------------------------ binary: (g, y, out)
@njit(**_opts)
def relu_backward(g, y, out):
    for i in range(g.size):
        out[i] = g[i] if y[i] > f32(0.0) else f32(0.0)


@njit(**_opts)
def sigmoid_backward(g, y, out):
    for i in range(g.size):
        out[i] = g[i] * y[i] * (f32(1.0) - y[i])


@njit(**_opts)
def tanh_backward(g, y, out):
    for i in range(g.size):
        out[i] = g[i] * (f32(1.0) - y[i] * y[i])


@njit(**_opts)
def gelu_backward(g, x, out):
    for i in range(x.size):
        v = x[i]
        pdf = _exp32(f32(-0.5) * v * v) * INV_SQRT_2PI
        out[i] = g[i] * (_ndtr32(v) + v * pdf)


@njit(**_opts)
def silu_backward(g, x, out):
    for i in range(x.size):
        s = _sigmoid32(x[i])
        out[i] = g[i] * s * (f32(1.0) + x[i] * (f32(1.0) - s))


# ------------------------------------------------------------------------------ fused arithmetic
@njit(**_opts)
def addcmul(a, b, c, value, out):
    for i in range(a.size):
        out[i] = a[i] + value * b[i] * c[i]


@njit(**_opts)
def lerp(a, b, w, out):
    # PyTorch's two-sided formula: exact at w == 0 and w == 1
    if abs(w) < f32(0.5):
        for i in range(a.size):
            out[i] = a[i] + w * (b[i] - a[i])
    else:
        w1 = f32(1.0) - w
        for i in range(a.size):
            out[i] = b[i] - (b[i] - a[i]) * w1


# ------------------------------------------------------------------------------ row-wise: (n, m)
@njit(**_hopts)
def _rowmax(x, r):
    """max of row r, ignoring NaN (a NaN still turns the whole softmax row into NaN through exp).

    Eight independent running maxima: a single ``max`` chain cannot vectorise (NaN semantics) and
    waits ~4 cycles per element; this made softmax on 1000x1000 1.8x faster (900 -> 517 us)."""
    m = x.shape[1]
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = f32(-np.inf)
    j = 0
    while j + 8 <= m:
        v0, v1, v2, v3 = x[r, j], x[r, j + 1], x[r, j + 2], x[r, j + 3]
        v4, v5, v6, v7 = x[r, j + 4], x[r, j + 5], x[r, j + 6], x[r, j + 7]
        a0 = v0 if v0 > a0 else a0
        a1 = v1 if v1 > a1 else a1
        a2 = v2 if v2 > a2 else a2
        a3 = v3 if v3 > a3 else a3
        a4 = v4 if v4 > a4 else a4
        a5 = v5 if v5 > a5 else a5
        a6 = v6 if v6 > a6 else a6
        a7 = v7 if v7 > a7 else a7
        j += 8
    while j < m:
        v = x[r, j]
        a0 = v if v > a0 else a0
        j += 1
    a0 = a1 if a1 > a0 else a0
    a2 = a3 if a3 > a2 else a2
    a4 = a5 if a5 > a4 else a4
    a6 = a7 if a7 > a6 else a6
    a0 = a2 if a2 > a0 else a0
    a4 = a6 if a6 > a4 else a4
    return a4 if a4 > a0 else a0


@njit(inline="always", **_opts)
def _softmax_row(x, r, out, dead_zero):
    """Row ``r`` of ``out`` = the softmax of row ``r`` of ``x`` (``x`` may be ``out``).  A row of
    -inf only gives zeros with ``dead_zero`` (attention's "safe softmax"), else NaN."""
    m = x.shape[1]
    mx = _rowmax(x, r)
    if mx == f32(-np.inf):
        if dead_zero:
            for j in range(m):
                out[r, j] = f32(0.0)
            return
        mx = f32(0.0)
    s = f32(0.0)
    for j in range(m):
        e = _exp32(x[r, j] - mx)
        out[r, j] = e
        s += e
    inv = f32(1.0) / s
    for j in range(m):
        out[r, j] *= inv


@njit(**_opts)
def softmax_lastdim(x, out):
    for r in range(x.shape[0]):
        _softmax_row(x, r, out, False)


@njit(**_opts)
def log_softmax_lastdim(x, out):
    n, m = x.shape
    for r in range(n):
        mx = _rowmax(x, r)
        if mx == f32(-np.inf):
            mx = f32(0.0)
        s = f32(0.0)
        for j in range(m):
            s += _exp32(x[r, j] - mx)
        lse = mx + np.log(s)
        for j in range(m):
            out[r, j] = x[r, j] - lse


@njit(inline="always", **_opts)
def _softmax_backward_rows(g, y, scale, out):
    # out = scale * y * (g - sum(g * y)) per row: the softmax's Jacobian applied to g
    n, m = g.shape
    for r in range(n):
        d = f32(0.0)
        for j in range(m):
            d += g[r, j] * y[r, j]
        for j in range(m):
            out[r, j] = scale * y[r, j] * (g[r, j] - d)


@njit(**_opts)
def softmax_backward_lastdim(g, y, out):
    _softmax_backward_rows(g, y, f32(1.0), out)


@njit(**_opts)
def log_softmax_backward_lastdim(g, y, out):
    n, m = g.shape
    for r in range(n):
        s = f32(0.0)
        for j in range(m):
            s += g[r, j]
        for j in range(m):
            out[r, j] = g[r, j] - _exp32(y[r, j]) * s


# ------------------------------------------------------------------------------ checks
@njit(cache=True, nogil=True)
def has_nonfinite(x):
    """True if x holds a NaN or an infinity: an integer max of |bits| over the whole array
    (vectorises without fastmath, so NaN handling cannot be optimised away; a blocked loop with
    an early exit measured 10x slower)."""
    bits = x.view(np.int32)
    m = np.int32(0)
    for i in range(bits.size):
        m = max(m, bits[i] & np.int32(0x7FFFFFFF))
    return m >= np.int32(0x7F800000)                  # exponent all ones: inf or NaN


# ------------------------------------------------------------------------------ warm-up examples
def _v(n=4):
    return np.linspace(-2, 2, n, dtype=np.float32)


def _m():
    return np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3)


WARMUP = {
    **{k: (lambda: (_v(), _v())) for k in ("relu", "exp", "erf", "sigmoid", "tanh", "gelu", "silu")},
    **{k: (lambda: (_v(), _v(), _v())) for k in ("relu_backward", "sigmoid_backward",
                                                  "tanh_backward", "gelu_backward",
                                                  "silu_backward")},
    "addcmul": lambda: (_v(), _v(), _v(), np.float32(0.5), _v()),
    "lerp": lambda: (_v(), _v(), np.float32(0.5), _v()),
    "softmax_lastdim": lambda: (_m(), _m()),
    "log_softmax_lastdim": lambda: (_m(), _m()),
    "softmax_backward_lastdim": lambda: (_m(), _m(), _m()),
    "log_softmax_backward_lastdim": lambda: (_m(), _m(), _m()),
    "has_nonfinite": lambda: (_v(),),
}
