"""Numba kernels for nn (conv im2col/col2im, max pooling, layer norm, cross entropy).

Same signatures and results as ``nn_reference.py`` (float32, C-contiguous arrays, outputs written
into preallocated arrays).  The kernels are serial; ``par_jit.py`` runs them on pieces of their data
(images, blocks of rows) on labkit's thread pool (the policy: ``kernels/__init__.py``).
"""
import numpy as np
from numba import njit

from .jit import _exp32, _sigmoid32, _softmax_backward_rows, _softmax_row, _tanh32

FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
_opts = dict(cache=True, fastmath=FM, error_model="numpy", nogil=True)
f32 = np.float32


@njit(inline="always", **_opts)
def _valid_range(a, stride, size, n_out):
    """Output positions o in [lo, hi) with 0 <= o*stride - a < size."""
    lo = 0
    if a > 0:
        lo = (a + stride - 1) // stride                   # ceil(a / stride)
    hi = (size - 1 + a) // stride + 1 if size - 1 + a >= 0 else 0
    if hi > n_out:
        hi = n_out
    if lo > hi:
        lo = hi
    return lo, hi


@njit(**_opts)
def im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, cols):
    # cols[n, (c, ki, kj)] is the (OH, OW) image of the input pixels that kernel offset (ki, kj)
    # of channel c sees: output row ``oh`` copies a segment of input row ``ih``.
    # Numba note: inner loops index 1-D views with the bare loop variable (``mid[j] = src[j]``).
    # ``cols[row, o + ow]`` keeps a negative-index check in the loop, which stops vectorisation:
    # that version ran at ~1 ns per element, this one at ~0.25-0.5 (rows of 28 and 10 pixels).
    N, C, H, W = x.shape
    c4 = cols.reshape(N, C * KH * KW, OH, OW)
    for n in range(N):
        for c in range(C):
            img = x[n, c]
            for ki in range(KH):
                oh_lo, oh_hi = _valid_range(ph - ki * dh, sh, H, OH)
                for kj in range(KW):
                    dimg = c4[n, (c * KH + ki) * KW + kj]
                    ow_lo, ow_hi = _valid_range(pw - kj * dw, sw, W, OW)
                    n_in = ow_hi - ow_lo
                    iw0 = ow_lo * sw + kj * dw - pw       # input column of output column ow_lo
                    for oh in range(OH):
                        dst = dimg[oh]
                        if oh < oh_lo or oh >= oh_hi or n_in <= 0:
                            dst[:] = f32(0.0)             # the window row lies in the padding
                            continue
                        for j in range(ow_lo):            # left / right padding
                            dst[j] = f32(0.0)
                        for j in range(ow_hi, OW):
                            dst[j] = f32(0.0)
                        mid = dst[ow_lo:ow_hi]
                        src = img[oh * sh - ph + ki * dh, iw0:]
                        if sw == 1:
                            for j in range(n_in):
                                mid[j] = src[j]
                        else:
                            for j in range(n_in):
                                mid[j] = src[j * sw]


@njit(**_opts)
def col2im(cols, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out):
    # The adjoint of im2col (same loops, ``+=`` in the other direction); ``out`` is pre-zeroed.
    N, C, H, W = out.shape
    c4 = cols.reshape(N, C * KH * KW, OH, OW)
    for n in range(N):
        for c in range(C):
            img = out[n, c]
            for ki in range(KH):
                oh_lo, oh_hi = _valid_range(ph - ki * dh, sh, H, OH)
                for kj in range(KW):
                    simg = c4[n, (c * KH + ki) * KW + kj]
                    ow_lo, ow_hi = _valid_range(pw - kj * dw, sw, W, OW)
                    n_in = ow_hi - ow_lo
                    if n_in <= 0:
                        continue
                    iw0 = ow_lo * sw + kj * dw - pw
                    for oh in range(oh_lo, oh_hi):
                        src = simg[oh, ow_lo:ow_hi]
                        dst = img[oh * sh - ph + ki * dh, iw0:]
                        if sw == 1:
                            for j in range(n_in):
                                dst[j] += src[j]
                        else:
                            for j in range(n_in):
                                dst[j * sw] += src[j]


@njit(inline="always", **_opts)
def _pick(v, k, best, bi):
    # As PyTorch: the first maximum wins (candidates come in (ki, kj) order, only a strictly
    # larger value replaces it) and every NaN wins (NaN propagates; the index is the last NaN's).
    # Written without ``if``: on random data a branch here is mispredicted half the time (~3x).
    take = (v > best) | (v != v)
    return (v if take else best), (k if take else bi)


