"""An LSTM layer's time loop in one Numba function: each step's matrix product and cell together,
one parallel region for the whole sequence (float32).

A step of the forward pass is ``gates = xw[t] + bias + h W_hh^T`` (N x 4H) followed by the cell
(``nn_jit._lstm_units``' equations, written out here with the bias: calling that helper on the
block's slices measured 10-30% slower; backward calls ``_lstm_units_backward`` itself).

The batch rows are cut into **chains** of ``rb`` rows: a row's recurrence never needs another
row, so each chain walks all its steps on its own and threads take whole chains.  Within a
chain the hidden units are cut into ``nb`` blocks of ``hb``; block ``b`` needs, for its units,
the four gate columns i, f, g, o -- so the weights are passed with those columns side by side
(``wp``: (H, 4H), block ``b``'s ``4 * hb`` columns at ``4 * b * hb``, see
``kernels.nn.lstm_forward``) and one ``sgemm`` gives the block all its gates, after which the
block runs the cell for its units.  The next step needs every unit's ``h`` of the chain, so
threads sharing a chain (more threads than chains) claim its steps' blocks from counters and
wait for each step to be done (``forward_parallel``).

Backward runs the steps in reverse: block ``b`` first finishes the gradient reaching its units'
``h`` (``dh[:, block] = dgates[s + 1] @ W_hh[:, block]``, one ``sgemm``) and then the cell's
backward for its units at step ``s``.  ``dgates`` stays in PyTorch's gate order (i, f, g, o
blocks of H): ``W_hh``'s and the input projection's gradients use it afterwards.

Chains and blocks depend on the shape alone (``kernels.nn.lstm_blocks``), so the numbers do not
depend on the thread count; the serial drivers make the same calls in order.
"""
import numpy as np
from numba import njit, prange

from .atomics import atomic_add, wait_until
from .gemm_jit import NO_TRANS, ROW_MAJOR, _sgemm
from .jit import FM, _sigmoid32, _tanh32
from .nn_jit import _lstm_units_backward

f32 = np.float32
_opts = dict(cache=True, fastmath=FM, error_model="numpy", nogil=True)   # as nn_jit's cell


@njit(**_opts)
def _fwd_block(b, hb, r0, r1, t, hprev, cprev, xw, bias, wp, hg, acts, cnew, hnew, out,
               by_batch):
    """Block ``b`` of hidden units for rows ``r0:r1`` (a chain) at one step: the product, then
    the cell (``by_batch``: ``out`` is (N, L, H))."""
    H = hprev.shape[1]
    j0 = b * hb
    u = min(hb, H - j0)
    col = 4 * j0                            # this block's gate columns in wp and hg
    _sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, r1 - r0, 4 * u, H, f32(1.0),
           hprev.ctypes.data + r0 * H * 4, H, wp.ctypes.data + col * 4, 4 * H, f32(0.0),
           hg.ctypes.data + (r0 * 4 * H + col) * 4, 4 * H)
    for n in range(r0, r1):      # (slices, as in nn_jit._lstm_units: the loop vectorises)
        x, r, a = xw[t, n], hg[n], acts[n]
        xi, xf, xc, xo = x[j0:j0 + u], x[H + j0:H + j0 + u], x[2 * H + j0:2 * H + j0 + u], \
            x[3 * H + j0:3 * H + j0 + u]
        bi, bf, bc, bo = bias[j0:j0 + u], bias[H + j0:H + j0 + u], \
            bias[2 * H + j0:2 * H + j0 + u], bias[3 * H + j0:3 * H + j0 + u]
        ri, rf, rc, ro = r[col:col + u], r[col + u:col + 2 * u], r[col + 2 * u:col + 3 * u], \
            r[col + 3 * u:col + 4 * u]
        ai, af, ac, ao = a[j0:j0 + u], a[H + j0:H + j0 + u], a[2 * H + j0:2 * H + j0 + u], \
            a[3 * H + j0:3 * H + j0 + u]
        cp, cn, hn = cprev[n, j0:j0 + u], cnew[n, j0:j0 + u], hnew[n, j0:j0 + u]
        on = out[n, t, j0:j0 + u] if by_batch else out[t, n, j0:j0 + u]
        for j in range(u):
            i = _sigmoid32(xi[j] + bi[j] + ri[j])
            f = _sigmoid32(xf[j] + bf[j] + rf[j])
            g = _tanh32(xc[j] + bc[j] + rc[j])
            o = _sigmoid32(xo[j] + bo[j] + ro[j])
            ai[j], af[j], ac[j], ao[j] = i, f, g, o
            cj = f * cp[j] + i * g
            cn[j] = cj
            hj = o * _tanh32(cj)
            hn[j] = hj
            on[j] = hj


