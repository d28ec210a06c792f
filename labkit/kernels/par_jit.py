"""Parallel drivers: labkit's serial Numba kernels run on pieces of their data on the thread pool.

Each driver here has the signature of the serial kernel it drives (``jit.py``, ``nn_jit.py``) and
calls that kernel on independent pieces -- fixed-size chunks of a flat array, blocks of rows, or
single images -- inside one ``prange``.  The serial kernels stay the one definition of each
computation, and since the pieces depend on the shape alone the result is the same, bit for bit,
whatever the number of threads (``tests/test_threads.py``).  ``kernels/__init__.py`` and
``kernels/nn.py`` choose a driver instead of the serial kernel whenever the work is at least
``PAR_MIN`` elements, at any thread count (at one thread it runs on one of Numba's threads): the
serial kernel compiled on its own can round differently from the same kernel inlined here (a
``reassoc`` reduction vectorised another way: log_softmax's rows), the driver cannot.

Elementwise and row kernels are chosen by their index in ``UNARY`` / ``BINARY`` / ``ROWWISE``
(Numba cannot cache a function that takes another function as an argument).
"""
import numpy as np
from numba import njit, prange

from . import jit as J
from . import nn_jit as N
from . import optim_jit as O
from .jit import FM
from .threads import CHUNK, PAR_MIN  # noqa: F401  (PAR_MIN: the callers' threshold)

_opts = dict(cache=True, fastmath=FM, error_model="numpy", nogil=True, parallel=True)
_sopts = dict(cache=True, fastmath=FM, error_model="numpy", nogil=True)

UNARY = ("exp", "erf", "sigmoid", "tanh", "gelu", "silu", "relu")
BINARY = ("relu_backward", "sigmoid_backward", "tanh_backward", "gelu_backward", "silu_backward")
ROWWISE = ("softmax_lastdim", "log_softmax_lastdim", "softmax_backward_lastdim",
           "log_softmax_backward_lastdim")


@njit(**_sopts)
def _unary(k, x, out):
    if k == 0:
        J.exp(x, out)
    elif k == 1:
        J.erf(x, out)
    elif k == 2:
        J.sigmoid(x, out)
    elif k == 3:
        J.tanh(x, out)
    elif k == 4:
        J.gelu(x, out)
    elif k == 5:
        J.silu(x, out)
    else:
        J.relu(x, out)


@njit(**_sopts)
def _binary(k, a, b, out):
    if k == 0:
        J.relu_backward(a, b, out)
    elif k == 1:
        J.sigmoid_backward(a, b, out)
    elif k == 2:
        J.tanh_backward(a, b, out)
    elif k == 3:
        J.gelu_backward(a, b, out)
    else:
        J.silu_backward(a, b, out)


@njit(**_sopts)
def _rowwise2(k, x, out):
    if k == 0:
        J.softmax_lastdim(x, out)
    else:
        J.log_softmax_lastdim(x, out)


@njit(**_sopts)
def _rowwise3(k, g, y, out):
    if k == 2:
        J.softmax_backward_lastdim(g, y, out)
    else:
        J.log_softmax_backward_lastdim(g, y, out)


@njit(**_opts)
def unary(k, x, out):
    """Kernel ``UNARY[k]`` on 1-D ``x`` into ``out``, in chunks of ``CHUNK``."""
    n = x.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        _unary(k, x[lo:hi], out[lo:hi])


@njit(**_opts)
def binary(k, a, b, out):
    n = a.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        _binary(k, a[lo:hi], b[lo:hi], out[lo:hi])


