"""``labkit.signal.windows`` (~ ``torch.signal.windows``): window functions of ``M`` points.

``sym=True`` gives a symmetric window (for filter design); ``sym=False`` a periodic one (for
spectral analysis: the symmetric window of M + 1 points without its last point).
"""
import math

import numpy as np

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]


def _finish(values, dtype, requires_grad):
    import labkit
    dt = dtype or labkit.get_default_dtype()
    if not labkit.dtypes.as_dtype(dt).is_floating_point:
        raise ValueError(f"floating point is expected, got {dt}")
    return labkit.tensor(np.asarray(values, np.float64), dtype=dt, requires_grad=requires_grad)


def _check(name, M):
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")


def _grid(M, sym):
    """Positions 0..M-1 and the denominator of the (symmetric or periodic) window."""
    n = np.arange(M, dtype=np.float64)
    return n, (M - 1 if sym else M)


def general_cosine(M, *, a, sym=True, dtype=None, layout=None, device=None,
                   requires_grad=False):
    """``sum_k (-1)^k a[k] cos(2 pi k n / (M - 1))``."""
    _check("general_cosine", M)
    if M == 1:
        return _finish(np.ones(1), dtype, requires_grad)
    n, den = _grid(M, sym)
    w = sum(((-1) ** k) * float(c) * np.cos(2 * math.pi * k * n / den) for k, c in enumerate(a))
    return _finish(np.asarray(w) if M else np.zeros(0), dtype, requires_grad)


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=None, device=None,
                    requires_grad=False):
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype,
                          requires_grad=requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_hamming(M, sym=sym, dtype=dtype, requires_grad=requires_grad)


def hann(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, requires_grad=requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype,
                          requires_grad=requires_grad)


def nuttall(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym,
                          dtype=dtype, requires_grad=requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The triangular window ``1 - |2n / (M - 1) - 1|``."""
    _check("bartlett", M)
    if M <= 1:
        return _finish(np.ones(M), dtype, requires_grad)
    n, den = _grid(M, sym)
    return _finish(1 - np.abs(2 * n / den - 1), dtype, requires_grad)


def cosine(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """``sin(pi (n + 0.5) / M)`` (the half-period sine)."""
    _check("cosine", M)
    if M <= 1:
        return _finish(np.ones(M), dtype, requires_grad)
    n = np.arange(M, dtype=np.float64)
    den = M if sym else M + 1
    return _finish(np.sin(math.pi * (n + 0.5) / den), dtype, requires_grad)


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=None, device=None,
                requires_grad=False):
    """``exp(-|n - center| / tau)``."""
    _check("exponential", M)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M <= 1:
        return _finish(np.ones(M), dtype, requires_grad)
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    n = np.arange(M, dtype=np.float64)
    return _finish(np.exp(-np.abs(n - center) / tau), dtype, requires_grad)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=None, device=None,
             requires_grad=False):
    """``exp(-((n - (M - 1) / 2) / std)^2 / 2)``."""
    _check("gaussian", M)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M <= 1:
        return _finish(np.ones(M), dtype, requires_grad)
    start = -(M if not sym else M - 1) / 2.0
    n = start + np.arange(M, dtype=np.float64)
    return _finish(np.exp(-(n / std) ** 2 / 2), dtype, requires_grad)


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=None, device=None,
           requires_grad=False):
    """``I0(beta sqrt(1 - (2n / (M - 1) - 1)^2)) / I0(beta)``."""
    _check("kaiser", M)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    if M <= 1:
        return _finish(np.ones(M), dtype, requires_grad)
    n, den = _grid(M, sym)
    r = np.clip(1 - (2 * n / den - 1) ** 2, 0, None)
    return _finish(np.i0(beta * np.sqrt(r)) / np.i0(beta), dtype, requires_grad)