@njit(**_opts)
def max_pool2d(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out, idx):
    # Kernel offsets outside, output rows inside (like im2col), on 1-D views of input row ``ih``
    # (every ``sw``-th pixel from ``iw0``) and of the output row.  ``idx`` = flat ``ih * W + iw``.
    N, C, H, W = x.shape
    for n in range(N):
        for c in range(C):
            img = x[n, c]
            o = out[n, c]
            ix = idx[n, c]
            o[:, :] = f32(-np.inf)
            ix[:, :] = -1                                  # -1: no candidate seen yet
            for ki in range(KH):
                oh_lo, oh_hi = _valid_range(ph - ki * dh, sh, H, OH)
                for kj in range(KW):
                    ow_lo, ow_hi = _valid_range(pw - kj * dw, sw, W, OW)
                    iw0 = ow_lo * sw + kj * dw - pw
                    for oh in range(oh_lo, oh_hi):
                        ih = oh * sh - ph + ki * dh
                        src = img[ih, iw0::sw]
                        best = o[oh, ow_lo:ow_hi]
                        bidx = ix[oh, ow_lo:ow_hi]
                        k0 = ih * W + iw0
                        for j in range(ow_hi - ow_lo):
                            b, bi = _pick(src[j], k0 + j * sw, best[j], bidx[j])
                            first = bidx[j] < 0                # a -inf input still gets an index
                            best[j] = src[j] if first else b
                            bidx[j] = k0 + j * sw if first else bi


@njit(**_opts)
def max_pool2d_2x2(x, out, idx):
    # The common case max_pool2d(x, 2): 2x2 windows, stride 2, no padding, each output from
    # input rows 2*oh and 2*oh + 1 (every window inside: 2 * OH <= H, 2 * OW <= W).
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    for n in range(N):
        for c in range(C):
            img = x[n, c]
            for oh in range(OH):
                top0 = img[2 * oh, 0::2]                   # even / odd columns of both rows
                top1 = img[2 * oh, 1::2]
                bot0 = img[2 * oh + 1, 0::2]
                bot1 = img[2 * oh + 1, 1::2]
                orow = out[n, c, oh]
                irow = idx[n, c, oh]
                k0 = 2 * oh * W
                for ow in range(OW):
                    k = k0 + 2 * ow
                    best, bi = top0[ow], k
                    best, bi = _pick(top1[ow], k + 1, best, bi)
                    best, bi = _pick(bot0[ow], k + W, best, bi)
                    best, bi = _pick(bot1[ow], k + W + 1, best, bi)
                    orow[ow] = best
                    irow[ow] = bi


