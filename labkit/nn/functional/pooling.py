"""Pooling: max / average pooling (1-D, 2-D) and adaptive average pooling."""
import numpy as np

from ...autograd.function import Function
from ...tensor import _make
from ...kernels import nn as NK
from ._common import _check_float, _integer_via_float64, _tuple


# ================================================================ pooling
def _pool_out(n, k, s, p, d, ceil_mode):
    num = n + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:      # the last window must start inside the input
        out -= 1
    return out


def _pool_args(name, input, kernel_size, stride, padding, dilation, nd=2):
    k = _tuple(kernel_size, nd, "kernel_size")
    s = k if (stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)) \
        else _tuple(stride, nd, "stride")
    p = _tuple(padding, nd, "padding")
    d = _tuple(dilation, nd, "dilation")
    for i in range(nd):
        if p[i] > (d[i] * (k[i] - 1) + 1) // 2 or p[i] > k[i] // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}")
        if s[i] <= 0:
            raise RuntimeError(f"{name}: stride should be greater than zero, but got {s}")
    return k, s, p, d


class MaxPool2d(Function):
    raw = True
    derivative = "only the max element of each window receives the gradient"
    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, k, s, p, d, OH, OW):
        out, idx = NK.max_pool2d(np.ascontiguousarray(x), k[0], k[1], s[0], s[1], p[0], p[1],
                                 d[0], d[1], OH, OW)
        ctx.idx = idx
        ctx.shape = x.shape
        ctx.mark_non_differentiable(idx)
        return out, idx

    @staticmethod
    def backward(ctx, g, g_idx=None):
        N, C, H, W = ctx.shape
        xp = ctx.xp
        out = xp.zeros((N, C, H * W), dtype=g.dtype)
        where = (np.arange(N)[:, None, None], np.arange(C)[None, :, None], ctx.idx.reshape(N, C, -1))
        xp.add.at(out, where, g.reshape(N, C, -1))
        return (out.reshape(N, C, H, W),) + (None,) * 6

    @staticmethod
    def fused_backward(ctx, g, g_idx=None):
        return (NK.max_pool2d_backward(g, ctx.idx, ctx.shape),) + (None,) * 6


@_integer_via_float64("round")
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over ``(N, C, H, W)`` (or ``(C, H, W)``).

    Output ``H_out = floor((H + 2p - d (k - 1) - 1) / s + 1)`` (``ceil`` with ``ceil_mode``);
    ``stride`` defaults to ``kernel_size``.  With ``return_indices`` also returns the flat index
    (``h * W + w``) of each maximum, as PyTorch does.
    """
    _check_float(input, "max_pool2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"max_pool2d: Expected 3D or 4D (batch mode) tensor for input, but "
                           f"got: {list(input.shape)}")
    k, s, p, d = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    H, W = input.shape[2:]
    OH, OW = _pool_out(H, k[0], s[0], p[0], d[0], ceil_mode), \
        _pool_out(W, k[1], s[1], p[1], d[1], ceil_mode)
    if OH <= 0 or OW <= 0:
        raise RuntimeError(f"max_pool2d: Given input size: ({input.shape[1]}x{H}x{W}). "
                           f"Calculated output size: ({input.shape[1]}x{OH}x{OW}). Output size "
                           f"is too small")
    out, idx = MaxPool2d.apply(input, k, s, p, d, OH, OW)
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


@_integer_via_float64("round")
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over ``(N, C, L)``."""
    k = _tuple(kernel_size, 1)[0]
    s = k if stride is None else _tuple(stride, 1)[0]
    r = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _tuple(padding, 1)[0]),
                   (1, _tuple(dilation, 1)[0]), ceil_mode, return_indices)
    if return_indices:
        return r[0].squeeze(-2), r[1].squeeze(-2)
    return r.squeeze(-2)


