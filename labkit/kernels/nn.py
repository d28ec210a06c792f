"""The nn kernels (im2col / col2im, pooling, layer norm, cross-entropy, an LSTM layer's time
loop) for the Functions of ``labkit.nn.functional``: Numba (``nn_jit.py``, ``rnn_jit.py``) for
float32 contiguous arrays, the NumPy reference (``nn_reference.py``) otherwise or when
``LABKIT_JIT=0`` (``kernels.backend``)."""
import numpy as np

from . import SCRATCH_MIN_BYTES, backend, gemm, parallel_module, threads
from . import empty as _empty


def empty(shape, dtype):
    """Scratch kept for backward (im2col columns, LSTM states): pooled from 256 KiB, see
    ``kernels.empty``."""
    return _empty(shape, dtype, SCRATCH_MIN_BYTES)


def _mod(*arrs, work=0):
    """The nn kernel module to use for these arrays (``work``: elements, for ``par_jit``)."""
    return backend("nn", *arrs, work=work)


def _mod_select(*arrs, work):
    """``_mod`` for kernels that only copy or select values (im2col, max pooling forward): their
    results cannot depend on how the work is cut, so on one thread the serial kernel runs
    without the parallel driver (which cost ~10% there: LeNet's im2col 564 -> 622 us)."""
    return _mod(*arrs, work=work if threads.parallel() else 0)


def im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, pooled=False):
    N, C = x.shape[:2]
    shape = (N, C * KH * KW, OH * OW)
    cols = empty(shape, x.dtype) if pooled else np.empty(shape, x.dtype)
    _mod_select(x, work=x.size * KH * KW).im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, cols)
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
        _mod_select(x, work=x.size).max_pool2d_2x2(x, out, idx)
    else:
        _mod_select(x, work=x.size * KH * KW).max_pool2d(x, KH, KW, sh, sw, ph, pw, dh, dw, OH,
                                                         OW, out, idx)
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


def attn_softmax(x, m, mrow, scale, out=None):
    """``softmax(x * scale + mask)`` over the rows of ``x`` (R, S), the mask's row ``mrow[r]`` of
    ``m`` (Rm, S) for row ``r`` (``m`` with no rows: none); into ``out`` (may be ``x``)."""
    out = np.empty_like(x) if out is None else out
    _mod(x, m, out, work=x.size).attn_softmax(x, m, mrow, x.dtype.type(scale), out)
    return out


def attn_softmax_backward(g, y, scale):
    out = np.empty_like(y)
    g = np.ascontiguousarray(g, y.dtype)
    _mod(g, y, work=y.size).attn_softmax_backward(g, y, y.dtype.type(scale), out)
    return out


# ------------------------------------------------------------------ an LSTM layer's time loop
LSTM_ROWS = 8                 # batch rows per chain (4 where that lets a block take more units)
LSTM_PAR_MIN = 1 << 21        # steps * rows * 4H * H below this: the loop stays on one thread
LSTM_SHARED_UNITS = 256       # a lone chain is shared by threads from this many hidden units


