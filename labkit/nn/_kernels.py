"""Dispatch for the nn kernels: Numba (``kernels/nn_jit.py``) for float32 contiguous arrays,
the NumPy reference (``kernels/nn_reference.py``) otherwise or when ``LABKIT_JIT=0``."""
import sys
import threading

import numpy as np

from .. import kernels as _K
from ..kernels import nn_reference as ref

_F32 = np.dtype(np.float32)
_jit = None


def _mod(*arrs):
    """The kernel module to use for these arrays."""
    global _jit
    if not _K.USE_JIT:
        return ref
    for a in arrs:
        if a.dtype != _F32 or not a.flags.c_contiguous:
            return ref
    if _jit is None:
        _K.jit_module()                       # import numba the usual way first
        from ..kernels import nn_jit
        _jit = nn_jit
    return _jit


# ------------------------------------------------------------------ reused buffers
# A fresh array of a few MB comes from mmap or a freshly trimmed heap, so the first write to each
# 4 KiB page is a page fault (~3 us in this VM).  In the LSTM step (B=32, T=32, H=128) the cell
# kernel spent 2.1 of its 2.7 ms/step on faults writing the fresh activation buffer step by step.
# Big arrays that Functions keep for backward or use as scratch (im2col columns, LSTM states) come
# from this pool: a buffer is handed out again once nothing but the pool refers to it (the graph
# that saved it has run backward or was dropped).  Never used for arrays returned as outputs.
POOL_MIN_BYTES = 256 << 10
POOL_MAX_BYTES = 64 << 20
_pool = {}                          # (shape, dtype) -> [arrays]
_pool_bytes = [0]
_pool_lock = threading.Lock()


def _free_refs():
    probe = [np.empty(1)]
    for b in probe:                 # the list, the loop variable, getrefcount's argument
        return sys.getrefcount(b)


_FREE = _free_refs()


def empty(shape, dtype):
    """An uninitialised C-contiguous array, recycled from the pool when it is big."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize
    for n in shape:
        nbytes *= n
    if nbytes < POOL_MIN_BYTES:
        return np.empty(shape, dtype)
    key = (tuple(shape), dtype)
    with _pool_lock:
        bufs = _pool.setdefault(key, [])
        for b in bufs:
            if sys.getrefcount(b) <= _FREE:
                return b
        b = np.empty(shape, dtype)
        if _pool_bytes[0] + nbytes <= POOL_MAX_BYTES:
            bufs.append(b)
            _pool_bytes[0] += nbytes
        return b


def empty_cache():
    """Forget the pooled buffers."""
    with _pool_lock:
        _pool.clear()
        _pool_bytes[0] = 0


def im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, pooled=False):
    N, C = x.shape[:2]
    shape = (N, C * KH * KW, OH * OW)
    cols = empty(shape, x.dtype) if pooled else np.empty(shape, x.dtype)
    _mod(x).im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, cols)
    return cols


def col2im(cols, shape, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    out = np.zeros(shape, cols.dtype)
    _mod(cols).col2im(cols, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out)
    return out


def max_pool2d(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    N, C = x.shape[:2]
    out = np.empty((N, C, OH, OW), x.dtype)
    idx = np.empty((N, C, OH, OW), np.int64)
    if (KH, KW, sh, sw, ph, pw, dh, dw) == (2, 2, 2, 2, 0, 0, 1, 1) and \
            2 * OH <= x.shape[2] and 2 * OW <= x.shape[3]:     # (not ceil_mode's partial windows)
        _mod(x).max_pool2d_2x2(x, out, idx)
    else:
        _mod(x).max_pool2d(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out, idx)
    return out, idx


def max_pool2d_backward(g, idx, shape):
    out = np.zeros(shape, g.dtype)
    _mod(g).max_pool2d_backward(np.ascontiguousarray(g), idx, out)
    return out


def layer_norm(x, w, b, eps):
    R = x.shape[0]
    y = np.empty_like(x)
    mean = np.empty(R, x.dtype)
    rstd = np.empty(R, x.dtype)
    _mod(x, w, b).layer_norm(x, w, b, x.dtype.type(eps), y, mean, rstd)
    return y, mean, rstd


def layer_norm_backward(g, x, w, mean, rstd):
    gx = np.empty_like(x)
    gw = np.zeros(x.shape[1], x.dtype)
    gb = np.zeros(x.shape[1], x.dtype)
    _mod(g, x, w).layer_norm_backward(g, x, w, mean, rstd, gx, gw, gb)
    return gx, gw, gb


def cross_entropy(z, y, w, eps, ignore_index):
    R = z.shape[0]
    loss = np.empty(R, z.dtype)
    lse = np.empty(R, z.dtype)
    _mod(z, w).cross_entropy(z, y, w, z.dtype.type(eps), ignore_index, loss, lse)
    return loss, lse


def cross_entropy_backward(z, y, w, eps, ignore_index, lse, g):
    out = np.empty_like(z)
    _mod(z, w, g).cross_entropy_backward(z, y, w, z.dtype.type(eps), ignore_index, lse,
                                         np.ascontiguousarray(g), out)
    return out
