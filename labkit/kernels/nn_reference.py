"""Plain NumPy reference implementations of the nn kernels (conv, pooling, norms, losses).

``labkit/kernels/nn_jit.py`` holds the Numba versions with the same signatures (they write into
``out`` arrays); the tests compare the two, and ``LABKIT_JIT=0`` makes labkit use these.

Conventions (both files):
- images are (N, C, H, W), C-contiguous;
- ``cols`` for im2col is laid out (N, C*KH*KW, OH*OW): per image, one row per (channel, kernel
  offset) holding the input pixel each output pixel sees, so a convolution is the batched matrix
  product ``W(OC, C*KH*KW) @ cols`` and lands directly in (N, OC, OH*OW) -- no transpose.  (The
  per-image products are small enough for OpenBLAS's small-matrix kernels: for LeNet's conv1 they
  ran 3.6x faster than one (6 x 25) @ (25 x 50176) product over the whole batch.)
"""
import numpy as np


def _window(xp, ki, kj, sh, sw, dh, dw, OH, OW):
    """The (N, C, OH, OW) strided slice of padded ``xp`` seen by kernel offset (ki, kj)."""
    return xp[:, :, ki * dh: ki * dh + sh * (OH - 1) + 1: sh,
              kj * dw: kj * dw + sw * (OW - 1) + 1: sw]


def _pad(x, ph, pw, value=0.0):
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, cols):
    N, C, H, W = x.shape
    xp = _pad(x, ph, pw)
    c6 = cols.reshape(N, C, KH, KW, OH, OW)
    for ki in range(KH):
        for kj in range(KW):
            c6[:, :, ki, kj] = _window(xp, ki, kj, sh, sw, dh, dw, OH, OW)


def col2im(cols, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out):
    """Adjoint of im2col: ``out`` (N, C, H, W) += scattered ``cols`` (``out`` pre-zeroed)."""
    N, C, H, W = out.shape
    xp = np.zeros((N, C, H + 2 * ph + sh, W + 2 * pw + sw), out.dtype)
    c6 = cols.reshape(N, C, KH, KW, OH, OW)
    for ki in range(KH):
        for kj in range(KW):
            _window(xp, ki, kj, sh, sw, dh, dw, OH, OW)[...] += c6[:, :, ki, kj]
    out += xp[:, :, ph:ph + H, pw:pw + W]


def max_pool2d(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out, idx):
    """Max over each window (padding never wins); ``idx`` = flat ``ih * W + iw`` of the max."""
    N, C, H, W = x.shape
    xp = _pad(x, ph, pw, -np.inf)
    # pad enough on the bottom/right for ceil_mode windows that hang over the edge
    extra_h = max(0, (OH - 1) * sh + (KH - 1) * dh + 1 - xp.shape[2])
    extra_w = max(0, (OW - 1) * sw + (KW - 1) * dw + 1 - xp.shape[3])
    if extra_h or extra_w:
        xp = np.pad(xp, ((0, 0), (0, 0), (0, extra_h), (0, extra_w)), constant_values=-np.inf)
    best = np.full((N, C, OH, OW), -np.inf, x.dtype)
    bidx = np.full((N, C, OH, OW), -1, np.int64)
    oh = np.arange(OH)[:, None] * sh - ph
    ow = np.arange(OW)[None, :] * sw - pw
    for ki in range(KH):
        for kj in range(KW):
            v = _window(xp, ki, kj, sh, sw, dh, dw, OH, OW)
            ih, iw = oh + ki * dh, ow + kj * dw
            inside = (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
            # the first input pixel seen is taken even if it is -inf (so every output has an index)
            take = (v > best) | np.isnan(v) | ((bidx < 0) & inside)
            best = np.where(take, v, best)
            bidx = np.where(take, ih * W + iw, bidx)
    out[...] = best
    idx[...] = bidx


def max_pool2d_2x2(x, out, idx):
    """``max_pool2d`` with 2x2 windows, stride 2, no padding (a fast path in the Numba module)."""
    max_pool2d(x, 2, 2, 2, 2, 0, 0, 1, 1, out.shape[2], out.shape[3], out, idx)


def max_pool2d_backward(g, idx, out):
    """``out`` (N, C, H, W, pre-zeroed) += g scattered to the argmax positions."""
    N, C, H, W = out.shape
    o = out.reshape(N * C, H * W)
    gi = g.reshape(N * C, -1)
    ii = idx.reshape(N * C, -1)
    rows = np.repeat(np.arange(N * C), ii.shape[1])
    np.add.at(o, (rows, ii.ravel()), gi.ravel())


def layer_norm(x, w, b, eps, y, mean, rstd):
    """Rows of ``x`` (R, D) normalised: ``y = (x - mean) * rstd * w + b``."""
    m = x.mean(axis=1)
    xc = x - m[:, None]
    var = (xc * xc).mean(axis=1)
    r = 1.0 / np.sqrt(var + eps)
    mean[...] = m
    rstd[...] = r
    y[...] = xc * r[:, None] * w + b


def layer_norm_backward(g, x, w, mean, rstd, gx, gw, gb):
    """``gx`` per row; ``gw``/``gb`` (D,) accumulate sums over rows (pre-zeroed)."""
    xhat = (x - mean[:, None]) * rstd[:, None]
    gwx = g * w
    c1 = gwx.mean(axis=1, keepdims=True)
    c2 = (gwx * xhat).mean(axis=1, keepdims=True)
    gx[...] = rstd[:, None] * (gwx - c1 - xhat * c2)
    gw += (g * xhat).sum(axis=0)
    gb += g.sum(axis=0)


def cross_entropy(z, y, w, eps, ignore_index, loss, lse):
    """Per-row loss of class targets ``y`` for logits ``z`` (R, C), class weights ``w`` (C,),
    label smoothing ``eps``: ``-(1-eps) w[y] logp[y] - eps/C sum_c w_c logp_c`` (0 if ignored)."""
    R, C = z.shape
    mx = z.max(axis=1, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0)
    s = np.log(np.exp(z - mx).sum(axis=1)) + mx[:, 0]
    lse[...] = s
    valid = y != ignore_index
    ys = np.where(valid, y, 0)
    logp_y = z[np.arange(R), ys] - s
    l = -(1 - eps) * w[ys] * logp_y
    if eps > 0:
        l = l - eps / C * ((z - s[:, None]) * w).sum(axis=1)
    loss[...] = np.where(valid, l, 0)


def cross_entropy_backward(z, y, w, eps, ignore_index, lse, g, out):
    """d loss_i / d z_ic * g_i = g_i * (Q_i p_ic - q_ic), q the (weighted, smoothed) target."""
    R, C = z.shape
    valid = y != ignore_index
    ys = np.where(valid, y, 0)
    p = np.exp(z - lse[:, None])
    wy = w[ys]
    Q = (1 - eps) * wy + eps / C * w.sum()
    res = Q[:, None] * p - eps / C * w[None, :]
    res[np.arange(R), ys] -= (1 - eps) * wy
    out[...] = np.where(valid[:, None], res * g[:, None], 0)


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1)


