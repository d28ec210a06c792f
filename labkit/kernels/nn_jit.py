"""Numba kernels for nn (conv im2col/col2im, max pooling, layer norm, cross entropy).

Same signatures and results as ``nn_reference.py`` (float32, C-contiguous arrays, outputs written
into preallocated arrays).  All kernels are serial: on 2 cores a parallel Numba kernel next to a
BLAS call costs more in thread hand-over than it gains (shared/docs/performance.md, trap 3).
"""
import numpy as np
from numba import njit

from .jit import _exp32

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
    N, C, H, W = x.shape
    P = OH * OW
    for c in range(C):
        for ki in range(KH):
            oh_lo, oh_hi = _valid_range(ph - ki * dh, sh, H, OH)
            for kj in range(KW):
                row = (c * KH + ki) * KW + kj
                ow_lo, ow_hi = _valid_range(pw - kj * dw, sw, W, OW)
                off = kj * dw - pw
                for n in range(N):
                    base = n * P
                    for oh in range(OH):
                        o = base + oh * OW
                        if oh < oh_lo or oh >= oh_hi:
                            for ow in range(OW):
                                cols[row, o + ow] = f32(0.0)
                            continue
                        ih = oh * sh - ph + ki * dh
                        for ow in range(ow_lo):
                            cols[row, o + ow] = f32(0.0)
                        for ow in range(ow_lo, ow_hi):
                            cols[row, o + ow] = x[n, c, ih, ow * sw + off]
                        for ow in range(ow_hi, OW):
                            cols[row, o + ow] = f32(0.0)


@njit(**_opts)
def col2im(cols, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out):
    N, C, H, W = out.shape
    P = OH * OW
    for c in range(C):
        for ki in range(KH):
            oh_lo, oh_hi = _valid_range(ph - ki * dh, sh, H, OH)
            for kj in range(KW):
                row = (c * KH + ki) * KW + kj
                ow_lo, ow_hi = _valid_range(pw - kj * dw, sw, W, OW)
                off = kj * dw - pw
                for n in range(N):
                    base = n * P
                    for oh in range(oh_lo, oh_hi):
                        o = base + oh * OW
                        ih = oh * sh - ph + ki * dh
                        for ow in range(ow_lo, ow_hi):
                            out[n, c, ih, ow * sw + off] += cols[row, o + ow]


@njit(**_opts)
def max_pool2d(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out, idx):
    # Loop over kernel offsets outside and output pixels inside (like im2col): the inner loop is
    # branch-light and runs over contiguous output rows.  Candidates for one output are visited in
    # (ki, kj) order and only a strictly larger value wins, so ties pick the first (as PyTorch).
    N, C, H, W = x.shape
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    out[n, c, oh, ow] = f32(-np.inf)
                    idx[n, c, oh, ow] = -1
            for ki in range(KH):
                oh_lo, oh_hi = _valid_range(ph - ki * dh, sh, H, OH)
                for kj in range(KW):
                    ow_lo, ow_hi = _valid_range(pw - kj * dw, sw, W, OW)
                    off = kj * dw - pw
                    for oh in range(oh_lo, oh_hi):
                        ih = oh * sh - ph + ki * dh
                        for ow in range(ow_lo, ow_hi):
                            iw = ow * sw + off
                            v = x[n, c, ih, iw]
                            b = out[n, c, oh, ow]
                            if v > b or (v != v and b == b) or idx[n, c, oh, ow] < 0:
                                out[n, c, oh, ow] = v
                                idx[n, c, oh, ow] = ih * W + iw


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