@njit(**_opts)
def addcmul(a, b, c, value, out):
    n = a.size
    for ch in prange((n + CHUNK - 1) // CHUNK):
        lo = ch * CHUNK
        hi = min(n, lo + CHUNK)
        J.addcmul(a[lo:hi], b[lo:hi], c[lo:hi], value, out[lo:hi])


@njit(**_sopts)
def _rows_per_piece(rows, cols):
    return max(1, CHUNK // max(cols, 1))


@njit(**_opts)
def rowwise2(k, x, out):
    """Row kernel ``ROWWISE[k]`` (k < 2) on 2-D ``x``, in blocks of rows."""
    R, M = x.shape
    step = _rows_per_piece(R, M)
    for c in prange((R + step - 1) // step):
        lo = c * step
        hi = min(R, lo + step)
        _rowwise2(k, x[lo:hi], out[lo:hi])


@njit(**_opts)
def rowwise3(k, g, y, out):
    R, M = g.shape
    step = _rows_per_piece(R, M)
    for c in prange((R + step - 1) // step):
        lo = c * step
        hi = min(R, lo + step)
        _rowwise3(k, g[lo:hi], y[lo:hi], out[lo:hi])


# ------------------------------------------------------------------ nn kernels, one image a piece
@njit(**_opts)
def im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, cols):
    for n in prange(x.shape[0]):
        N.im2col(x[n:n + 1], KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, cols[n:n + 1])


@njit(**_opts)
def col2im(cols, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out):
    for n in prange(out.shape[0]):
        N.col2im(cols[n:n + 1], KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out[n:n + 1])


@njit(**_opts)
def max_pool2d(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out, idx):
    for n in prange(x.shape[0]):
        N.max_pool2d(x[n:n + 1], KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out[n:n + 1],
                     idx[n:n + 1])


@njit(**_opts)
def max_pool2d_2x2(x, out, idx):
    for n in prange(x.shape[0]):
        N.max_pool2d_2x2(x[n:n + 1], out[n:n + 1], idx[n:n + 1])


@njit(**_opts)
def max_pool2d_backward(g, idx, out):
    for n in prange(out.shape[0]):
        N.max_pool2d_backward(g[n:n + 1], idx[n:n + 1], out[n:n + 1])


# ------------------------------------------------------------------ nn kernels, blocks of rows
@njit(**_opts)
def layer_norm(x, w, b, eps, y, mean, rstd):
    R, D = x.shape
    step = _rows_per_piece(R, D)
    for c in prange((R + step - 1) // step):
        lo = c * step
        hi = min(R, lo + step)
        N.layer_norm(x[lo:hi], w, b, eps, y[lo:hi], mean[lo:hi], rstd[lo:hi])


@njit(**_opts)
def cross_entropy(z, y, w, eps, ignore_index, loss, lse):
    R, C = z.shape
    step = _rows_per_piece(R, C)
    for c in prange((R + step - 1) // step):
        lo = c * step
        hi = min(R, lo + step)
        N.cross_entropy(z[lo:hi], y[lo:hi], w, eps, ignore_index, loss[lo:hi], lse[lo:hi])


@njit(**_opts)
def cross_entropy_backward(z, y, w, eps, ignore_index, lse, g, out):
    R, C = z.shape
    step = _rows_per_piece(R, C)
    for c in prange((R + step - 1) // step):
        lo = c * step
        hi = min(R, lo + step)
        N.cross_entropy_backward(z[lo:hi], y[lo:hi], w, eps, ignore_index, lse[lo:hi],
                                 g[lo:hi], out[lo:hi])


# ------------------------------------------------------------------ optimizer updates, flat chunks
# (compiled with optim_jit's own flags: the update inlined under par_jit's ``reassoc`` contracted
# differently and changed ~5% of the results by an ulp -- measured)
_oopts = dict(O._opts, parallel=True)


@njit(**_oopts)
def sgd(p, g, buf, lr, weight_decay, momentum, dampening, nesterov, maximize, init_buf):
    n = p.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        O.sgd(p[lo:hi], g[lo:hi], buf[lo:hi], lr, weight_decay, momentum, dampening, nesterov,
              maximize, init_buf)


@njit(**_oopts)
def adam(p, g, m, v, vmax, weight_decay, decay_factor, beta1, beta2, step_size, bc2_sqrt, eps,
         amsgrad, maximize, decoupled):
    n = p.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        O.adam(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], vmax[lo:hi], weight_decay, decay_factor,
               beta1, beta2, step_size, bc2_sqrt, eps, amsgrad, maximize, decoupled)


@njit(**_opts)
def attn_softmax(x, m, mrow, scale, out):
    R, S = x.shape
    step = _rows_per_piece(R, S)
    for c in prange((R + step - 1) // step):
        lo = c * step
        hi = min(R, lo + step)
        N.attn_softmax(x[lo:hi], m, mrow[lo:hi], scale, out[lo:hi])


@njit(**_opts)
def attn_softmax_backward(g, y, scale, out):
    R, S = g.shape
    step = _rows_per_piece(R, S)
    for c in prange((R + step - 1) // step):
        lo = c * step
        hi = min(R, lo + step)
        N.attn_softmax_backward(g[lo:hi], y[lo:hi], scale, out[lo:hi])


def _v(n=4):
    return np.linspace(-2, 2, n, dtype=np.float32)


WARMUP = {
    "unary": lambda: (3, _v(), _v()),
    "binary": lambda: (2, _v(), _v(), _v()),
    "addcmul": lambda: (_v(), _v(), _v(), np.float32(0.5), _v()),
    "rowwise2": lambda: (0, _v().reshape(2, 2), _v().reshape(2, 2)),
    "rowwise3": lambda: (2, _v().reshape(2, 2), _v().reshape(2, 2), _v().reshape(2, 2)),
    **{k: N.WARMUP[k] for k in ("im2col", "col2im", "max_pool2d", "max_pool2d_2x2",
                                "max_pool2d_backward", "layer_norm", "cross_entropy",
                                "cross_entropy_backward", "attn_softmax",
                                "attn_softmax_backward")},
    **{k: O.WARMUP[k] for k in ("sgd", "adam")},
}
