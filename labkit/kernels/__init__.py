"""Kernel dispatch: Numba kernels for float32 contiguous data, the NumPy reference otherwise.

Ops call e.g. ``kernels.unary("sigmoid", x)`` or ``kernels.binary("relu_backward", g, y)``.
``LABKIT_JIT=0`` in the environment forces the reference path (pure NumPy, easy to debug).
Numba is imported on first use, so ``import labkit`` stays fast.
"""
import os

import numpy as np

from . import reference as ref

USE_JIT = os.environ.get("LABKIT_JIT", "1") != "0"
_jit = None
_F32 = np.dtype(np.float32)


def jit_module():
    """The Numba kernel module (imported lazily); None when JIT is disabled."""
    global _jit
    if not USE_JIT:
        return None
    if _jit is None:
        from . import jit as _m
        _jit = _m
    return _jit


def _ok(*arrs):
    for a in arrs:
        if a.dtype != _F32 or not a.flags.c_contiguous:
            return False
    return USE_JIT


def unary(name, x):
    if _ok(x):
        out = np.empty_like(x)
        getattr(jit_module(), name)(x.reshape(-1), out.reshape(-1))
        return out
    return getattr(ref, name)(x)


def binary(name, a, b):
    """Fused elementwise kernel of two same-shape arrays (e.g. a backward rule ``(g, y)``)."""
    if a.shape == b.shape and _ok(a, b):
        out = np.empty_like(a)
        getattr(jit_module(), name)(a.reshape(-1), b.reshape(-1), out.reshape(-1))
        return out
    return getattr(ref, name)(a, b)


def rowwise(name, *arrs):
    """Kernel over the last axis (softmax family); other axes are flattened into rows."""
    x = arrs[0]
    if x.ndim >= 1 and x.size and all(a.shape == x.shape for a in arrs) and _ok(*arrs):
        m = x.shape[-1]
        out = np.empty_like(x)
        getattr(jit_module(), name)(*[a.reshape(-1, m) for a in arrs], out.reshape(-1, m))
        return out
    return getattr(ref, name)(*arrs)


def addcmul(a, b, c, value):
    if a.shape == b.shape == c.shape and _ok(a, b, c):
        out = np.empty_like(a)
        jit_module().addcmul(a.reshape(-1), b.reshape(-1), c.reshape(-1), np.float32(value),
                             out.reshape(-1))
        return out
    return ref.addcmul(a, b, c, value)


def lerp(a, b, w):
    if a.shape == b.shape and _ok(a, b) and np.ndim(w) == 0:
        out = np.empty_like(a)
        jit_module().lerp(a.reshape(-1), b.reshape(-1), np.float32(w), out.reshape(-1))
        return out
    return ref.lerp(a, b, w)


def has_nonfinite(x):
    if x.dtype.kind != "f" or x.size == 0:
        return False
    if USE_JIT and x.flags.c_contiguous:
        return bool(jit_module().has_nonfinite(x.reshape(-1)))
    return ref.has_nonfinite(x)
