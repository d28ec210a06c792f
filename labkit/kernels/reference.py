"""Plain NumPy reference implementations of every fused kernel.

These define what the Numba kernels in ``jit.py`` must compute; the test suite compares the two,
and ``LABKIT_JIT=0`` makes labkit use these everywhere (handy with a debugger).
"""
import math

import numpy as np

try:                                       # erf for exact GELU; NumPy has no ufunc for it
    from scipy.special import erf as _erf   # pragma: no cover - used when SciPy is present
except ImportError:                        # pragma: no cover
    _erf = np.vectorize(math.erf, otypes=[np.float64])

SQRT1_2 = 0.7071067811865476
INV_SQRT_2PI = 0.3989422804014327


def relu(x):
    return np.maximum(x, 0)


def exp(x):
    return np.exp(x)


def erf(x):
    return _erf(x.astype(np.float64)).astype(x.dtype, copy=False)


def sigmoid(x):
    # 1/(1+exp(-x)) overflows exp for very negative x; this form is stable on both sides
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def tanh(x):
    return np.tanh(x)


def relu_backward(g, y):
    return g * (y > 0)


def sigmoid_backward(g, y):
    return g * y * (1 - y)


def tanh_backward(g, y):
    return g * (1 - y * y)


def gelu(x):
    return (0.5 * x * (1 + _erf(x.astype(np.float64) * SQRT1_2))).astype(x.dtype)


def gelu_backward(g, x):
    x64 = x.astype(np.float64)
    cdf = 0.5 * (1 + _erf(x64 * SQRT1_2))
    pdf = np.exp(-0.5 * x64 * x64) * INV_SQRT_2PI
    return (g * (cdf + x64 * pdf)).astype(x.dtype)


def silu(x):
    return x * sigmoid(x)


def silu_backward(g, x):
    s = sigmoid(x)
    return g * s * (1 + x * (1 - s))


def addcmul(a, b, c, value):
    return a + value * b * c


def lerp(a, b, w):
    # PyTorch's two-sided formula (exact at w == 0 and w == 1)
    small = np.abs(w) < 0.5
    if np.ndim(small) == 0:
        return a + w * (b - a) if small else b - (b - a) * (1 - w)
    return np.where(small, a + w * (b - a), b - (b - a) * (1 - w))


def softmax_lastdim(x):
    m = x.max(axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax_lastdim(x):
    m = x.max(axis=-1, keepdims=True)
    s = x - m
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def softmax_backward_lastdim(g, y):
    return y * (g - (g * y).sum(axis=-1, keepdims=True))


def log_softmax_backward_lastdim(g, y):
    return g - np.exp(y) * g.sum(axis=-1, keepdims=True)


def has_nonfinite(x):
    return not np.isfinite(x).all()
