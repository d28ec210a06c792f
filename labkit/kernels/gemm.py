"""float32 matrix products on labkit's thread pool (``threads.py``); NumPy's ``np.matmul`` for
everything else.

``matmul(a, b, out=None)`` is ``np.matmul`` for 2-D and stacked 3-D operands (a 2-D operand is
shared by every matrix of the other).  float32 products too big for OpenBLAS's single-threaded
path are cut into blocks (``block_shape``) that run on labkit's pool, one single-threaded
``sgemm`` each (``gemm_jit.py``), chosen so that a serial run gives the same numbers.  Smaller ones go to ``np.matmul``, which OpenBLAS runs on the calling thread
anyway (it uses one thread up to m*n*k = 262,144), as do other dtypes and layouts, and everything
when NumPy's BLAS is not an OpenBLAS labkit can call or ``LABKIT_JIT=0``.
"""
import numpy as np

from . import USE_JIT, empty, jit_module, parallel_module, threads

OPENBLAS_SERIAL_MNK = 65536 * 4   # OpenBLAS's sgemm is single-threaded up to this m*n*k
SMALL_KERNEL_MNK = 1_000_000      # ... and takes its small-matrix kernels up to this (SkylakeX)
ROW_ALIGN = 64                    # a narrow product's row blocks (below)
ROW_CUT = 16                      # rows cut over threads: a multiple of this
COL_ALIGN = 32                    # a column block's columns, where columns are cut
SMALL_LEFT = 65536                # ... which is only where the left operand is this small
MAX_COL_BLOCKS = 4
K_ALIGN = 256                     # an inner block's length, where the inner dimension is cut
NARROW = 16                       # products this narrow (n or k) go in blocks of ROW_ALIGN rows
NARROW_MIN_BLOCK = 32768          # ... if such a block has this much work (m*n*k; smaller ones:
                                  # the calls cost more, 36864 x 25 @ 25 x 6: 407 us vs 335)
MAX_K_BLOCKS = 4
SWAP_ROWS = 64                    # x @ W^T with at most this many rows of x ...
SWAP_INNER = 256                  # ... and an inner dimension this long: as (W @ x^T)^T
_F32 = np.dtype(np.float32)
_jit = None


def _kernels():
    global _jit
    if _jit is None:
        jit_module()                             # Numba imported (and its threads prepared) first
        parallel_module()      # Numba's threads started: gemm_jit.matmul holds a parallel
        from . import gemm_jit  # function, which crashes if loaded from the cache before that
        _jit = gemm_jit if gemm_jit.AVAILABLE else False
    return _jit