@njit(**_opts)
def _fwd_chain(c, rb, hb, xw, bias, wp, hs, cs, acts, hg, reverse, bf, out, sync):
    """Chain ``c`` (rows ``c * rb`` on) through every step, claiming each step's blocks from
    ``sync`` (see ``forward_parallel``); a worker joining late catches up through claimed steps."""
    L, N = xw.shape[:2]
    nb = (hs.shape[2] + hb - 1) // hb
    r0 = c * rb
    r1 = min(N, r0 + rb)
    base = 1 + c * 2 * L
    for s in range(L):
        if s > 0:
            wait_until(sync, base + L + s - 1, nb)
        t = L - 1 - s if reverse else s
        b = atomic_add(sync, base + s, 1)
        while b < nb:
            _fwd_block(b, hb, r0, r1, t, hs[s], cs[s], xw, bias, wp, hg, acts[s], cs[s + 1],
                       hs[s + 1], out, bf)
            atomic_add(sync, base + L + s, 1)
            b = atomic_add(sync, base + s, 1)


@njit(parallel=True, **_opts)
def forward_parallel(xw, bias, wp, hs, cs, acts, hg, hb, rb, reverse, bf, out, sync, ntask):
    """``xw`` (L, N, 4H): the input part of the gates, ``bias`` (4H) added to them; ``hs`` /
    ``cs`` (L + 1, N, H): ``[0]`` given, ``[s + 1]`` written (and ``out[t]``, by time: the
    layer's output; ``out[:, t]`` if ``bf``, batch first); ``acts`` (L, N, 4H): the gate
    activations of each step (by step, like ``hs``); ``hg`` (N, 4H) scratch.

    The batch rows are cut into chains of ``rb``, which never wait for each other: ``ntask``
    workers in one parallel region first take whole chains (``sync[0]`` counts them out), then
    help with chains still running by claiming blocks of hidden units step by step (``sync``:
    ``1 + chains * 2L`` int64 zeros; chain ``c``'s step ``s`` claims at ``1 + 2Lc + s``, counts
    done at ``1 + 2Lc + L + s``; a step starts once the one before is done).  A worker that does
    not show up leaves its work to the others."""
    N = xw.shape[1]
    nc = (N + rb - 1) // rb
    for k in prange(ntask):
        c = atomic_add(sync, 0, 1)
        while c < nc:
            _fwd_chain(c, rb, hb, xw, bias, wp, hs, cs, acts, hg, reverse, bf, out, sync)
            c = atomic_add(sync, 0, 1)
        for c in range(nc):
            _fwd_chain(c, rb, hb, xw, bias, wp, hs, cs, acts, hg, reverse, bf, out, sync)


@njit(**_opts)
def forward_serial(xw, bias, wp, hs, cs, acts, hg, hb, rb, reverse, bf, out):
    L, N = xw.shape[:2]
    H = hs.shape[2]
    nb = (H + hb - 1) // hb
    for r0 in range(0, N, rb):
        r1 = min(N, r0 + rb)
        for s in range(L):
            t = L - 1 - s if reverse else s
            for b in range(nb):
                _fwd_block(b, hb, r0, r1, t, hs[s], cs[s], xw, bias, wp, hg, acts[s], cs[s + 1],
                           hs[s + 1], out, bf)


@njit(**_opts)
def _dh_block(b, hb, r0, r1, dg, w_hh, dh):
    # the gradient reaching the block's units of h from the step after: dg @ W_hh[:, block]
    G = dg.shape[1]
    H = G // 4
    j0 = b * hb
    u = min(hb, H - j0)
    _sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, r1 - r0, u, G, f32(1.0),
           dg.ctypes.data + r0 * G * 4, G, w_hh.ctypes.data + j0 * 4, H, f32(0.0),
           dh.ctypes.data + (r0 * H + j0) * 4, H)


@njit(**_opts)
def _bwd_block(b, hb, r0, r1, s, t, acts, cs, w_hh, g_out, bf, dgates, dh, dc):
    """Block ``b`` for rows ``r0:r1`` at step ``s``: the gradient reaching its units' h from
    step ``s + 1``, then the cell's backward for its units (``nn_jit._lstm_units_backward``)."""
    L, N, G = acts.shape
    H = G // 4
    j0 = b * hb
    e = min(H, j0 + hb)
    if s + 1 < L:
        _dh_block(b, hb, r0, r1, dgates[s + 1], w_hh, dh)
    for n in range(r0, r1):
        a, d = acts[s, n], dgates[s, n]
        go = g_out[n, t] if bf else g_out[t, n]
        _lstm_units_backward(a[j0:e], a[H + j0:H + e], a[2 * H + j0:2 * H + e],
                            a[3 * H + j0:3 * H + e], cs[s, n, j0:e], cs[s + 1, n, j0:e],
                            dh[n, j0:e], go[j0:e], dc[n, j0:e], d[j0:e], d[H + j0:H + e],
                            d[2 * H + j0:2 * H + e], d[3 * H + j0:3 * H + e])


