"""float32 matrix products in blocks on labkit's thread pool (Numba), each block one
single-threaded call of NumPy's OpenBLAS ``sgemm``.

``matmul(a, b, c, bm, bn, parallel, bias, baxis)`` computes ``c[i] = a[i] @ b[i] (+ bias)`` for
3-D arrays whose matrices have unit stride along one of their two axes (a transposed weight is
fine: it becomes ``sgemm``'s transpose flag, nothing is copied).  The caller (``kernels/gemm.py``)
chooses the blocks so that the numbers do not depend on how many threads share them out.  OpenBLAS is reached through the addresses ``threads.blas_symbols()`` finds, registered
with LLVM under fixed names before any kernel here is compiled or loaded from the cache.
"""
import llvmlite.binding as llvm
import numpy as np
from numba import njit, prange, types

from .threads import blas_symbols

SYMBOLS = blas_symbols()
AVAILABLE = SYMBOLS is not None
if AVAILABLE:
    for _name, _addr in SYMBOLS.items():
        llvm.add_symbol(_name, _addr)

_i32, _i64, _f32, _ptr = types.int32, types.int64, types.float32, types.intp
# cblas_sgemm(order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), 64-bit ints;
# run with OpenBLAS set to one thread (threads.blas_serial_begin), so each block stays on the pool
# thread that calls it
_sgemm = types.ExternalFunction("labkit_cblas_sgemm", types.void(
    _i32, _i32, _i32, _i64, _i64, _i64, _f32, _ptr, _i64, _ptr, _i64, _f32, _ptr, _i64))

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
_opts = dict(cache=True, nogil=True)


@njit(**_opts)
def _one_block(t, gm, gn, ta, tb, m, n, k, a, lda, sa, b, ldb, sb, c, bm, bn, bias, baxis):
    """Block ``t`` of ``batch x gm x gn``: rows ``r0 ..``, columns ``c0 ..`` of matrix ``i``.
    ``bias`` (1-D, empty for none) is added along ``baxis``: 1 = one value per column
    (``x @ W^T + b``), 0 = one per row (a convolution's ``W @ cols + b``); it is written first
    and sgemm adds to it."""
    i = t // (gm * gn)
    r = t - i * gm * gn
    r0 = (r // gn) * bm
    c0 = (r - (r // gn) * gn) * bn
    rows = min(bm, m - r0)
    cols = min(bn, n - c0)
    beta = np.float32(0.0)
    base = i * m * n + r0 * n + c0
    if bias.size:
        beta = np.float32(1.0)
        for ii in range(rows):
            row = c[base + ii * n:base + ii * n + cols]
            if baxis == 1:
                row[:] = bias[c0:c0 + cols]
            else:
                row[:] = bias[r0 + ii]
    pa = a + i * sa + (r0 * lda if ta == NO_TRANS else r0) * 4
    pb = b + i * sb + (c0 if tb == NO_TRANS else c0 * ldb) * 4
    _sgemm(ROW_MAJOR, ta, tb, rows, cols, k, np.float32(1.0), pa, lda, pb, ldb, beta,
           c.ctypes.data + base * 4, n)


@njit(parallel=True, **_opts)
def _blocks_parallel(nblk, gm, gn, ta, tb, m, n, k, a, lda, sa, b, ldb, sb, c, bm, bn, bias,
                     baxis):
    for t in prange(nblk):
        _one_block(t, gm, gn, ta, tb, m, n, k, a, lda, sa, b, ldb, sb, c, bm, bn, bias, baxis)


@njit(**_opts)
def _blocks_serial(nblk, gm, gn, ta, tb, m, n, k, a, lda, sa, b, ldb, sb, c, bm, bn, bias,
                   baxis):
    for t in range(nblk):
        _one_block(t, gm, gn, ta, tb, m, n, k, a, lda, sa, b, ldb, sb, c, bm, bn, bias, baxis)


@njit(**_opts)
def _layout(x, rows, cols):
    """(transpose flag, leading dimension) of a (rows, cols) float32 matrix with x's strides."""
    s0 = x.strides[1] // 4
    s1 = x.strides[2] // 4
    if s1 == 1 and (rows == 1 or s0 >= max(cols, 1)):
        return NO_TRANS, max(s0, cols, 1)
    return TRANS, max(s1, rows, 1)         # s0 == 1 (checked by the caller)


@njit(**_opts)
def matmul(a, b, c, bm, bn, parallel, bias, baxis):
    """``c[i] = a[i] @ b[i] (+ bias)`` (a: (B|1, m, k), b: (B|1, k, n), c: (B, m, n)
    C-contiguous; bias: 1-D float32, empty for none), in blocks of ``bm`` rows and ``bn``
    columns.  Serially the row blocks of a matrix are one call (the same numbers: see gemm.py);
    column blocks are kept, since they change the numbers."""
    batch, m, n = c.shape
    k = a.shape[2]
    ta, lda = _layout(a, m, k)
    tb, ldb = _layout(b, k, n)
    sa = a.strides[0] if a.shape[0] > 1 else 0
    sb = b.strides[0] if b.shape[0] > 1 else 0
    if not parallel:
        bm = m
    gm = (m + bm - 1) // bm
    gn = (n + bn - 1) // bn
    nblk = batch * gm * gn
    args = (gm, gn, ta, tb, m, n, k, a.ctypes.data, lda, sa, b.ctypes.data, ldb, sb,
            c.reshape(-1), bm, bn, bias, baxis)
    if parallel and nblk > 1:
        _blocks_parallel(nblk, *args)
    else:
        _blocks_serial(nblk, *args)


def _layouts():
    # (a, b) as the callers pass them: C-contiguous stacks, a transposed 2-D matrix (layout F),
    # a stack of transposed matrices (layout A); the output is always C-contiguous.
    c = np.zeros((2, 3, 3), np.float32)
    f = np.zeros((3, 3), np.float32).T[None]
    a = np.zeros((2, 3, 3), np.float32).transpose(0, 2, 1)
    pairs = [(c, c), (c, f), (f, c), (f, f), (c, a), (a, c), (a, a)]
    none, bias = np.zeros(0, np.float32), np.zeros(3, np.float32)
    return ([(x, y, np.zeros((2, 3, 3), np.float32), 2, 2, False, none, 1) for x, y in pairs]
            + [(x, y, np.zeros((2, 3, 3), np.float32), 2, 2, False, bias, ax)
               for x, y in ((c, f), (f, c), (c, c)) for ax in (0, 1)])


WARMUP = {"matmul": _layouts}