def row_blocks_possible(m, n, k):
    """Whether a (m, k) @ (k, n) product can be cut into row blocks that give the whole
    product's numbers: at least two blocks of a multiple of ``ROW_CUT`` rows, each (the last
    too) above OpenBLAS's small-matrix kernels."""
    least = SMALL_KERNEL_MNK // max(n * k, 1) + 1
    return m - -(-least // ROW_CUT) * ROW_CUT >= least


def block_shape(m, n, k, nthreads=None, batch=1):
    """(rows, columns, inner) of the blocks of ``batch`` (m, k) @ (k, n) products on
    ``nthreads`` threads (default: labkit's count).

    **Rows** (128 or more) are cut where they can be (``row_blocks_possible``) and the batch
    does not already give every thread a matrix, into one block per thread (rows a multiple of
    ``ROW_CUT``, each block, the last too, above ``SMALL_KERNEL_MNK``): OpenBLAS computes such a
    row block with the same code and order of operations as the whole product, so the numbers do
    not depend on the count (measured on 174 shapes and layouts with 64-row multiples, and 104
    cuts of 10 shapes x 4 layouts at 16, 32, 48 and 96 rows; ``tests/test_threads.py`` keeps
    checking it) and a serial run does each matrix in one call. Multiples of 16, not 64, keep
    the threads' shares even (attention's packed-weight gradient, 192 x 2048 @ 2048 x 64, on 2
    threads: 128 + 64 rows 371 us, 96 + 96 rows 284). One block per thread, not more: every
    block packs the right operand again (MLP B=512's 512 x 784 x 256 took 1.07 ms in 2 blocks,
    1.19 in 4, 1.36 in 8, OpenBLAS's own 2 threads 1.11 ms).

    Other cuts change the numbers, so they depend on the shape alone (the serial run makes the
    same calls):

    * **narrow** products (``n`` or ``k`` at most ``NARROW``: a classifier's 10 outputs) go in
      blocks of ``ROW_ALIGN`` rows, which OpenBLAS's small-matrix kernels take about twice as
      fast as its general kernel takes the whole, on one thread too (512 x 256 @ 256 x 10: 29 us
      vs 54; 1024 x 784 @ 784 x 10: 151 vs 349; 1024 x 10 @ 10 x 784: 176 vs 214);

    and where rows cannot be cut:

    * **columns**, where the left operand is small (``SMALL_LEFT`` elements; all that is packed
      again per block): into up to ``MAX_COL_BLOCKS`` blocks when that brings each under
      ``SMALL_KERNEL_MNK`` (OpenBLAS's small-matrix kernels: an LSTM step's 32 x 128 @ 128 x 512
      took 37 us in four calls, 51 us in one, on one thread); larger products get **one column
      block per thread**, each above ``SMALL_KERNEL_MNK``, which gives the whole product's bits
      as row blocks do (``col_blocks``): MLP B=64's 64 x 784 @ 784 x 256 is one call on one
      thread (two calls cost 3-5% there), two on two;
    * **the inner dimension**, where the left operand is large (a weight gradient
      ``g^T @ x`` summed over a batch of 2048 rows: 64 x 2048 @ 2048 x 64 took 204 us in one
      call, 64 us for half of it): into up to ``MAX_K_BLOCKS`` parts of at least ``K_ALIGN``,
      each still ``SMALL_KERNEL_MNK``; the parts are added up in order afterwards."""
    t = nthreads or threads.get_num_threads()
    if min(n, k) <= NARROW and m >= 2 * ROW_ALIGN and ROW_ALIGN * n * k >= NARROW_MIN_BLOCK:
        return ROW_ALIGN, n, k
    if m >= 2 * ROW_ALIGN and row_blocks_possible(m, n, k):     # (fewer rows: columns)
        least = SMALL_KERNEL_MNK // max(n * k, 1) + 1
        for nb in range(min(t, m // ROW_CUT) if batch < t else 1, 1, -1):
            rows = -(-(-(-m // nb)) // ROW_CUT) * ROW_CUT
            if rows >= least and rows < m and m - (-(-m // rows) - 1) * rows >= least:
                return rows, n, k
        return m, n, k
    if m * k > SMALL_LEFT:
        nk = 1
        while (nk < MAX_K_BLOCKS and k >= 2 * nk * K_ALIGN
               and m * n * k >= 2 * nk * SMALL_KERNEL_MNK):
            nk *= 2
        return m, n, -(-k // nk)
    if n < 2 * COL_ALIGN:
        return m, n, k
    if m * n * k > MAX_COL_BLOCKS * SMALL_KERNEL_MNK:
        return m, col_blocks(m, n, k, t), k
    nb = 2
    while nb < MAX_COL_BLOCKS and m * n * k > nb * SMALL_KERNEL_MNK:
        nb *= 2
    cols = -(-(-(-n // nb)) // COL_ALIGN) * COL_ALIGN
    return m, (cols if cols < n else n), k


def col_blocks(m, n, k, t):
    """Columns per block for ``t`` threads, one block per thread at most, every block (the last
    too) above OpenBLAS's small-matrix kernels: such blocks give the whole product's bits (each
    column is summed in the same order; measured on 83 cuts of 9 shapes x 4 layouts -- the
    only differences were blocks that fell into the small kernels), so their count may follow
    the threads."""
    for nb in range(min(t, n // COL_ALIGN), 1, -1):
        cols = -(-(-(-n // nb)) // COL_ALIGN) * COL_ALIGN
        if m * k * min(cols, n - (-(-n // cols) - 1) * cols) > SMALL_KERNEL_MNK:
            return cols
    return n


def _unit_stride(x):
    s0, s1 = x.strides[-2:]
    return (s1 == 4 and s0 % 4 == 0 and s0 >= 0) or (s0 == 4 and s1 % 4 == 0 and s1 >= 0)


def _numpy(a, b, out, bias, bias_axis):
    y = np.matmul(a, b, out=out)
    if bias is not None:
        y += bias if bias_axis == 1 else bias[:, None]
    return y


def _batch_strides(x, bshape):
    """Byte strides of x's matrices over ``bshape`` (at most two batch dimensions, the first
    padded with 0), or None when x's batch cannot be walked that way."""
    if x.ndim == 2:
        return _ZERO2
    if x.shape[:-2] != bshape:
        return None
    if x.ndim == 3:
        return np.array((0, x.strides[0]), np.int64)
    return np.array(x.strides[:2], np.int64)


def matmul(a, b, out=None, bias=None, bias_axis=1):
    """``np.matmul(a, b, out=out)``, float32 products on labkit's threads: 2-D matrices, and
    stacks with one or two batch dimensions (a 2-D operand shared by every matrix of the other;
    otherwise both with the same batch shape, any strides -- attention's transposed
    (batch, heads, ...) views are not copied).

    ``bias`` (1-D) is added to every matrix of the result, one value per column
    (``bias_axis=1``: ``x @ W^T + b``) or per row (``bias_axis=0``: a convolution's
    ``W @ cols + b``); on the fast path each block writes it before its product adds to it."""
    if (a.size * b.shape[-1] * (b.size // max(b.shape[-2] * b.shape[-1], 1) if a.ndim == 2
                                 and b.ndim > 2 else 1) <= OPENBLAS_SERIAL_MNK or not USE_JIT or a.dtype != _F32 or b.dtype != _F32
            or not (2 <= a.ndim <= 4 and 2 <= b.ndim <= 4)):       # (the cheap test first)
        if bias is None:
            return np.matmul(a, b, out=out)
        return _numpy(a, b, out, bias, bias_axis)
    m, k = a.shape[-2:]
    n = b.shape[-1]
    bshape = a.shape[:-2] if a.ndim >= b.ndim else b.shape[:-2]
    batch = 1
    for d in bshape:
        batch *= d
    sa, sb = _batch_strides(a, bshape), _batch_strides(b, bshape)
    if (b.shape[-2] != k or sa is None or sb is None
            or batch * m * n * k <= OPENBLAS_SERIAL_MNK
            or not (_unit_stride(a) and _unit_stride(b))
            or (bias is not None and (bias.dtype != _F32 or bias.shape != ((n,) if bias_axis == 1
                                                                          else (m,))))):
        return _numpy(a, b, out, bias, bias_axis)
    jit = _kernels()
    if not jit:
        return _numpy(a, b, out, bias, bias_axis)
    shape = bshape + (m, n)
    if out is not None and (out.shape != shape or out.dtype != _F32
                            or not out.flags.c_contiguous):
        return _numpy(a, b, out, bias, bias_axis)
    if (a.ndim == 2 and b.ndim == 2 and m <= SWAP_ROWS and k >= SWAP_INNER and n >= 2 * m
            and a.flags.c_contiguous and b.flags.f_contiguous):
        return _swapped(a, b, out, bias, bias_axis)
    if b.ndim == 2 and a.ndim > 2 and a.flags.c_contiguous and bias_axis == 1:
        y = matmul(a.reshape(-1, k), b, None if out is None else out.reshape(-1, n), bias)
        return y.reshape(shape) if out is None else out            # one tall product
    c = empty(shape, _F32) if out is None else out
    t = threads.get_num_threads()
    key = (m, n, k, batch, t)
    blocks = _blocks.get(key)
    if blocks is None:                       # (block_shape: ~1.5 us; a training loop repeats
        if len(_blocks) > 4096:              # a handful of shapes)
            _blocks.clear()
        blocks = _blocks[key] = block_shape(m, n, k, t, batch)
    bm, bn, bk = blocks
    a0 = a[(0,) * (a.ndim - 2)] if a.ndim > 2 else a              # the first matrices
    b0 = b[(0,) * (b.ndim - 2)] if b.ndim > 2 else b
    nb2 = bshape[-1] if bshape else 1
    bias = _NO_BIAS if bias is None else np.ascontiguousarray(bias)
    par = threads.parallel() and parallel_module() is not None
    # OpenBLAS at one thread in the serial run too: left at its own count it splits a large
    # call over its pool, and the numbers then differ from the blocks' (found by a GPT training
    # run at LABKIT_NUM_THREADS=1 vs 2)
    threads.blas_serial_begin()
    try:
        jit.matmul(a0, b0, c.reshape(batch, m, n), nb2, sa, sb, bm, bn, bk, par, bias,
                   bias_axis)
    finally:
        threads.blas_serial_end()
    return c


_blocks = {}                                 # (m, n, k, batch, threads) -> block_shape


def _swapped(a, b, out, bias, bias_axis):
    """``a @ b`` for a few rows ``a`` (C order) times a transposed matrix ``b`` (a layer's
    ``x @ W^T``) as ``(b^T @ a^T)^T``: OpenBLAS then packs the small ``a`` instead of the large
    ``W`` in its slow transposed copy.  One thread, ``x @ W^T`` -> (swapped + transposing copy):
    64 x 784 x 256 339 -> 291 us, 64 x 256 x 256 113 -> 102, 32 x 784 x 256 220 -> 154,
    16 x 512 x 512 207 -> 114; not worth it from 128 rows (582 -> 565) or for a short inner
    dimension (64 x 64 x 256: 29 -> 35).  torch's MKL: 266 us for the first."""
    m, n = a.shape[0], b.shape[1]
    t = matmul(b.T, a.T, None, bias, 1 - bias_axis)            # (n, m), rows cut over threads
    c = empty((m, n), _F32) if out is None else out
    np.copyto(c, t.T)
    return c

_NO_BIAS = np.zeros(0, _F32)
_ZERO2 = np.zeros(2, np.int64)
_ones = np.ones(1024, _F32)


def sum_rows(x):
    """``x.sum(axis=0)`` of a 2-D array (a bias gradient: the output gradient summed over the
    batch).  float32 as ``ones @ x``, OpenBLAS's ``sgemv`` on one thread: (2048, 64) in 8 us,
    (2048, 256) in 38, where ``np.sum(axis=0)`` took 40 and 77."""
    global _ones
    r = x.shape[0]
    if x.dtype != _F32 or x.ndim != 2 or r < 64:
        return x.sum(axis=0)
    if _ones.size < r:
        _ones = np.ones(max(r, 2 * _ones.size), _F32)
    threads.blas_serial_begin()
    try:
        return np.matmul(_ones[:r], x)
    finally:
        threads.blas_serial_end()
