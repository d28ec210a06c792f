"""Padding (constant, reflect, replicate, circular) and interpolation (upsampling)."""
import math

import numpy as np

from ...autograd.function import Function
from ...tensor import _make
from ._common import _tuple


# ================================================================ pad / interpolate
class ConstantPad(Function):
    raw = True
    derivative = "crop the gradient back to the unpadded region"
    node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        # pads: per dim (before, after), may be negative (cropping)
        grow = [(max(a, 0), max(b, 0)) for a, b in pads]
        y = np.pad(x, grow, constant_values=value)
        crop = tuple(slice(-min(a, 0), y.shape[i] + min(b, 0)) for i, (a, b) in enumerate(pads))
        ctx.pads = pads
        return np.ascontiguousarray(y[crop])

    @staticmethod
    def backward(ctx, g):
        pads = ctx.pads
        xp = ctx.xp
        neg = [(max(-a, 0), max(-b, 0)) for a, b in pads]
        gg = xp.pad(g, neg)
        sl = tuple(slice(max(a, 0), gg.shape[i] - max(b, 0)) for i, (a, b) in enumerate(pads))
        return xp.ascontiguousarray(gg[sl]), None, None


class IndexPad(Function):
    """reflect / replicate / circular padding: a gather along each padded dim."""
    raw = True
    derivative = "scatter-add the gradient back from the padded (repeated) positions"
    node_name = "ReflectionPadBackward0"

    @staticmethod
    def forward(ctx, x, indices):
        ctx.indices, ctx.shape = indices, x.shape
        for d, idx in indices:
            x = np.take(x, idx, axis=d)
        return x

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        shapes = [ctx.shape]
        for d, idx in ctx.indices[:-1]:
            s = list(shapes[-1])
            s[d] = len(idx)
            shapes.append(tuple(s))
        for (d, idx), shape in zip(reversed(ctx.indices), reversed(shapes)):
            out = xp.zeros(shape, dtype=g.dtype)
            xp.add.at(out, (slice(None),) * d + (idx,), g)
            g = out
        return g, None


def _pad_index(n, a, b, mode, dim, shape):
    i = np.arange(-a, n + b)
    if mode == "reflect":
        if a >= n or b >= n:
            raise RuntimeError(f"Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({a}, {b}) at dimension {dim} of "
                               f"input {list(shape)}")
        i = np.abs(i)
        i = np.where(i >= n, 2 * (n - 1) - i, i)
    elif mode == "replicate":
        i = np.clip(i, 0, n - 1)
    else:
        if a > n or b > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        # as PyTorch: crop the negative pads first, then wrap around what is left
        c = np.arange(max(-a, 0), n - max(-b, 0))
        i = np.concatenate([c[len(c) - a:] if a > 0 else c[:0], c, c[:b] if b > 0 else c[:0]])
    return i


