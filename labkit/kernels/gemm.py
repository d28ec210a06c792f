"""float32 matrix products on labkit's thread pool (``threads.py``); NumPy's ``np.matmul`` for
everything else.

``matmul(a, b, out=None)`` is ``np.matmul`` for 2-D and stacked 3-D operands (a 2-D operand is
shared by every matrix of the other).  float32 products too big for OpenBLAS's single-threaded
path are cut into blocks by ``block_shape`` -- from the shape alone, so the numbers do not depend
on the thread count -- and the blocks run on labkit's pool, one single-threaded ``sgemm`` each
(``gemm_jit.py``).  Smaller ones go to ``np.matmul``, which OpenBLAS runs on the calling thread
anyway (it uses one thread up to m*n*k = 262,144), as do other dtypes and layouts, and everything
when NumPy's BLAS is not an OpenBLAS labkit can call or ``LABKIT_JIT=0``.
"""
import numpy as np

from . import USE_JIT, empty, jit_module, parallel_module, threads

OPENBLAS_SERIAL_MNK = 65536 * 4   # OpenBLAS's sgemm is single-threaded up to this m*n*k
BLOCK_FLOPS = 4_000_000           # a block's work: ~50 us on one core
MIN_BLOCK = 64                    # rows or columns of a block (thinner ones run slower)
_F32 = np.dtype(np.float32)
_jit = None


def _kernels():
    global _jit
    if _jit is None:
        jit_module()                             # Numba imported (and its threads prepared) first
        from . import gemm_jit
        _jit = gemm_jit if gemm_jit.AVAILABLE else False
    return _jit


def _half(x):
    return -(-x // 32) * 16                      # half, rounded up to a multiple of 16 rows


def block_shape(m, n, k):
    """(rows, columns) of the blocks a (m, k) @ (k, n) product is cut into: halve the larger side
    until a block is about ``BLOCK_FLOPS`` of work or both sides are ``MIN_BLOCK``."""
    bm, bn = m, n
    while 2 * bm * bn * k > BLOCK_FLOPS:
        if bm >= bn and bm >= 2 * MIN_BLOCK:
            bm = _half(bm)
        elif bn >= 2 * MIN_BLOCK:
            bn = _half(bn)
        elif bm >= 2 * MIN_BLOCK:
            bm = _half(bm)
        else:
            break
    return bm, bn


def _unit_stride(x):
    s0, s1 = x.strides[-2:]
    return (s1 == 4 and s0 % 4 == 0 and s0 >= 0) or (s0 == 4 and s1 % 4 == 0 and s1 >= 0)


def _numpy(a, b, out, bias, bias_axis):
    y = np.matmul(a, b, out=out)
    if bias is not None:
        y += bias if bias_axis == 1 else bias[:, None]
    return y


def matmul(a, b, out=None, bias=None, bias_axis=1):
    """``np.matmul(a, b, out=out)``, float32 products of 2-D / 3-D arrays on labkit's threads.

    ``bias`` (1-D) is added to every matrix of the result, one value per column
    (``bias_axis=1``: ``x @ W^T + b``) or per row (``bias_axis=0``: a convolution's
    ``W @ cols + b``); on the fast path each block writes it before its product adds to it."""
    if (a.size * b.shape[-1] * (b.shape[0] if b.ndim == 3 and a.ndim == 2 else 1)
            <= OPENBLAS_SERIAL_MNK or not USE_JIT or a.dtype != _F32 or b.dtype != _F32
            or not (2 <= a.ndim <= 3 and 2 <= b.ndim <= 3)):       # (the cheap test first)
        if bias is None:
            return np.matmul(a, b, out=out)
        return _numpy(a, b, out, bias, bias_axis)
    m, k = a.shape[-2:]
    n = b.shape[-1]
    ba = a.shape[0] if a.ndim == 3 else 1
    bb = b.shape[0] if b.ndim == 3 else 1
    batch = max(ba, bb)
    if (b.shape[-2] != k or (ba != bb and min(ba, bb) != 1)
            or batch * m * n * k <= OPENBLAS_SERIAL_MNK
            or not (_unit_stride(a) and _unit_stride(b))
            or (bias is not None and (bias.dtype != _F32 or bias.shape != ((n,) if bias_axis == 1
                                                                          else (m,))))):
        return _numpy(a, b, out, bias, bias_axis)
    jit = _kernels()
    if not jit:
        return _numpy(a, b, out, bias, bias_axis)
    shape = (batch, m, n) if max(a.ndim, b.ndim) == 3 else (m, n)
    if out is not None and (out.shape != shape or out.dtype != _F32
                            or not out.flags.c_contiguous):
        return _numpy(a, b, out, bias, bias_axis)
    if a.ndim == 3 and b.ndim == 2 and a.flags.c_contiguous and bias_axis == 1:
        y = matmul(a.reshape(-1, k), b, None if out is None else out.reshape(-1, n), bias)
        return y.reshape(shape) if out is None else out            # one tall product
    c = empty(shape, _F32) if out is None else out
    bm, bn = block_shape(m, n, k)
    par = threads.parallel() and parallel_module() is not None
    threads.blas_serial_begin()
    try:
        jit.matmul(a if a.ndim == 3 else a[None], b if b.ndim == 3 else b[None],
                   c if c.ndim == 3 else c[None], bm, bn, par,
                   _NO_BIAS if bias is None else np.ascontiguousarray(bias), bias_axis)
    finally:
        threads.blas_serial_end()
    return c


_NO_BIAS = np.zeros(0, _F32)
