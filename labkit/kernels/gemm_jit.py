"""float32 matrix products in blocks on labkit's thread pool (Numba), each block one
single-threaded call of NumPy's OpenBLAS ``sgemm``.

``matmul(a, b, c, ...)`` computes ``c[i] = A[i] @ B[i] (+ bias)`` for
stacks whose matrices have unit stride along one of their two axes (a transposed weight is
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
def _one_block(t, gm, gn, gk, ta, tb, m, n, k, a, lda, sa, b, ldb, sb, nb2, c, part, bm, bn,
               bk, bias, baxis):
    """Block ``t`` of ``batch x gm x gn x gk``: rows ``r0 ..``, columns ``c0 ..`` of matrix
    ``i``, the part ``kk`` of the inner dimension.  Matrix ``i`` of ``a`` starts
    ``(i // nb2) * sa[0] + (i % nb2) * sa[1]`` bytes after the first (two batch dimensions, e.g.
    attention's (batch, heads) of a transposed view), ``b``'s likewise.  Part 0 goes into ``c``, part ``kk > 0`` into
    ``part[kk - 1]`` (added up afterwards, in order).  ``bias`` (1-D, empty for none) is added
    along ``baxis``: 1 = one value per column (``x @ W^T + b``), 0 = one per row (a
    convolution's ``W @ cols + b``); part 0 writes it first and sgemm adds to it."""
    i = t // (gm * gn * gk)
    r = t - i * gm * gn * gk
    kk = r % gk
    r = r // gk
    r0 = (r // gn) * bm
    c0 = (r - (r // gn) * gn) * bn
    k0 = kk * bk
    rows = min(bm, m - r0)
    cols = min(bn, n - c0)
    inner = min(bk, k - k0)
    beta = np.float32(0.0)
    base = i * m * n + r0 * n + c0
    out = c if kk == 0 else part[kk - 1]
    if bias.size and kk == 0:
        beta = np.float32(1.0)
        for ii in range(rows):
            row = out[base + ii * n:base + ii * n + cols]
            if baxis == 1:
                row[:] = bias[c0:c0 + cols]
            else:
                row[:] = bias[r0 + ii]
    i0 = i // nb2
    i1 = i - i0 * nb2
    pa = a + i0 * sa[0] + i1 * sa[1] + (r0 * lda + k0 if ta == NO_TRANS else r0 + k0 * lda) * 4
    pb = b + i0 * sb[0] + i1 * sb[1] + (k0 * ldb + c0 if tb == NO_TRANS else k0 + c0 * ldb) * 4
    _sgemm(ROW_MAJOR, ta, tb, rows, cols, inner, np.float32(1.0), pa, lda, pb, ldb, beta,
           out.ctypes.data + base * 4, n)


@njit(parallel=True, **_opts)
def _blocks_parallel(nblk, gm, gn, gk, ta, tb, m, n, k, a, lda, sa, b, ldb, sb, nb2, c, part,
                     bm, bn, bk, bias, baxis):
    for t in prange(nblk):
        _one_block(t, gm, gn, gk, ta, tb, m, n, k, a, lda, sa, b, ldb, sb, nb2, c, part, bm, bn,
                   bk, bias, baxis)


@njit(**_opts)
def _blocks_serial(nblk, gm, gn, gk, ta, tb, m, n, k, a, lda, sa, b, ldb, sb, nb2, c, part, bm,
                   bn, bk, bias, baxis):
    for t in range(nblk):
        _one_block(t, gm, gn, gk, ta, tb, m, n, k, a, lda, sa, b, ldb, sb, nb2, c, part, bm, bn,
                   bk, bias, baxis)


@njit(**_opts)
def _layout(x, rows, cols):
    """(transpose flag, leading dimension) of a (rows, cols) float32 matrix with x's strides."""
    s0 = x.strides[0] // 4
    s1 = x.strides[1] // 4
    if s1 == 1 and (rows == 1 or s0 >= max(cols, 1)):
        return NO_TRANS, max(s0, cols, 1)
    return TRANS, max(s1, rows, 1)         # s0 == 1 (checked by the caller)


@njit(**_opts)
def matmul(a, b, c, nb2, sa, sb, bm, bn, bk, parallel, bias, baxis):
    """``c[i] = A[i] @ B[i] (+ bias)`` for the ``c.shape[0]`` matrices of ``c`` (C-contiguous),
    ``a`` / ``b`` being the first matrix of A / B (2-D views; the others ``sa`` / ``sb`` bytes
    apart over two batch dimensions, the second of ``nb2``: see ``_one_block``; (0, 0) for a
    matrix shared by all), ``bias`` 1-D float32, empty for none; in blocks of ``bm`` rows,
    ``bn`` columns and ``bk`` of the inner dimension, as ``gemm.block_shape`` chose them (one row
    block on one thread, where row blocks give the whole product's numbers); the inner parts
    are added up in order (part 0 + part 1 + ...)."""
    batch, m, n = c.shape
    k = a.shape[1]
    ta, lda = _layout(a, m, k)
    tb, ldb = _layout(b, k, n)
    gm = (m + bm - 1) // bm
    gn = (n + bn - 1) // bn
    gk = (k + bk - 1) // bk if k > 0 else 1
    flat = c.reshape(-1)
    part = np.empty((gk - 1, flat.size), np.float32)
    nblk = batch * gm * gn * gk
    args = (gm, gn, gk, ta, tb, m, n, k, a.ctypes.data, lda, sa, b.ctypes.data, ldb, sb, nb2,
            flat, part, bm, bn, bk, bias, baxis)
    if parallel and nblk > 1:
        _blocks_parallel(nblk, *args)
    else:
        _blocks_serial(nblk, *args)
    for j in range(gk - 1):
        flat += part[j]


def _layouts():
    # (a, b) as the callers pass them: the first matrix of each, C-contiguous, transposed
    # (layout F) or a transposed view of a stack (layout A); the output is always C-contiguous.
    c = np.zeros((3, 3), np.float32)
    f = c.T
    a = np.zeros((2, 3, 3), np.float32).transpose(0, 2, 1)[0]
    pairs = [(c, c), (c, f), (f, c), (f, f), (c, a), (a, c), (a, a)]
    none, bias = np.zeros(0, np.float32), np.zeros(3, np.float32)
    z = np.zeros(2, np.int64)
    return ([(x, y, np.zeros((1, 3, 3), np.float32), 1, z, z, 2, 2, 2, False, none, 1)
             for x, y in pairs]
            + [(x, y, np.zeros((1, 3, 3), np.float32), 1, z, z, 2, 2, 2, False, bias, ax)
               for x, y in ((c, f), (f, c), (c, c)) for ax in (0, 1)])


WARMUP = {"matmul": _layouts}
