"""The nn kernels (im2col / col2im, pooling, layer norm, cross-entropy, the LSTM cell) for the
Functions of ``labkit.nn.functional``: Numba (``nn_jit.py``) for float32 contiguous arrays, the
NumPy reference (``nn_reference.py``) otherwise or when ``LABKIT_JIT=0`` (``kernels.backend``)."""
import numpy as np

from . import SCRATCH_MIN_BYTES, backend
from . import empty as _empty


def empty(shape, dtype):
    """Scratch kept for backward (im2col columns, LSTM states): pooled from 256 KiB, see
    ``kernels.empty``."""
    return _empty(shape, dtype, SCRATCH_MIN_BYTES)


def _mod(*arrs, work=0):
    """The nn kernel module to use for these arrays (``work``: elements, for ``par_jit``)."""
    return backend("nn", *arrs, work=work)


def im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, pooled=False):
    N, C = x.shape[:2]
    shape = (N, C * KH * KW, OH * OW)
    cols = empty(shape, x.dtype) if pooled else np.empty(shape, x.dtype)
    _mod(x, work=x.size * KH * KW).im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, cols)
    return cols


def col2im(cols, shape, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    out = np.zeros(shape, cols.dtype)
    _mod(cols, work=cols.size).col2im(cols, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out)
    return out


def max_pool2d(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    N, C = x.shape[:2]
    out = np.empty((N, C, OH, OW), x.dtype)
    idx = np.empty((N, C, OH, OW), np.int64)
    if (KH, KW, sh, sw, ph, pw, dh, dw) == (2, 2, 2, 2, 0, 0, 1, 1) and \
            2 * OH <= x.shape[2] and 2 * OW <= x.shape[3]:     # (not ceil_mode's partial windows)
        _mod(x, work=x.size).max_pool2d_2x2(x, out, idx)
    else:
        _mod(x, work=x.size * KH * KW).max_pool2d(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW,
                                                  out, idx)
    return out, idx


def max_pool2d_backward(g, idx, shape):
    out = np.zeros(shape, g.dtype)
    _mod(g, work=g.size).max_pool2d_backward(np.ascontiguousarray(g), idx, out)
    return out


def layer_norm(x, w, b, eps):
    R = x.shape[0]
    y = np.empty_like(x)
    mean = np.empty(R, x.dtype)
    rstd = np.empty(R, x.dtype)
    _mod(x, w, b, work=x.size).layer_norm(x, w, b, x.dtype.type(eps), y, mean, rstd)
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
    _mod(z, w, work=z.size).cross_entropy(z, y, w, z.dtype.type(eps), ignore_index, loss, lse)
    return loss, lse


def cross_entropy_backward(z, y, w, eps, ignore_index, lse, g):
    out = np.empty_like(z)
    k = _mod(z, w, g, work=z.size)
    k.cross_entropy_backward(z, y, w, z.dtype.type(eps), ignore_index, lse,
                             np.ascontiguousarray(g), out)
    return out