def lstm_cell(xg, hg, c_prev, acts, c, h):
    """One LSTM step: gates ``xg + hg`` (N, 4H) in order i, f, g, o; ``acts`` = their activations;
    ``c = f * c_prev + i * g``, ``h = o * tanh(c)``."""
    z = xg + hg
    H = z.shape[1] // 4
    acts[:, :H], acts[:, H:2 * H] = _sigmoid(z[:, :H]), _sigmoid(z[:, H:2 * H])
    acts[:, 2 * H:3 * H], acts[:, 3 * H:] = np.tanh(z[:, 2 * H:3 * H]), _sigmoid(z[:, 3 * H:])
    i, f, g, o = np.split(acts, 4, axis=1)
    c[...] = f * c_prev + i * g
    h[...] = o * np.tanh(c)


def lstm_cell_backward(acts, c_prev, c, dh, dh_out, dc, dgates):
    """Gradients of one step: ``dgates`` for the pre-activations; ``dc`` (in: for c) becomes the
    gradient for ``c_prev``.  ``dh + dh_out`` is the gradient reaching h."""
    i, f, g, o = np.split(acts, 4, axis=1)
    H = i.shape[1]
    tc = np.tanh(c)
    dht = dh + dh_out
    dct = dc + dht * o * (1 - tc * tc)
    dgates[:, :H] = dct * g * i * (1 - i)
    dgates[:, H:2 * H] = dct * c_prev * f * (1 - f)
    dgates[:, 2 * H:3 * H] = dct * i * (1 - g * g)
    dgates[:, 3 * H:] = dht * tc * o * (1 - o)
    dc[...] = dct * f


def attn_softmax(x, m, mrow, scale, out):
    """Rows of attention scores: ``out = softmax(x * scale + m[mrow])`` (``m`` without rows: no
    mask; a row masked out entirely gives zeros)."""
    z = x * scale + (m[mrow] if m.shape[0] else 0)
    mx = z.max(axis=1, keepdims=True)
    dead = mx == -np.inf
    e = np.exp(z - np.where(dead, 0, mx))
    with np.errstate(invalid="ignore", divide="ignore"):
        out[...] = np.where(dead, 0, e / e.sum(axis=1, keepdims=True))


def attn_softmax_backward(g, y, scale, out):
    """``out = scale * y * (g - sum(g * y))`` per row."""
    out[...] = scale * y * (g - (g * y).sum(axis=1, keepdims=True))