def _avg_divisors(n, k, s, p, out, count_include_pad):
    """Window sizes along one axis, following PyTorch's rules for padding and ceil_mode."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    size_pad = end - start
    start_c, end_c = np.maximum(start, 0), np.minimum(end, n)
    return size_pad if count_include_pad else (end_c - start_c)


class AvgPool2d(Function):
    raw = True
    derivative = "each element of a window receives G / (window size)"
    node_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, k, s, p, OH, OW, count_include_pad, divisor_override):
        N, C, H, W = x.shape
        eh = max(0, (OH - 1) * s[0] + k[0] - H - 2 * p[0])
        ew = max(0, (OW - 1) * s[1] + k[1] - W - 2 * p[1])
        xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0] + eh), (p[1], p[1] + ew)))
        acc = np.zeros((N, C, OH, OW), x.dtype)
        for ki in range(k[0]):
            for kj in range(k[1]):
                acc += xp[:, :, ki: ki + s[0] * (OH - 1) + 1: s[0],
                          kj: kj + s[1] * (OW - 1) + 1: s[1]]
        if divisor_override:
            div = np.full((OH, OW), float(divisor_override))
        else:
            div = np.outer(_avg_divisors(H, k[0], s[0], p[0], OH, count_include_pad),
                           _avg_divisors(W, k[1], s[1], p[1], OW, count_include_pad))
        inv = (1.0 / div).astype(x.dtype)
        ctx.geom = (x.shape, k, s, p, OH, OW, xp.shape, inv)
        ctx.args = (k, s, p, OH, OW, count_include_pad, divisor_override)
        return acc * inv

    @staticmethod
    def backward(ctx, g):
        return (_AvgPool2dAdjoint.call(ctx, g, ctx.geom, ctx.args),) + (None,) * 7


class _AvgPool2dAdjoint(Function):
    """AvgPool2d's backward as a primitive of its own (it is linear: its backward is average
    pooling again), so that the gradient of average pooling can be differentiated."""
    raw = True
    derivative = "average pooling of the gradient (the adjoint of the adjoint)"
    node_name = "AvgPool2DBackwardBackward0"

    @staticmethod
    def forward(ctx, g, geom, args):
        shape, k, s, p, OH, OW, pshape, inv = geom
        ctx.args = args
        gp = np.zeros(pshape, g.dtype)
        gi = g * inv
        for ki in range(k[0]):
            for kj in range(k[1]):
                gp[:, :, ki: ki + s[0] * (OH - 1) + 1: s[0],
                   kj: kj + s[1] * (OW - 1) + 1: s[1]] += gi
        H, W = shape[2:]
        return np.ascontiguousarray(gp[:, :, p[0]:p[0] + H, p[1]:p[1] + W])

    @staticmethod
    def backward(ctx, gg):
        return AvgPool2d.call(ctx, gg, *ctx.args), None, None


@_integer_via_float64("trunc")
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling (``stride`` defaults to ``kernel_size``)."""
    _check_float(input, "avg_pool2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"avg_pool2d: Expected 3D or 4D (batch mode) tensor for input, but "
                           f"got: {list(input.shape)}")
    k, s, p, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding, 1)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    H, W = input.shape[2:]
    OH, OW = _pool_out(H, k[0], s[0], p[0], 1, ceil_mode), _pool_out(W, k[1], s[1], p[1], 1,
                                                                     ceil_mode)
    if OH <= 0 or OW <= 0:
        raise RuntimeError(f"avg_pool2d: Given input size: ({input.shape[1]}x{H}x{W}). "
                           f"Calculated output size: ({input.shape[1]}x{OH}x{OW}). Output size "
                           f"is too small")
    out = AvgPool2d.apply(input, k, s, p, OH, OW, bool(count_include_pad), divisor_override)
    return out.squeeze(0) if unbatched else out


@_integer_via_float64("trunc")
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over ``(N, C, L)``."""
    k = _tuple(kernel_size, 1)[0]
    s = k if stride is None else _tuple(stride, 1)[0]
    return avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _tuple(padding, 1)[0]), ceil_mode,
                      count_include_pad).squeeze(-2)


def _adaptive_matrix(n_in, n_out, dtype):
    """(n_out, n_in) averaging matrix: row i averages input bin [floor(i n/o), ceil((i+1) n/o))."""
    m = np.zeros((n_out, n_in), dtype)
    for i in range(n_out):
        a = (i * n_in) // n_out
        b = -(-((i + 1) * n_in) // n_out)
        m[i, a:b] = 1.0 / (b - a)
    return m


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (``None`` in ``output_size`` keeps that dim).

    Each bin is a rectangle, so the pooling is separable: ``A_h @ x @ A_w^T``.
    """
    _check_float(input, "adaptive_avg_pool2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    H, W = input.shape[-2:]
    oh, ow = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    oh, ow = H if oh is None else int(oh), W if ow is None else int(ow)
    dt = input._np.dtype
    out = input
    if oh != H:
        out = _make(_adaptive_matrix(H, oh, dt)) @ out
    if ow != W:
        out = out @ _make(np.ascontiguousarray(_adaptive_matrix(W, ow, dt).T))
    return out if out is not input else input * 1


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of ``(N, C, L)`` to length ``output_size``."""
    L = input.shape[-1]
    o = _tuple(output_size, 1)[0]
    return input @ _make(np.ascontiguousarray(_adaptive_matrix(L, o, input._np.dtype).T))