def pad(input, pad, mode="constant", value=None):
    """Pad the last dims: ``pad = (left, right, top, bottom, ...)`` starting from the last dim.

    Modes: ``'constant'`` (with ``value``, default 0; negative pads crop), ``'reflect'``,
    ``'replicate'``, ``'circular'``.
    """
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    pads = [(0, 0)] * input.ndim
    for k in range(len(pad) // 2):
        pads[input.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    if mode == "constant":
        return ConstantPad.apply(input, pads, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    indices = []
    for d, (a, b) in enumerate(pads):
        if a or b:
            indices.append((d, _pad_index(input.shape[d], a, b, mode, d, input.shape)))
    if not indices:
        return input * 1
    return IndexPad.apply(input, indices)


def _interp_scale(n_in, n_out, scale_factor, align_corners):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    if scale_factor is not None:
        return 1.0 / scale_factor
    return n_in / n_out


def _linear_matrix(n_in, n_out, scale, align_corners, dtype):
    """(n_out, n_in) matrix of linear interpolation weights (PyTorch's source-index rule)."""
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * scale if align_corners else np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    l1 = src - i0
    m = np.zeros((n_out, n_in), np.float64)
    np.add.at(m, (np.arange(n_out), i0), 1 - l1)
    np.add.at(m, (np.arange(n_out), i1), l1)
    return m.astype(dtype)


def _cubic_matrix(n_in, n_out, scale, align_corners, dtype):
    """(n_out, n_in) bicubic weights: Keys' cubic convolution (A = -0.75) on the four nearest
    source samples, indices clamped at the borders (PyTorch's rule)."""
    A = -0.75
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * scale if align_corners else (dst + 0.5) * scale - 0.5
    x0 = np.floor(src).astype(np.int64)
    t = src - x0

    def near(d):                                  # |d| <= 1
        return ((A + 2) * d - (A + 3)) * d * d + 1

    def far(d):                                   # 1 < |d| < 2
        return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    m = np.zeros((n_out, n_in), np.float64)
    for k, w in enumerate(weights):
        idx = np.clip(x0 - 1 + k, 0, n_in - 1)
        np.add.at(m, (np.arange(n_out), idx), w)
    return m.astype(dtype)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize ``(N, C, L)`` / ``(N, C, H, W)`` / ``(N, C, D, H, W)``: modes ``'nearest'``,
    ``'nearest-exact'``, ``'linear'``, ``'bilinear'``, ``'trilinear'``, ``'bicubic'`` and
    ``'area'`` (adaptive average pooling), ``align_corners`` as in PyTorch.

    All but nearest are separable: each spatial dim is multiplied by a weight matrix.
    """
    from .pooling import _adaptive_matrix
    nd = input.ndim - 2
    if nd not in (1, 2, 3):
        raise NotImplementedError(f"interpolate: only 3D (N, C, L), 4D (N, C, H, W) and 5D "
                                  f"(N, C, D, H, W) inputs are supported, got {input.ndim}D")
    linear_modes = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}
    if mode in linear_modes:
        if linear_modes[mode] != nd:
            raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                      f"{linear_modes[mode] + 2}D input")
        align_corners = bool(align_corners)
    elif mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    else:
        raise NotImplementedError(f"interpolate: mode '{mode}' is not supported (use nearest, "
                                  f"nearest-exact, linear, bilinear, trilinear, bicubic or area)")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    in_sizes = list(input.shape[2:])
    if size is not None:
        out_sizes = list(_tuple(size, nd, "size"))
        scales = [None] * nd
    else:
        sf = scale_factor if isinstance(scale_factor, (list, tuple)) else [scale_factor] * nd
        out_sizes = [int(math.floor(n * float(s))) for n, s in zip(in_sizes, sf)]
        scales = [None if recompute_scale_factor else float(s) for s in sf]
    out = input
    dt = input._np.dtype
    for k in range(nd):
        dim = 2 + k
        n_in, n_out = in_sizes[k], out_sizes[k]
        if mode in linear_modes or mode == "area":
            if mode == "area":
                m = _adaptive_matrix(n_in, n_out, dt)
            else:
                sc = _interp_scale(n_in, n_out, scales[k], align_corners)
                m = (_cubic_matrix if mode == "bicubic" else _linear_matrix)(
                    n_in, n_out, sc, align_corners, dt)
            if dim == input.ndim - 1:
                out = out @ _make(np.ascontiguousarray(m.T))
            elif dim == input.ndim - 2:
                out = _make(m) @ out
            else:
                out = (out.movedim(dim, -1) @ _make(np.ascontiguousarray(m.T))).movedim(-1, dim)
        else:
            scale = _interp_scale(n_in, n_out, scales[k], False)
            dst = np.arange(n_out)
            if mode == "nearest":
                src = np.floor(dst * scale)
            else:
                src = np.floor((dst + 0.5) * scale)
            src = np.minimum(src.astype(np.int64), n_in - 1)
            out = out.index_select(dim, _make(src))
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)