@njit(**_opts)
def _bwd_chain(c, rb, hb, acts, cs, w_hh, g_out, bf, dgates, dh, dc, reverse, sync):
    L, N, G = acts.shape
    nb = (G // 4 + hb - 1) // hb
    r0 = c * rb
    r1 = min(N, r0 + rb)
    base = 1 + c * (2 * L + 1)
    for s in range(L - 1, -1, -1):
        if s + 1 < L:
            wait_until(sync, base + L + s + 1, nb)
        t = L - 1 - s if reverse else s
        b = atomic_add(sync, base + s, 1)
        while b < nb:
            _bwd_block(b, hb, r0, r1, s, t, acts, cs, w_hh, g_out, bf, dgates, dh, dc)
            atomic_add(sync, base + L + s, 1)
            b = atomic_add(sync, base + s, 1)
    wait_until(sync, base + L, nb)
    b = atomic_add(sync, base + 2 * L, 1)
    while b < nb:                                   # the gradient reaching h0
        _dh_block(b, hb, r0, r1, dgates[0], w_hh, dh)
        b = atomic_add(sync, base + 2 * L, 1)


@njit(parallel=True, **_opts)
def backward_parallel(acts, cs, w_hh, g_out, bf, dgates, dh, dc, hb, rb, reverse, sync, ntask):
    """``dh`` / ``dc`` (N, H): the gradients reaching h_n / c_n, overwritten with those reaching
    h0 / c0; ``g_out`` by time (``bf``: batch first); ``dgates`` (L, N, 4H) written (by step).
    Chains and workers as in ``forward_parallel`` (``sync``: ``1 + chains * (2L + 1)`` int64
    zeros)."""
    N = acts.shape[1]
    nc = (N + rb - 1) // rb
    for k in prange(ntask):
        c = atomic_add(sync, 0, 1)
        while c < nc:
            _bwd_chain(c, rb, hb, acts, cs, w_hh, g_out, bf, dgates, dh, dc, reverse, sync)
            c = atomic_add(sync, 0, 1)
        for c in range(nc):
            _bwd_chain(c, rb, hb, acts, cs, w_hh, g_out, bf, dgates, dh, dc, reverse, sync)


@njit(**_opts)
def backward_serial(acts, cs, w_hh, g_out, bf, dgates, dh, dc, hb, rb, reverse):
    L, N, G = acts.shape
    nb = (G // 4 + hb - 1) // hb
    for r0 in range(0, N, rb):
        r1 = min(N, r0 + rb)
        for s in range(L - 1, -1, -1):
            t = L - 1 - s if reverse else s
            for b in range(nb):
                _bwd_block(b, hb, r0, r1, s, t, acts, cs, w_hh, g_out, bf, dgates, dh, dc)
        for b in range(nb):
            _dh_block(b, hb, r0, r1, dgates[0], w_hh, dh)


def _fwd_example(parallel=False):
    L, N, H = 2, 2, 3
    z = np.zeros
    args = (z((L, N, 4 * H), f32), z(4 * H, f32), z((H, 4 * H), f32), z((L + 1, N, H), f32),
            z((L + 1, N, H), f32), z((L, N, 4 * H), f32), z((N, 4 * H), f32), 2, 1, False, False,
            z((L, N, H), f32))
    return args + ((z(1 + 2 * 2 * L, np.int64), 2) if parallel else ())


def _bwd_example(parallel=False):
    L, N, H = 2, 2, 3
    z = np.zeros
    args = (z((L, N, 4 * H), f32), z((L + 1, N, H), f32), z((4 * H, H), f32), z((L, N, H), f32),
            False, z((L, N, 4 * H), f32), z((N, H), f32), z((N, H), f32), 2, 1, False)
    return args + ((z(1 + 2 * (2 * L + 1), np.int64), 2) if parallel else ())


WARMUP = {"forward_parallel": lambda: _fwd_example(True), "forward_serial": _fwd_example,
          "backward_parallel": lambda: _bwd_example(True), "backward_serial": _bwd_example}
