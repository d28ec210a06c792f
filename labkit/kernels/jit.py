"""Numba kernels (float32, flat contiguous data, cached on disk).

Rules kept here (see shared/docs/performance.md):
- every kernel is a module-level ``@njit(cache=True)`` function: nothing built in closures, so the
  compiled code is reused by every later process;
- kernels take 1-D contiguous float32 arrays (or 2-D for row-wise ops), so each has one signature;
- ``exp`` is computed by ``_exp32`` below (range reduction + polynomial, <= 2 ulp): Numba's libm
  ``exp`` does not vectorise without SVML and is ~5x slower than NumPy, ``_exp32`` is ~2x faster;
- ``error_model='numpy'`` removes Python's ZeroDivisionError checks, which block vectorisation;
- fastmath without ``nnan``/``ninf`` so NaN and Inf still propagate (anomaly detection relies on it).
"""
import numpy as np
from numba import njit

FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
_opts = dict(cache=True, fastmath=FM, error_model="numpy", nogil=True)

f32 = np.float32
LOG2E = f32(1.4426950408889634)
LN2_HI = f32(0.693359375)
LN2_LO = f32(-2.12194440e-4)


@njit(inline="always", **_opts)
def _exp32(x):
    xc = min(max(x, f32(-87.0)), f32(88.5))
    n = np.floor(xc * LOG2E + f32(0.5))
    r = xc - n * LN2_HI - n * LN2_LO
    p = f32(1.0 / 720)
    p = p * r + f32(1.0 / 120)
    p = p * r + f32(1.0 / 24)
    p = p * r + f32(1.0 / 6)
    p = p * r + f32(0.5)
    p = p * r + f32(1.0)
    p = p * r + f32(1.0)
    y = p * np.int32((np.int32(n) + np.int32(127)) << np.int32(23)).view(np.float32)
    y = f32(0.0) if x < f32(-87.0) else y
    y = f32(np.inf) if x > f32(88.5) else y
    return y if x == x else x


@njit(inline="always", **_opts)
def _sigmoid32(x):
    return f32(1.0) / (f32(1.0) + _exp32(-x))


@njit(inline="always", **_opts)
def _erf32(x):
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), branch-free so it vectorises
    a = abs(x)
    t = f32(1.0) / (f32(1.0) + f32(0.3275911) * a)
    y = t * (f32(0.254829592) + t * (f32(-0.284496736) + t * (f32(1.421413741)
             + t * (f32(-1.453152027) + t * f32(1.061405429)))))
    r = f32(1.0) - y * _exp32(-a * a)
    return r if x >= f32(0.0) else -r


@njit(**_opts)
def exp(x, out):
    for i in range(x.size):
        out[i] = _exp32(x[i])


@njit(**_opts)
def sigmoid(x, out):
    for i in range(x.size):
        out[i] = _sigmoid32(x[i])


@njit(**_opts)
def tanh(x, out):
    for i in range(x.size):
        v = x[i]
        e = _exp32(f32(-2.0) * abs(v))
        t = (f32(1.0) - e) / (f32(1.0) + e)
        out[i] = t if v >= f32(0.0) else -t


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
def gelu(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = f32(0.5) * v * (f32(1.0) + _erf32(v * f32(0.7071067811865476)))


@njit(**_opts)
def gelu_backward(g, x, out):
    for i in range(x.size):
        v = x[i]
        cdf = f32(0.5) * (f32(1.0) + _erf32(v * f32(0.7071067811865476)))
        pdf = _exp32(f32(-0.5) * v * v) * f32(0.3989422804014327)
        out[i] = g[i] * (cdf + v * pdf)


@njit(**_opts)
def silu(x, out):
    for i in range(x.size):
        out[i] = x[i] * _sigmoid32(x[i])


@njit(**_opts)
def silu_backward(g, x, out):
    for i in range(x.size):
        s = _sigmoid32(x[i])
        out[i] = g[i] * s * (f32(1.0) + x[i] * (f32(1.0) - s))


@njit(**_opts)
def addcmul(a, b, c, value, out):
    for i in range(a.size):
        out[i] = a[i] + value * b[i] * c[i]


@njit(**_opts)
def lerp(a, b, w, out):
    for i in range(a.size):
        out[i] = a[i] + w * (b[i] - a[i])


@njit(**_opts)
def softmax_lastdim(x, out):
    n, m = x.shape
    for r in range(n):
        mx = f32(-np.inf)
        for j in range(m):
            mx = max(mx, x[r, j])
        if mx == f32(-np.inf):
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
def log_softmax_lastdim(x, out):
    n, m = x.shape
    for r in range(n):
        mx = f32(-np.inf)
        for j in range(m):
            mx = max(mx, x[r, j])
        if mx == f32(-np.inf):
            mx = f32(0.0)
        s = f32(0.0)
        for j in range(m):
            s += _exp32(x[r, j] - mx)
        lse = mx + np.log(s)
        for j in range(m):
            out[r, j] = x[r, j] - lse


@njit(**_opts)
def softmax_backward_lastdim(g, y, out):
    n, m = g.shape
    for r in range(n):
        d = f32(0.0)
        for j in range(m):
            d += g[r, j] * y[r, j]
        for j in range(m):
            out[r, j] = y[r, j] * (g[r, j] - d)


@njit(**_opts)
def log_softmax_backward_lastdim(g, y, out):
    n, m = g.shape
    for r in range(n):
        s = f32(0.0)
        for j in range(m):
            s += g[r, j]
        for j in range(m):
            out[r, j] = g[r, j] - _exp32(y[r, j]) * s


@njit(cache=True, nogil=True)
def has_nonfinite(x):
    for i in range(x.size):
        v = x[i]
        if v - v != 0.0:             # NaN or +-Inf (strict fp: no fastmath here)
            return True
    return False