@njit(**_opts)
def max_pool2d_backward(g, idx, out):
    N, C, H, W = out.shape
    OH, OW = g.shape[2], g.shape[3]
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    k = idx[n, c, oh, ow]
                    if k >= 0:
                        out[n, c, k // W, k % W] += g[n, c, oh, ow]


@njit(**_opts)
def layer_norm(x, w, b, eps, y, mean, rstd):
    R, D = x.shape
    for r in range(R):
        s = f32(0.0)
        for j in range(D):
            s += x[r, j]
        m = s / D
        v = f32(0.0)
        for j in range(D):
            d = x[r, j] - m
            v += d * d
        rs = f32(1.0) / np.sqrt(v / D + eps)
        mean[r] = m
        rstd[r] = rs
        for j in range(D):
            y[r, j] = (x[r, j] - m) * rs * w[j] + b[j]


@njit(**_opts)
def layer_norm_backward(g, x, w, mean, rstd, gx, gw, gb):
    R, D = x.shape
    for r in range(R):
        m = mean[r]
        rs = rstd[r]
        c1 = f32(0.0)
        c2 = f32(0.0)
        for j in range(D):
            xh = (x[r, j] - m) * rs
            gwx = g[r, j] * w[j]
            c1 += gwx
            c2 += gwx * xh
            gw[j] += g[r, j] * xh
            gb[j] += g[r, j]
        c1 /= D
        c2 /= D
        for j in range(D):
            xh = (x[r, j] - m) * rs
            gx[r, j] = rs * (g[r, j] * w[j] - c1 - xh * c2)


@njit(**_opts)
def cross_entropy(z, y, w, eps, ignore_index, loss, lse):
    R, C = z.shape
    for r in range(R):
        mx = f32(-np.inf)
        for j in range(C):
            mx = max(mx, z[r, j])
        if mx == f32(-np.inf) or mx == f32(np.inf):
            mx = f32(0.0)
        s = f32(0.0)
        for j in range(C):
            s += _exp32(z[r, j] - mx)
        ls = mx + np.log(s)
        lse[r] = ls
        t = y[r]
        if t == ignore_index:
            loss[r] = f32(0.0)
            continue
        l = -(f32(1.0) - eps) * w[t] * (z[r, t] - ls)
        if eps > f32(0.0):
            acc = f32(0.0)
            for j in range(C):
                acc += w[j] * (z[r, j] - ls)
            l -= eps / C * acc
        loss[r] = l


@njit(**_opts)
def cross_entropy_backward(z, y, w, eps, ignore_index, lse, g, out):
    R, C = z.shape
    wsum = f32(0.0)
    for j in range(C):
        wsum += w[j]
    for r in range(R):
        t = y[r]
        if t == ignore_index:
            for j in range(C):
                out[r, j] = f32(0.0)
            continue
        wy = w[t]
        gr = g[r]
        Q = (f32(1.0) - eps) * wy + eps / C * wsum
        ls = lse[r]
        for j in range(C):
            out[r, j] = gr * (Q * _exp32(z[r, j] - ls) - eps / C * w[j])
        out[r, t] -= gr * (f32(1.0) - eps) * wy


# ------------------------------------------------------------------ attention's softmax
@njit(**_opts)
def attn_softmax(x, m, mrow, scale, out):
    """Rows of attention scores ``x`` (R, S): ``out = softmax(x * scale + m[mrow[r]])``, the
    additive mask ``m`` (Rm, S) row ``mrow[r]`` for score row ``r`` (``m`` without rows: no
    mask).  One pass over the scores instead of three (scale, mask, softmax); ``out`` may be
    ``x``.  A row masked out entirely gives zeros, as PyTorch's attention does (its "safe
    softmax"; a plain softmax gives NaN)."""
    n, S = x.shape
    masked = m.shape[0] > 0
    for r in range(n):
        if masked:
            mr = m[mrow[r]]
            for j in range(S):
                out[r, j] = x[r, j] * scale + mr[j]
        else:
            for j in range(S):
                out[r, j] = x[r, j] * scale
        _softmax_row(out, r, out, True)


@njit(**_opts)
def attn_softmax_backward(g, y, scale, out):
    """The scores' gradient from the weights' ``g`` and the weights ``y`` (R, S):
    ``out = scale * y * (g - sum(g * y))`` (the softmax's Jacobian and the scale together)."""
    _softmax_backward_rows(g, y, scale, out)


def _a(*shape, dtype=np.float32):
    return np.zeros(shape, dtype)


_CONV = (2, 2, 1, 1, 0, 0, 1, 1, 2, 2)        # KH, KW, sh, sw, ph, pw, dh, dw, OH, OW (ints)
_POOL = (2, 2, 2, 2, 0, 0, 1, 1, 1, 1)

# labkit.warmup(): tiny arguments with the run-time types of labkit/kernels/nn.py's calls
WARMUP = {
    "im2col": lambda: (_a(1, 1, 3, 3), *_CONV, _a(1, 4, 4)),
    "col2im": lambda: (_a(1, 4, 4), *_CONV, _a(1, 1, 3, 3)),
    "max_pool2d": lambda: (_a(1, 1, 2, 2), *_POOL, _a(1, 1, 1, 1), _a(1, 1, 1, 1, dtype=np.int64)),
    "max_pool2d_2x2": lambda: (_a(1, 1, 2, 2), _a(1, 1, 1, 1), _a(1, 1, 1, 1, dtype=np.int64)),
    "max_pool2d_backward": lambda: (_a(1, 1, 1, 1), _a(1, 1, 1, 1, dtype=np.int64),
                                    _a(1, 1, 2, 2)),
    "layer_norm": lambda: (_a(2, 3), _a(3), _a(3), f32(1e-5), _a(2, 3), _a(2), _a(2)),
    "layer_norm_backward": lambda: (_a(2, 3), _a(2, 3), _a(3), _a(2), _a(2), _a(2, 3), _a(3),
                                    _a(3)),
    "cross_entropy": lambda: (_a(2, 3), _a(2, dtype=np.int64), _a(3) + 1, f32(0), -100, _a(2),
                              _a(2)),
    "cross_entropy_backward": lambda: (_a(2, 3), _a(2, dtype=np.int64), _a(3) + 1, f32(0), -100,
                                       _a(2), _a(2), _a(2, 3)),
    "attn_softmax": lambda: (_a(2, 3), _a(1, 3), _a(2, dtype=np.int64), f32(0.5), _a(2, 3)),
    "attn_softmax_backward": lambda: (_a(2, 3), _a(2, 3), f32(0.5), _a(2, 3)),
}


# ------------------------------------------------------------------ LSTM cell (one time step)
# The gate equations, once: on per-gate slices of a row (units j of the i, f, g, o blocks), so
# that rnn_jit's blocks of hidden units share them.
@njit(inline="always", **_opts)
def _lstm_units(xi, xf, xc, xo, ri, rf, rc, ro, ai, af, ac, ao, cp, cn, hn):
    # Gate pre-activations x + r; writes the activations (kept for backward) and the new state:
    # c = f * c_prev + i * g,  h = o * tanh(c).  (``a`` may be ``x``: read before written.)
    for j in range(cn.size):
        i = _sigmoid32(xi[j] + ri[j])
        f = _sigmoid32(xf[j] + rf[j])
        g = _tanh32(xc[j] + rc[j])
        o = _sigmoid32(xo[j] + ro[j])
        ai[j], af[j], ac[j], ao[j] = i, f, g, o
        cj = f * cp[j] + i * g
        cn[j] = cj
        hn[j] = o * _tanh32(cj)


@njit(inline="always", **_opts)
def _lstm_units_backward(ai, af, ac, ao, cp, cn, dhn, dho, dcn, di, df, dg, do):
    # dhn: gradient reaching h from the next step, dho: from this step's output; dcn: reaching
    # c -- overwritten with the gradient for c_prev; d*: for the pre-activations (the chain
    # rule through c = f c_prev + i g, h = o tanh(c); sigmoid' = s (1 - s), tanh' = 1 - t^2).
    for j in range(cn.size):
        i, f, g, o = ai[j], af[j], ac[j], ao[j]
        tc = _tanh32(cn[j])
        dhj = dhn[j] + dho[j]
        dcj = dcn[j] + dhj * o * (f32(1.0) - tc * tc)
        di[j] = dcj * g * i * (f32(1.0) - i)
        df[j] = dcj * cp[j] * f * (f32(1.0) - f)
        dg[j] = dcj * i * (f32(1.0) - g * g)
        do[j] = dhj * tc * o * (f32(1.0) - o)
        dcn[j] = dcj * f


@njit(**_opts)
def lstm_cell(xg, hg, c_prev, acts, c, h):
    # Gate pre-activations = xg + hg, (N, 4H) in PyTorch's order i, f, g, o (xg: the input part
    # x W_ih^T + b_ih + b_hh, hg: h_prev W_hh^T); ``acts`` gets the activations, c / h the state.
    N, G = xg.shape
    H = G // 4
    for n in range(N):
        x, r, a = xg[n], hg[n], acts[n]
        _lstm_units(x[:H], x[H:2 * H], x[2 * H:3 * H], x[3 * H:],
                   r[:H], r[H:2 * H], r[2 * H:3 * H], r[3 * H:],
                   a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:], c_prev[n], c[n], h[n])


@njit(**_opts)
def lstm_cell_backward(acts, c_prev, c, dh, dh_out, dc, dgates):
    # dh / dh_out: the gradients reaching h from the next step / this step's output; dc: reaching
    # c, overwritten with c_prev's; dgates (N, 4H): the pre-activations' (_lstm_units_backward).
    N, G = acts.shape
    H = G // 4
    for n in range(N):
        a, d = acts[n], dgates[n]
        _lstm_units_backward(a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:], c_prev[n], c[n],
                            dh[n], dh_out[n], dc[n], d[:H], d[H:2 * H], d[2 * H:3 * H], d[3 * H:])


WARMUP["lstm_cell"] = lambda: (_a(2, 8), _a(2, 8), _a(2, 2), _a(2, 8), _a(2, 2), _a(2, 2))
WARMUP["lstm_cell_backward"] = lambda: (_a(2, 8), _a(2, 2), _a(2, 2), _a(2, 2), _a(2, 2), _a(2, 2),
                                        _a(2, 8))