def lstm_blocks(N, H):
    """(rows per chain, hidden units per block) of the fused time loop (``rnn_jit``), by the
    shape alone, so the numbers do not depend on the thread count.

    Batch rows never wait for each other, so the rows are cut into **chains** of about
    ``LSTM_ROWS`` that run their steps independently (threads take whole chains; no step waits
    for another thread).  Within a chain, a step's product is made in **blocks of hidden units**,
    each block's calls ``rows x 4 units x H`` (forward) and ``rows x units x 4H`` (backward)
    kept inside OpenBLAS's small-matrix kernels (``gemm.SMALL_KERNEL_MNK``), in as few blocks
    as that allows (a power of two).  Measured, one thread, L=32, fwd + bwd loops:

    * H=128, N=32: chains of 8 rows, one block: 3.07 ms; 16 rows in 2 blocks 3.30; 32 rows in
      4 blocks (the previous rule) 3.85; 16 rows in one block (just above the small kernels) 4.35;
    * H=256, N=64: 4 rows, 2 blocks 26.0 ms; 8 rows, 4 blocks 27.2; 8 rows in 2 blocks 48.8;
      the whole batch in 2 blocks 31.6;
    * H=512, N=32: 4 rows, 8 blocks 49.8 ms; 8 rows, 16 blocks 54.2; the batch in 4 blocks 63.

    A batch of one chain (N < 16) is cut into at least two blocks from ``LSTM_SHARED_UNITS``
    on, so that threads can share its steps (waiting for each other at every step): worth it
    where each thread then reads half of a large W_hh (N=1, H=256, L=100: 5.5 ms on one thread,
    3.1 on two), not below (N=8, H=128, L=32: 0.85 ms on one thread, 1.35 on two)."""
    budget = gemm.SMALL_KERNEL_MNK // (4 * H)        # rows x units per call
    rb = min(N, LSTM_ROWS)
    if budget // rb < H and rb > LSTM_ROWS // 2:
        rb = LSTM_ROWS // 2
    rb = -(-N // -(-N // rb))                          # even chains
    nb = 1
    while -(-H // nb) * rb > budget and -(-H // nb) > 8:
        nb *= 2
    if rb == N and nb == 1 and H >= LSTM_SHARED_UNITS:
        nb = 2
    return rb, -(-H // nb)


def _rnn_jit(*arrs):
    if not all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrs):
        return None
    jit = gemm._kernels() if gemm.USE_JIT else None
    if not jit:
        return None
    from . import rnn_jit
    return rnn_jit


def _claims(L, N, H, rb, hb):
    """Whether the time loop runs on the pool: more than one thread, something to share (two
    chains, or two blocks), work enough (``LSTM_PAR_MIN``), a layer safe from any thread, and
    atomic counters (a C library with ``sched_yield``)."""
    from . import atomics
    return (threads.parallel() and (rb < N or hb < H) and L * N * 4 * H * H >= LSTM_PAR_MIN
            and parallel_module() is not None and atomics.AVAILABLE)


def _gate_order(H, hb):
    """Column order putting each block's i, f, g, o gate columns side by side (see rnn_jit)."""
    cols = []
    for j0 in range(0, H, hb):
        u = min(hb, H - j0)
        for q in range(4):
            cols.extend(range(q * H + j0, q * H + j0 + u))
    return np.array(cols)


def lstm_forward(xw, bias, w_hh, hs, cs, acts, reverse, batch_first=False):
    """An LSTM layer's forward time loop: ``xw`` (L, N, 4H) the input part of every step's gates,
    ``bias`` (4H) or None, ``hs``/``cs`` (L + 1, N, H) with ``[0]`` set: ``[s + 1]`` written, and
    ``acts`` (L, N, 4H) the gate activations of step ``s`` (kept for backward).  Returns the
    layer's output (L, N, H), by time, or (N, L, H) with ``batch_first`` (a new array: ``hs`` is
    kept for backward)."""
    L, N, G = xw.shape
    H = G // 4
    k = _rnn_jit(xw, w_hh, hs, cs, acts, *(() if bias is None else (bias,)))
    if k is not None:
        rb, hb = lstm_blocks(N, H)
        if H % hb == 0:                   # (H, 4H), the blocks' gates side by side: one copy
            wp = np.ascontiguousarray(w_hh.reshape(4, H // hb, hb, H).transpose(3, 1, 0, 2))
            wp = wp.reshape(H, G)
        else:
            wp = np.ascontiguousarray(w_hh[_gate_order(H, hb)].T)
        hg = np.empty((N, G), xw.dtype)
        b = np.zeros(G, xw.dtype) if bias is None else bias
        out = np.empty((N, L, H) if batch_first else (L, N, H), xw.dtype)
        threads.blas_serial_begin()
        try:
            if _claims(L, N, H, rb, hb):
                sync = np.zeros(1 + -(-N // rb) * 2 * L, np.int64)
                k.forward_parallel(xw, b, wp, hs, cs, acts, hg, hb, rb, reverse, batch_first, out,
                                   sync, threads.get_num_threads())
            else:
                k.forward_serial(xw, b, wp, hs, cs, acts, hg, hb, rb, reverse, batch_first, out)
        finally:
            threads.blas_serial_end()
        return out
    xb = xw if bias is None else xw + bias
    cell = _mod(xb, w_hh).lstm_cell
    hg = np.empty((N, G), xw.dtype)
    wt = np.ascontiguousarray(w_hh.T)           # (H, 4H): h @ wt is NN, 1.5x faster
    for s in range(L):
        t = L - 1 - s if reverse else s         # steps run backwards in time if reverse
        gemm.matmul(hs[s], wt, out=hg)
        cell(xb[t], hg, cs[s], acts[s], cs[s + 1], hs[s + 1])
    out = hs[:0:-1] if reverse else hs[1:]
    return np.ascontiguousarray(out.transpose(1, 0, 2) if batch_first else out)


def lstm_backward(acts, cs, w_hh, g_out, dh, dc, dgates, reverse, batch_first=False):
    """The backward time loop: ``g_out`` the output's gradient, laid out as the output
    (``batch_first``: (N, L, H)); ``dh``/``dc`` (N, H) the gradients reaching h_n / c_n,
    overwritten with those reaching h0 / c0; ``dgates`` (L, N, 4H) the gradients of each step's
    gate pre-activations (by step, like ``acts``)."""
    L, N = acts.shape[:2]
    k = _rnn_jit(acts, cs, w_hh, g_out, dgates, dh, dc)
    if k is not None:
        rb, hb = lstm_blocks(N, dh.shape[1])
        threads.blas_serial_begin()
        try:
            if _claims(L, N, dh.shape[1], rb, hb):
                sync = np.zeros(1 + -(-N // rb) * (2 * L + 1), np.int64)
                k.backward_parallel(acts, cs, w_hh, g_out, batch_first, dgates, dh, dc, hb, rb,
                                    reverse, sync, threads.get_num_threads())
            else:
                k.backward_serial(acts, cs, w_hh, g_out, batch_first, dgates, dh, dc, hb, rb,
                                  reverse)
        finally:
            threads.blas_serial_end()
        return
    cell_backward = _mod(acts, w_hh).lstm_cell_backward
    for s in range(L - 1, -1, -1):
        t = L - 1 - s if reverse else s
        cell_backward(acts[s], cs[s], cs[s + 1], dh, g_out[:, t] if batch_first else g_out[t], dc,
                      dgates[s])
        gemm.matmul(dgates[s], w_hh, out=dh)    # gradient reaching h before step s
